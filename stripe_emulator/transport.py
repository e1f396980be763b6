"""An SDK ``HTTPClient`` that routes requests to the emulator in-process (no sockets).

Faults of kind ``timeout``/``disconnect`` surface as the ``APIConnectionError`` the SDK raises
for real network failures (retryable), either before the emulator sees the request or after
it processed it and the response got lost.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stripe import APIConnectionError
from stripe._http_client import HTTPClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

from .api import FAULT_ENVIRON_KEY, IN_PROCESS_ENVIRON_KEY
from .faults import Fault

if TYPE_CHECKING:
    from .emulator import Emulator


class ResponseHeaders(Mapping[str, str]):
    """Case-insensitive headers: the SDK reads both ``Request-Id`` and ``request-id``."""

    def __init__(self, pairs: Any) -> None:
        self._data: dict[str, tuple[str, str]] = {}
        for key, value in pairs:
            self._data[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> str:
        return self._data[key.lower()][1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._data

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._data.values())

    def __len__(self) -> int:
        return len(self._data)


def _network_error(fault: Fault, url: str) -> APIConnectionError:
    if fault.kind == "timeout":
        err = f"ReadTimeout: HTTPSConnectionPool: Read timed out. (read timeout=80) for {url}"
    else:
        err = (
            "ConnectionError: ('Connection aborted.', RemoteDisconnected('Remote end closed "
            "connection without response'))"
        )
    msg = textwrap.fill(
        "Unexpected error communicating with Stripe.  If this problem persists, let us know "
        "at support@stripe.com."
    )
    return APIConnectionError(f"{msg}\n\n(Network error: {err})", should_retry=True)


class EmulatorHTTPClient(HTTPClient):
    name = "stripe_emulator"

    def __init__(self, emulator: Emulator, retry_sleep: float | None = None) -> None:
        super().__init__()
        self._emulator = emulator
        # Tests can make the SDK's retry back-off instant; None keeps the SDK's own delays.
        self._retry_sleep = retry_sleep

    def _sleep_time_seconds(self, num_retries: int) -> float:
        if self._retry_sleep is not None:
            return self._retry_sleep
        return super()._sleep_time_seconds(num_retries)

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        body, status, rheaders = self._send(method, url, headers, post_data)
        return body.decode("utf-8"), status, rheaders

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        body, status, rheaders = self._send(method, url, headers, post_data)
        return io.BytesIO(body), status, rheaders

    def _send(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any
    ) -> tuple[bytes, int, Mapping[str, str]]:
        parts = urlsplit(url)
        # The SDK passes api_base + path; only the path matters in-process (an api_base with a
        # path prefix, e.g. where the emulator is mounted, is stripped too).
        path = parts.path
        if not path.startswith("/v1/") and "/v1/" in path:
            path = path[path.index("/v1/") :]
        fault = self._emulator.faults.take(path)
        network_fault = fault is not None and fault.kind in ("timeout", "disconnect")
        if fault is not None and network_fault and fault.when == "before":
            raise _network_error(fault, url)
        if isinstance(post_data, str):
            post_data = post_data.encode("utf-8")
        builder = EnvironBuilder(
            path=path,
            method=method.upper(),
            query_string=parts.query,
            headers=list((headers or {}).items()),
            data=post_data or None,
            base_url=f"{parts.scheme or 'https'}://{parts.netloc or 'api.stripe.com'}",
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        environ[FAULT_ENVIRON_KEY] = None if network_fault else fault
        environ[IN_PROCESS_ENVIRON_KEY] = True
        app_iter, status, rheaders = run_wsgi_app(self._emulator.wsgi_app, environ, buffered=True)
        body = b"".join(app_iter)
        if fault is not None and network_fault:
            # Processed (and any idempotent result saved), but the response never arrives.
            raise _network_error(fault, url)
        return body, int(status.split()[0]), ResponseHeaders(rheaders.items())

    def close(self) -> None:
        pass

    async def request_async(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the in-process emulator client is synchronous")

    async def request_stream_async(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the in-process emulator client is synchronous")

    async def close_async(self) -> None:
        pass
