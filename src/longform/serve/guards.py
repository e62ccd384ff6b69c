"""What every request passes before it reaches an endpoint: the key, the Host, the body's type
and size, and the headers every response carries.

Without a key the server trusts whoever can reach it, so it must make sure that is a program on
an allowed host and not a web page in someone's browser: a page can POST `text/plain` across
origins without asking (no CORS preflight) and, by DNS rebinding, reach 127.0.0.1 under a name of
its own. So, key-less, only `Host` values naming the bound address (or `--allowed-hosts`) are
served, and POST bodies must be `application/json`, which a page cannot send cross-origin
without a preflight this server never grants.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders

from .openai import ApiError

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
LOCAL_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def allowed_hosts(bound: str, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """Host names (without port) a key-less server answers to."""
    names = {bound, *extra}
    if bound in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::"):
        names.update(LOCAL_NAMES)
    return frozenset(n.lower() for n in names)


def host_name(header: str) -> str:
    header = header.strip().lower()
    if header.startswith("["):  # [::1]:8080
        return header.split("]")[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def check_host(request: Request, allowed: frozenset[str] | None) -> None:
    if allowed is None or "*" in allowed:
        return
    if host_name(request.headers.get("host", "")) not in allowed:
        raise ApiError(421, "this server does not answer to that Host (see --allowed-hosts)", "host_not_allowed")


def check_json_type(request: Request) -> None:
    if request.method == "POST":
        # a missing type too: a page's fetch() of a bare Blob sends none, and needs no preflight
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise ApiError(415, "POST bodies must be application/json", "unsupported_media_type")


def owner_of(request: Request, keys: dict[str, str] | None) -> str:
    """The name of the key that sent `request` ("" when the server has no keys), or a 401."""
    if keys is None:
        return ""
    given = request.headers.get("authorization", "")
    token = given[7:].strip() if given.lower().startswith("bearer ") else ""
    digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
    for name, key_digest in keys.items():
        if token and hmac.compare_digest(digest, key_digest):
            return name
    raise ApiError(401, "missing or wrong API key (send Authorization: Bearer KEY)", "invalid_api_key")


def key_digests(keys: dict[str, str]) -> dict[str, str]:
    """name → sha256 of the key: the server keeps no key in the clear."""
    return {name: hashlib.sha256(key.encode()).hexdigest() for name, key in keys.items()}


def check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise ApiError(413, f"request body over {limit} bytes", "body_too_large")


async def read_json_body(request: Request, limit: int) -> dict:
    """The body as a JSON object, read in pieces and refused as soon as it passes `limit` (a
    chunked body announces no length, so the count is kept while reading)."""
    raw = bytearray()
    async for piece in request.stream():
        raw += piece
        if len(raw) > limit:
            raise ApiError(413, f"request body over {limit} bytes", "body_too_large")
    try:
        body = json.loads(bytes(raw) or b"null")
    except RecursionError:
        raise ApiError(400, "the body is nested too deeply", "invalid_json") from None
    except ValueError as exc:
        raise ApiError(400, f"the body is not valid JSON ({exc})", "invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", "invalid_json")
    return body


class Guard:
    """ASGI middleware: `check(request)` before the app (an ApiError is the answer), and the
    security headers on every response. Plain ASGI rather than Starlette's BaseHTTPMiddleware,
    which hides a client's disconnect from the endpoint, and the endpoint must see it to cancel
    the job of a client that went away."""

    def __init__(self, app, check: Callable[[Request], None]):
        self.app, self.check = app, check

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_secured(message):
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        try:
            self.check(Request(scope))
        except ApiError as exc:
            response = JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
            return await response(scope, receive, send_secured)
        await self.app(scope, receive, send_secured)
