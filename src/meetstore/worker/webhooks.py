"""The webhook delivery worker: a claim loop and a few delivery threads, apart from the uploads.

One dispatcher thread claims due events (only as many as there are idle delivery threads) and
queues them; each delivery thread signs, sends and records one event at a time. HTTP runs on one
event loop thread with a shared httpx client, so every attempt has a hard total deadline
(connect 5 s, total 10 s) and `stop()` can cut an attempt short.

Run it in-process or standalone (`background.webhook_loops`, for
`meetstore worker`): several workers, in one process or many, share the table safely.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import httpx

from meetstore import __version__
from meetstore.config import Settings
from meetstore.errors import Unavailable
from meetstore.services.webhooks import (
    CONNECT_TIMEOUT_S,
    TOTAL_TIMEOUT_S,
    Delivery,
    Outcome,
    SignedRequest,
    WebhookService,
)
from meetstore.worker.loops import SupervisedLoop

log = logging.getLogger("meetstore.worker.webhooks")

_RESPONSE_BYTES_READ = 64 * 1024
"""Read at most this much of a receiver's answer (so a healthy connection can be reused)."""


def _describe(exc: BaseException, connect_s: float, total_s: float) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out connecting ({connect_s:g} s)"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"timed out: no complete answer within {total_s:g} s"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class HttpSender:
    """POSTs signed requests from one event loop thread; callable from any thread.

    No redirect is followed (a 3xx is a failed attempt), no proxy is taken from the environment,
    and an attempt ends after `total_timeout_s` whatever the receiver does (slow drip included).
    """

    def __init__(
        self, *, connect_timeout_s: float = CONNECT_TIMEOUT_S, total_timeout_s: float = TOTAL_TIMEOUT_S
    ) -> None:
        self._connect_s = connect_timeout_s
        self._total_s = total_timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="webhook-http", daemon=True)
        self._client: httpx.AsyncClient | None = None
        self._pending: set[concurrent.futures.Future[Outcome]] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        self._loop.close()

    async def _open(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._total_s, connect=self._connect_s),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the connection goes where it was checked
            headers={"User-Agent": f"meetstore-webhooks/{__version__}"},
        )

    async def _post(self, request: SignedRequest) -> Outcome:
        assert self._client is not None
        headers = dict(request.headers)
        if request.target.host_header:
            headers["Host"] = request.target.host_header  # pinned to an address: keep the name
        extensions: dict[str, Any] = {}
        if request.target.sni_hostname:
            extensions["sni_hostname"] = request.target.sni_hostname
        try:
            async with asyncio.timeout(self._total_s):
                async with self._client.stream(
                    "POST",
                    request.target.url,
                    content=request.body,
                    headers=headers,
                    extensions=extensions,
                ) as response:
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= _RESPONSE_BYTES_READ:
                            break
                    status = response.status_code
        except (TimeoutError, httpx.HTTPError, OSError) as exc:
            return Outcome(None, _describe(exc, self._connect_s, self._total_s))
        if 300 <= status < 400:
            return Outcome(status, f"HTTP {status} (redirects are not followed)")
        return Outcome(status, None if 200 <= status < 300 else f"HTTP {status}")

    def __call__(self, request: SignedRequest) -> Outcome:
        with self._lock:
            if self._closed:
                raise concurrent.futures.CancelledError()
            future = asyncio.run_coroutine_threadsafe(self._post(request), self._loop)
            self._pending.add(future)
        try:
            return future.result(timeout=self._total_s + 5)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return Outcome(None, _describe(TimeoutError(), self._connect_s, self._total_s))
        finally:
            with self._lock:
                self._pending.discard(future)

    def cancel_all(self) -> None:
        """Cut short every attempt in flight (their callers get CancelledError)."""
        with self._lock:
            self._closed = True
            pending = list(self._pending)
        for future in pending:
            future.cancel()

    def close(self) -> None:
        self.cancel_all()
        if self._thread.is_alive():
            if self._client is not None:
                try:
                    asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result(timeout=5)
                except Exception:  # closing is best effort
                    log.debug("closing the webhook HTTP client failed", exc_info=True)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


_STOP = None


class WebhookWorker:
    """Delivers webhook events: `start()`/`stop()` for a background worker, `run_once()` for a pass."""

    def __init__(
        self,
        service: WebhookService,
        settings: Settings,
        concurrency: int,
        *,
        sender: Callable[[SignedRequest], Outcome] | None = None,
    ) -> None:
        self._service = service
        self._settings = settings
        self._concurrency = max(1, concurrency)
        self._owner = service.new_owner()
        self._given_sender = sender
        self._sender: Callable[[SignedRequest], Outcome] | None = sender
        self._http: HttpSender | None = None
        self._stop = threading.Event()
        self._slots = threading.Condition()
        self._idle = self._concurrency
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._dispatcher: SupervisedLoop | None = None
        self._poll = max(0.01, settings.poll_interval_s)

    @property
    def owner(self) -> str:
        return self._owner

    def alive(self) -> bool:
        """True while started and every thread runs."""
        dispatching = self._dispatcher is not None and self._dispatcher.alive()
        return dispatching and all(t.is_alive() for t in self._threads)

    # ---- lifecycle -----------------------------------------------------------------------------

    def _ensure_sender(self) -> Callable[[SignedRequest], Outcome]:
        if self._sender is None:
            self._http = HttpSender()
            self._sender = self._http
        return self._sender

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        self._ensure_sender()
        self._dispatcher = SupervisedLoop(
            "webhook-dispatch", self._dispatch_once, interval_s=self._poll, stop=self._stop
        )
        self._dispatcher.start()
        # Delivery threads consume the dispatcher's queue; they wait on it, not on a timer.
        self._threads = [
            threading.Thread(target=self._deliver_loop, name=f"webhook-deliver-{i}", daemon=True)
            for i in range(self._concurrency)
        ]
        for t in self._threads:
            t.start()
        log.info("webhook worker %s started with %d delivery threads", self._owner, self._concurrency)

    def stop(self) -> None:
        """Stop claiming, cut attempts in flight short, give their leases back, and join."""
        self._stop.set()
        with self._slots:
            self._slots.notify_all()
        if self._http is not None:
            self._http.cancel_all()
        for _ in range(self._concurrency):
            self._queue.put(_STOP)
        if self._dispatcher is not None:
            self._dispatcher.join(timeout=TOTAL_TIMEOUT_S + 5)
        for t in self._threads:
            t.join(timeout=TOTAL_TIMEOUT_S + 5)
        self._threads = []
        self._dispatcher = None
        leftover: list[Delivery] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                leftover.append(item)
        self._release(leftover)
        if self._http is not None:
            self._http.close()
            self._http = None
            self._sender = self._given_sender

    # ---- one pass ------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim what is due now (up to `concurrency` events) and make one attempt at each.

        Returns how many events were attempted. For tests and one-shot runs; not for use while
        the background threads run.
        """
        temporary = self._sender is None
        send = self._ensure_sender()
        try:
            batch = self._service.claim(self._owner, self._concurrency)
            for delivery in batch:
                self._service.deliver(delivery, send)
            return len(batch)
        finally:
            if temporary and self._http is not None:
                self._http.close()
                self._http = None
                self._sender = self._given_sender

    # ---- threads -------------------------------------------------------------------------------

    def _dispatch_once(self) -> bool:
        """Wait for a free delivery thread, then claim as many due events as there are free ones."""
        with self._slots:
            while self._idle == 0 and not self._stop.is_set():
                self._slots.wait(timeout=self._poll)
            free = self._idle
        if self._stop.is_set():
            return False
        batch = self._service.claim(self._owner, free)
        if batch:
            with self._slots:
                self._idle -= len(batch)
            for delivery in batch:
                self._queue.put(delivery)
        return bool(batch)

    def _deliver_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                if self._stop.is_set():
                    self._release([item])
                    continue
                assert self._sender is not None
                self._service.deliver(item, self._sender)
            except concurrent.futures.CancelledError:
                self._release([item])
            except Unavailable:
                log.warning("database unavailable delivering webhook event %s; it will be retried", item.id)
                self._release([item])
            except Exception:
                log.exception("delivering webhook event %s failed", item.id)
                self._release([item])
            finally:
                with self._slots:
                    self._idle += 1
                    self._slots.notify_all()

    def _release(self, deliveries: list[Delivery]) -> None:
        try:
            self._service.release(deliveries)
        except Exception:
            log.warning("could not release %d webhook leases; they expire on their own", len(deliveries))
