"""Who may write or run, what a request body may be, and the headers every response carries.

Reading is open to anyone who can reach the server (loopback by default). Writing and running
need the token: as `Authorization: Bearer TOKEN`, or the cookie the dashboard's login sets. A
cookie-authenticated write must also come from the dashboard's own origin, so another web page
open in the same browser cannot post to the server on the user's behalf.

Every request body passes the guarded reader's limits before any handler sees it: its size, and
for JSON its nesting depth and repeated keys (the same rules as files on the command line). Pages
may run only the scripts this server serves as files: the policy allows neither inline scripts
nor eval.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from raremap.reading_guard import REQUEST_LIMITS, InputError, decode_text, parse_json

COOKIE_NAME = "raremap_token"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Application = Callable[[Scope, Receive, Send], Awaitable[None]]
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; worker-src 'self' blob:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""Scripts only from this server's own files. Styles may be inline: plotly.js sets them on the
elements it draws, and a style cannot run code."""
BEARER = HTTPBearer(
    auto_error=False,
    description="The server's token: printed when `raremap serve` starts, or the RAREMAP_TOKEN it was given.",
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


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None
) -> None:
    """A FastAPI dependency for every route that writes or runs (declared as bearer security in OpenAPI)."""
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


class BodyGuardMiddleware:
    """Read every request body whole, within the size limit, and check JSON with the guarded reader.

    A body larger than the limit is refused with 413 whether or not it declares its length; a JSON
    body that nests too deeply or repeats a key is refused with 400 before FastAPI parses it (its
    parser would fail with a RecursionError, or let the last repeated key win). The body is then
    handed on unchanged.
    """

    def __init__(self, app: Application, max_body_bytes: int = REQUEST_LIMITS.max_bytes):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _refuse(send, 413, self.too_large)
            return
        body, trailing = await self._whole_body(receive)
        if body is None:
            await _refuse(send, 413, self.too_large)
            return
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if body and content_type == b"application/json":
            try:
                parse_json(decode_text(body, "the request body"), "the request body", REQUEST_LIMITS)
            except InputError as error:
                await _refuse(send, 400, str(error))
                return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return trailing or await receive()

        await self.app(scope, replay, send)

    async def _whole_body(self, receive: Receive) -> tuple[bytes | None, Message | None]:
        """The body (None if larger than the limit) and a disconnect message received meanwhile."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None, None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    @property
    def too_large(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes; send less"


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "problems": []}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
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
