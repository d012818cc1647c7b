"""`/api/v1/push/subscriptions`: the signed-in person's own devices for web push (register, list, forget).

Admins manage anyone's devices under `/api/v1/users/{user}/push-subscriptions`; these routes are the
self-service side the web app uses, so a member or viewer can turn notifications on for themselves.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable

import httpx
import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, JSONBody

from hub.api.common import hub_of, require
from hub.models import url_problem
from hub.outbound import BlockedAddress, ResponseTooLarge
from hub.outbox.notifier import Message, Outcome, Recipient
from hub.people.models import SubscriptionIn, SubscriptionOut
from hub.sessions import SessionUser


class TestPushOut(msgspec.Struct):
    """What the push service said to a test notification: `delivered`, or why not."""

    result: str
    status: int | None = None
    detail: str = ""


def signed_in_session(request: Request) -> SessionUser:
    """The web app session calling (set by the guard, hub.api.session_auth); 403 for an API key."""
    session: SessionUser | None = request.state.get("session_user")
    if session is None:
        raise PermissionDeniedException(
            "these routes are for signed-in people; with an API key use /api/v1/users/{user}/push-subscriptions"
        )
    return session


def signed_in_user(request: Request) -> str:
    return signed_in_session(request).user_id


class DevicesController(Controller):
    path = "/api/v1/push/subscriptions"
    tags = ["push"]
    guards = [require("read")]

    @post("/", summary="Register this browser for web push, for the signed-in person, until this session ends")
    async def register(self, request: Request, data: JSONBody[SubscriptionIn]) -> Response[SubscriptionOut]:
        session = signed_in_session(request)
        stored = await hub_of(request).people.add_subscription(session.user_id, data, session.session_id)
        if stored is None:  # signed out (or deleted) since the request began
            raise NotAuthorizedException("your session has ended: sign in again")
        return Response(stored, status_code=201)

    @get("/", summary="The signed-in person's registered browsers")
    async def list(self, request: Request) -> list[SubscriptionOut]:
        return await hub_of(request).people.list_subscriptions(signed_in_user(request)) or []

    @delete("/{subscription_id:str}", summary="Forget one of your browsers")
    async def forget(self, request: Request, subscription_id: FromPath[str]) -> None:
        if not await hub_of(request).people.remove_subscription(subscription_id, signed_in_user(request)):
            raise NotFoundException(f"you have no push subscription {subscription_id}")

    @post("/{subscription_id:str}/test", status_code=200, summary="Send a test notification to one of your browsers")
    async def send_test(self, request: Request, subscription_id: FromPath[str]) -> TestPushOut:
        # A diagnostic the person is waiting for, so it is sent now (like an action run), not via the outbox.
        hub = hub_of(request)
        user_id = signed_in_user(request)
        mine = await hub.people.list_subscriptions(user_id) or []
        device = next((device for device in mine if device.id == subscription_id), None)
        if device is None:
            raise NotFoundException(f"you have no push subscription {subscription_id}")
        if problem := url_problem(device.endpoint):  # registered before endpoints were checked
            return TestPushOut("failed", detail=f"this device's endpoint cannot be requested: {problem}")
        notifier = hub.plugins.notifiers.get("webpush")
        if notifier is None:
            raise HTTPException(status_code=409, detail="the webpush plugin is not enabled on this hub")
        message = Message(
            id=f"test-{secrets.token_hex(6)}",
            title="Test notification from hub",
            body="Notifications work on this device.",
            url=f"{hub.settings.public_url.rstrip('/')}/settings",
            severity="info",
            project="",
            channel="",
            event=None,
        )
        outcome = await _outcome(notifier.send(hub.context, Recipient("webpush", subscription_id, user_id), message))
        return TestPushOut(outcome.result, outcome.status, outcome.detail)


async def _outcome(send: Awaitable[Outcome]) -> Outcome:
    """A send's outcome, with the outbound client's errors classified as the outbox worker classifies them
    (hub.outbox.worker): a push service that is down or refused is an answer to show, not a 500."""
    try:
        return await send
    except BlockedAddress as exc:
        return Outcome("failed", detail=str(exc))
    except ResponseTooLarge as exc:
        status = exc.response.status_code
        return Outcome("delivered" if 200 <= status < 300 else "retry", status, str(exc))
    except httpx.TimeoutException:
        return Outcome("retry", detail="timed out")
    except httpx.HTTPError as exc:
        return Outcome("retry", detail=f"{type(exc).__name__}: {exc}")
