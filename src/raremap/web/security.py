"""Who may write or run, how big a request may be, and the headers every response carries.

Reading is open to anyone who can reach the server (loopback by default). Writing and running
need the token: as `Authorization: Bearer TOKEN`, or the cookie the dashboard's login sets. A
cookie-authenticated write must also come from the dashboard's own origin, so another web page
open in the same browser cannot post to the server on the user's behalf.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlparse

from fastapi import HTTPException, Request

COOKIE_NAME = "raremap_token"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Application = Callable[[Scope, Receive, Send], Awaitable[None]]
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def same_origin(request: Request) -> bool:
    """True when the browser says the request comes from this server's own pages (or says nothing)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    return urlparse(origin).netloc == request.headers.get("host", "")


def require_token(request: Request) -> None:
    """A FastAPI dependency for every route that writes or runs."""
    expected: str = request.app.state.settings.token
    if same_token(bearer(request), expected):
        return
    if same_token(request.cookies.get(COOKIE_NAME), expected):
        if not same_origin(request):
            raise HTTPException(
                status_code=403, detail="cross-site request refused; use the dashboard's own pages"
            )
        return
    raise HTTPException(
        status_code=401,
        detail="this needs the server's token: send `Authorization: Bearer TOKEN` (printed when the server "
        "started, or the RAREMAP_TOKEN it was given), or log in to the dashboard at /login",
        headers={"WWW-Authenticate": "Bearer"},
    )


class BodyLimitMiddleware:
    """Refuse request bodies larger than the limit with 413, whether or not they declare a length."""

    def __init__(self, app: Application, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._refuse(send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise HTTPException(status_code=413, detail=self.message)
            return message

        await self.app(scope, limited_receive, send)

    @property
    def message(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes; send less"

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": self.message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    """Headers on every response: no sniffing, no framing, no referrer, and a same-origin-only policy."""

    def __init__(self, app: Application):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-security-policy", PAGE_POLICY.encode()),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
