"""A cancellation token that can also call back: an upload in flight stops the moment its worker
cancels it (a lost lease, a shutdown), with nobody polling for it."""

from __future__ import annotations

import threading
from collections.abc import Callable


class CancelToken(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self._callbacks: list[Callable[[], object]] = []
        self._callbacks_lock = threading.Lock()

    def on_cancel(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call `callback` when the token is set (at once if it is already); returns the function
        that unregisters it."""
        with self._callbacks_lock:
            if not self.is_set():
                self._callbacks.append(callback)

                def unregister() -> None:
                    with self._callbacks_lock:
                        if callback in self._callbacks:
                            self._callbacks.remove(callback)

                return unregister
        callback()
        return lambda: None

    def set(self) -> None:
        with self._callbacks_lock:
            super().set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


class InFlight:
    """Work in flight by a key (an account), each with its token and the version of what it uses:
    what a change of that key may cancel."""

    def __init__(self) -> None:
        self._tokens: dict[str, dict[CancelToken, int]] = {}
        self._lock = threading.Lock()

    def add(self, key: str, token: CancelToken, version: int) -> None:
        with self._lock:
            self._tokens.setdefault(key, {})[token] = version

    def remove(self, key: str, token: CancelToken) -> None:
        with self._lock:
            tokens = self._tokens.get(key)
            if tokens is not None:
                tokens.pop(token, None)
                if not tokens:
                    del self._tokens[key]

    def of(self, key: str) -> list[tuple[CancelToken, int]]:
        with self._lock:
            return list(self._tokens.get(key, {}).items())
