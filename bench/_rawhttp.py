"""A minimal HTTP/1.1 client on asyncio streams for the load benchmarks.

httpx's connection pool costs the client more CPU the more requests are in flight; under an open
loop that backs up, the client then slows itself down and measures itself. This one opens a
connection per request (gunicorn's sync workers close it after every response anyway), writes the
request, reads to EOF and parses status, headers and body: a small, flat cost per request.
Loopback only: the URL must name 127.0.0.1."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit


class ClientError(Exception):
    """The connection failed, timed out, or the answer was not HTTP."""


ERRORS = (ClientError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError)


class Headers:
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items

    def get_list(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.items if k.lower() == name]

    def get(self, name: str, default: str = "") -> str:
        found = self.get_list(name)
        return found[0] if found else default

    def __getitem__(self, name: str) -> str:
        found = self.get_list(name)
        if not found:
            raise KeyError(name)
        return found[0]


@dataclass
class Response:
    status_code: int
    headers: Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def _dechunk(body: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2:end + 2 + size]
        pos = end + 2 + size + 2


class RawClient:
    def __init__(self, timeout: float = 30.0, **_: Any) -> None:
        self.timeout = timeout

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None

    async def get(self, url: str, headers: dict[str, str] | None = None) -> Response:
        return await self.request("GET", url, headers)

    async def post(self, url: str, headers: dict[str, str] | None = None,
                   data: dict[str, str] | None = None) -> Response:
        return await self.request("POST", url, headers, urlencode(data or {}).encode())

    async def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                      body: bytes | None = None) -> Response:
        parts = urlsplit(url)
        if parts.hostname != "127.0.0.1":
            raise ClientError("loopback only")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
                 "User-Agent: skydd-bench"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded",
                      f"Content-Length: {len(body)}"]
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")

        async def exchange() -> bytes:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            try:
                writer.write(payload)
                return await reader.read(-1)
            finally:
                writer.close()

        raw = await asyncio.wait_for(exchange(), self.timeout)
        head, sep, content = raw.partition(b"\r\n\r\n")
        if not sep:
            raise ClientError("no complete answer")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(status_line.split(" ", 2)[1])
        except (IndexError, ValueError) as error:
            raise ClientError("not HTTP") from error
        hs = Headers([tuple(h.split(":", 1)) if ":" in h else (h, "")  # type: ignore[misc]
                      for h in header_lines])
        hs.items = [(k.strip(), v.strip()) for k, v in hs.items]
        if hs.get("transfer-encoding").lower() == "chunked":
            content = _dechunk(content)
        return Response(status, hs, content)
