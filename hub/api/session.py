"""`/api/v1/session`: sign in with email and password, read the session (and its CSRF token), sign out, and
change the password.

Signing in always issues a brand-new session token and ends the one the browser presented, so a token
planted before sign-in (session fixation) never becomes authenticated.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.params import JSONBody

from hub.accounts import find_login, set_password, store_hash
from hub.api.common import hub_of
from hub.api.session_auth import cookie_name, is_https, session_user
from hub.core import Hub
from hub.models import ValidationProblem
from hub.passwords import MAX_LENGTH, hash_password_async, needs_rehash, verify_password_async
from hub.ratelimit import retry_after_header
from hub.sessions import COOKIE, SECURE_COOKIE, SessionUser, token_id

Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_LENGTH)]


class SignIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    password: Password


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class UserInfo(msgspec.Struct):
    id: str
    email: str
    name: str
    role: str


class SessionOut(msgspec.Struct):
    user: UserInfo
    # Send it back in `X-CSRF-Token` on every request that changes something.
    csrf_token: str


def session_out(user: SessionUser) -> SessionOut:
    return SessionOut(UserInfo(user.user_id, user.email, user.name, user.role), user.csrf_token)


def session_cookie(hub: Hub, request: Request, token: str) -> Cookie:
    return Cookie(
        key=cookie_name(hub, request),
        value=token,
        max_age=hub.settings.auth.session_days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(hub, request),
    )


def expired_cookie(hub: Hub, request: Request, name: str | None = None) -> Cookie:
    return Cookie(
        key=name or cookie_name(hub, request),
        value="",
        max_age=0,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(hub, request),
    )


def check_same_origin(hub: Hub, request: Request) -> None:
    """Refuse sign-ins posted from other sites (login CSRF): browsers always send Origin on such POSTs."""
    origin = request.headers.get("origin")
    own = {f"{request.url.scheme}://{request.url.netloc}", hub.settings.public_url}
    if origin is not None and origin not in own:
        raise PermissionDeniedException("sign-in is only accepted from the hub's own pages")
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise PermissionDeniedException("sign-in is only accepted from the hub's own pages")


async def signed_in(request: Request) -> SessionUser:
    user = await session_user(hub_of(request), request)
    if user is None:
        raise NotAuthorizedException("not signed in")
    return user


def _guard(hub: Hub, email: str, address: str, refusal: str) -> None:
    """Count a password attempt before checking it, or refuse it with 429 when the limit is reached."""
    if wait := hub.login_guard.begin(email, address):
        raise HTTPException(status_code=429, detail=refusal, headers={"Retry-After": retry_after_header(wait)})


class SessionController(Controller):
    path = "/api/v1/session"
    tags = ["session"]

    @get("/", summary="The signed-in user and the session's CSRF token (and the cookie again, for as long again)")
    async def read(self, request: Request) -> Response[SessionOut]:
        user = await signed_in(request)
        # The session slides on the hub with each use; the browser's cookie must too, or it would lapse
        # `session_days` after sign-in however often the app is used. The app reads this whenever it opens.
        token = request.cookies.get(cookie_name(hub_of(request), request))
        cookies = [session_cookie(hub_of(request), request, token)] if token else []
        return Response(session_out(user), cookies=cookies)

    @post("/", status_code=200, summary="Sign in with email and password (sets the session cookie)")
    async def sign_in(self, request: Request, data: JSONBody[SignIn]) -> Response[SessionOut]:
        hub = hub_of(request)
        check_same_origin(hub, request)
        address = request.client.host if request.client else "unknown"
        _guard(hub, data.email, address, "too many failed sign-ins: wait a few minutes")
        login = await find_login(hub.db, data.email) if "@" in data.email else None
        if not await verify_password_async(data.password, login.password_hash if login else None) or login is None:
            raise NotAuthorizedException("wrong email or password")
        hub.login_guard.succeeded(data.email, address)
        if login.password_hash and needs_rehash(login.password_hash):
            await store_hash(hub.db, login.user_id, await hash_password_async(data.password))
        # Whatever the cookies were (someone else's, planted, or over HTTPS the unprefixed one of before), they
        # end here, and the browser forgets the other name.
        for name in (COOKIE, SECURE_COOKIE):
            if old := request.cookies.get(name):
                await hub.sessions.end(token_id(old))
        token = await hub.sessions.create(login.user_id, request.headers.get("user-agent"))
        user = await hub.sessions.load(token)
        assert user is not None
        cookies = [session_cookie(hub, request, token)]
        if cookie_name(hub, request) == SECURE_COOKIE and COOKIE in request.cookies:
            cookies.append(expired_cookie(hub, request, COOKIE))
        return Response(session_out(user), cookies=cookies)

    @delete("/", summary="Sign out (ends this session, and removes the push devices registered in it)")
    async def sign_out(self, request: Request) -> Response[None]:
        hub = hub_of(request)
        user = await signed_in(request)
        await hub.sessions.end(user.session_id)
        return Response(None, status_code=204, cookies=[expired_cookie(hub, request)])

    @post(
        "/password",
        status_code=200,
        summary="Change your password (signs out your other sessions and removes every push device but this browser's)",
    )
    async def change_password(self, request: Request, data: JSONBody[PasswordChange]) -> Response[SessionOut]:
        hub = hub_of(request)
        user = await signed_in(request)
        # Guesses at the current password (a stolen session's) are limited as sign-ins are.
        address = request.client.host if request.client else "unknown"
        _guard(hub, user.email, address, "too many wrong passwords: wait a few minutes")
        login = await find_login(hub.db, user.user_id)
        if login is None or not await verify_password_async(data.current_password, login.password_hash):
            raise PermissionDeniedException("the current password is wrong")
        hub.login_guard.succeeded(user.email, address)
        try:
            await set_password(hub.db, user.user_id, data.new_password)
        except ValueError as exc:
            raise ValidationProblem(str(exc), "new_password") from None
        # A new token for this browser, which keeps its push devices; the other sessions end, and their devices.
        token = await hub.sessions.create(user.user_id, request.headers.get("user-agent"), devices_from=user.session_id)
        await hub.sessions.end_all(user.user_id, keep=token_id(token))
        fresh = await hub.sessions.load(token)
        assert fresh is not None
        return Response(session_out(fresh), cookies=[session_cookie(hub, request, token)])
