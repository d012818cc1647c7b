"""A signed-in browser as an API caller: the session cookie instead of a bearer key, checked for CSRF.

Roles map to the API's scopes (admin: everything; member: read and run actions; viewer: read) and a
non-admin's reach is limited to the projects they are a member of, so every guarded route (and every plugin
route using `require_scope`) enforces roles and membership the same way for keys and people.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from hub.auth import ApiKey
from hub.sessions import COOKIE, CSRF_HEADER, SECURE_COOKIE, SessionUser

if TYPE_CHECKING:
    from hub.core import Hub

ROLE_SCOPES: dict[str, tuple[str, ...]] = {"admin": ("admin",), "member": ("read", "act"), "viewer": ("read",)}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_https(hub: Hub, connection: ASGIConnection) -> bool:
    return connection.url.scheme == "https" or hub.settings.public_url.startswith("https://")


def cookie_name(hub: Hub, connection: ASGIConnection) -> str:
    """The session cookie's name: `__Host-` prefixed over HTTPS, where it is Secure."""
    return SECURE_COOKIE if is_https(hub, connection) else COOKIE


def caller_for(user: SessionUser) -> ApiKey:
    return ApiKey(
        id=f"user:{user.user_id}",
        name=user.email,
        prefix="session",
        scopes=ROLE_SCOPES.get(user.role, ("read",)),
        project=None,
        project_id=None,
        rate_limit=None,
        project_ids=None if user.role == "admin" else user.project_ids,
        user_id=user.user_id,
    )


async def session_user(hub: Hub, connection: ASGIConnection, *, check_csrf: bool = True) -> SessionUser | None:
    """The session's user, or None without a session cookie; 401 for an ended session, 403 without CSRF token."""
    token = connection.cookies.get(cookie_name(hub, connection))
    if not token:
        return None
    user = await hub.sessions.load(token)
    if user is None:
        raise NotAuthorizedException("your session has ended: sign in again")
    if (
        check_csrf
        and connection.scope["method"] not in SAFE_METHODS
        and not user.csrf_ok(connection.headers.get(CSRF_HEADER))
    ):
        raise PermissionDeniedException(
            "missing or wrong CSRF token: send the `X-CSRF-Token` header given by GET /api/v1/session"
        )
    connection.state.session_user = user
    return user
