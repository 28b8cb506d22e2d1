// meetstore console: copy buttons, and a bot page that follows its bot while it records and uploads.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const text = "value" in source ? source.value : source.textContent;
  navigator.clipboard.writeText(text).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// The page carries the state it was rendered with; when the server's differs, show the new one.
function follow() {
  const body = document.body;
  const url = body.dataset.liveUrl;
  if (!url) return;
  const rendered = body.dataset.live;
  const poll = () => {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((resp) => (resp.ok ? resp.json() : null))
      .then((state) => {
        if (state && JSON.stringify(state) !== rendered) {
          window.location.reload();
        } else {
          setTimeout(poll, 1500);
        }
      })
      .catch(() => setTimeout(poll, 3000));
  };
  setTimeout(poll, 1500);
}
document.addEventListener("DOMContentLoaded", follow);
