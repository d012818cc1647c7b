"""Admin API for people: users (`/api/v1/users`), teams (`/api/v1/teams`) and users' push subscriptions.

Users and teams are addressed by id or email / slug. The web app's own sign-in endpoints come with the PWA.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, JSONBody

from hub.api.common import hub_admin, hub_of
from hub.core import Hub
from hub.people.models import (
    SubscriptionIn,
    SubscriptionOut,
    TeamIn,
    TeamOut,
    TeamPatch,
    UserIn,
    UserOut,
    UserPatch,
)
from hub.people.store import Conflict


def _conflict(exc: Conflict) -> HTTPException:
    return HTTPException(status_code=409, detail=str(exc))


async def _refuse_if_sent_to(hub: Hub, email: str) -> None:
    """409 while a routing rule sends to this user: without them, it would notify nobody."""
    async with hub.db.reader.connect() as conn:
        rule = await hub.rules.sending_to(conn, user_email=email)
    if rule:
        raise HTTPException(status_code=409, detail=f"routing rule {rule} sends to user {email}; change it first")


class UsersController(Controller):
    path = "/api/v1/users"
    tags = ["people"]
    guards = [hub_admin]

    @post("/", summary="Create a user")
    async def create(self, request: Request, data: JSONBody[UserIn]) -> Response[UserOut]:
        try:
            return Response(await hub_of(request).people.create_user(data), status_code=201)
        except Conflict as exc:
            raise _conflict(exc) from None

    @get("/", summary="List users")
    async def list_users(self, request: Request) -> list[UserOut]:
        return await hub_of(request).people.list_users()

    @get("/{user:str}", summary="One user, by id or email")
    async def show(self, request: Request, user: FromPath[str]) -> UserOut:
        found = await hub_of(request).people.get_user(user)
        if found is None:
            raise NotFoundException(f"no user {user}")
        return found

    @patch("/{user:str}", summary="Change a user's name, email, role, time zone, quiet hours or projects")
    async def update(self, request: Request, user: FromPath[str], data: JSONBody[UserPatch]) -> UserOut:
        hub = hub_of(request)
        if isinstance(data.email, str):
            # Rules name users by email: a new one would leave the rule notifying nobody, without a trace.
            current = await hub.people.get_user(user)
            if current is not None and current.email != data.email:  # both lower-cased
                await _refuse_if_sent_to(hub, current.email)
        try:
            found = await hub.people.update_user(user, data)
        except Conflict as exc:
            raise _conflict(exc) from None
        if found is None:
            raise NotFoundException(f"no user {user}")
        return found

    @delete(
        "/{user:str}", summary="Delete a user (with their memberships and push subscriptions; not one a rule sends to)"
    )
    async def remove(self, request: Request, user: FromPath[str]) -> None:
        hub = hub_of(request)
        found = await hub.people.get_user(user)
        if found is None:
            raise NotFoundException(f"no user {user}")
        await _refuse_if_sent_to(hub, found.email)
        if not await hub.people.delete_user(user):
            raise NotFoundException(f"no user {user}")

    @post("/{user:str}/push-subscriptions", summary="Register a browser for web push")
    async def subscribe(
        self, request: Request, user: FromPath[str], data: JSONBody[SubscriptionIn]
    ) -> Response[SubscriptionOut]:
        stored = await hub_of(request).people.add_subscription(user, data)
        if stored is None:
            raise NotFoundException(f"no user {user}")
        return Response(stored, status_code=201)

    @get("/{user:str}/push-subscriptions", summary="A user's registered browsers")
    async def subscriptions(self, request: Request, user: FromPath[str]) -> list[SubscriptionOut]:
        found = await hub_of(request).people.list_subscriptions(user)
        if found is None:
            raise NotFoundException(f"no user {user}")
        return found

    @delete("/{user:str}/push-subscriptions/{subscription_id:str}", summary="Forget a browser")
    async def unsubscribe(self, request: Request, user: FromPath[str], subscription_id: FromPath[str]) -> None:
        if not await hub_of(request).people.remove_subscription(subscription_id, user):
            raise NotFoundException(f"no push subscription {subscription_id} for user {user}")


class TeamsController(Controller):
    path = "/api/v1/teams"
    tags = ["people"]
    guards = [hub_admin]

    @post("/", summary="Create a team")
    async def create(self, request: Request, data: JSONBody[TeamIn]) -> Response[TeamOut]:
        try:
            return Response(await hub_of(request).people.create_team(data), status_code=201)
        except Conflict as exc:
            raise _conflict(exc) from None

    @get("/", summary="List teams with their members")
    async def list_teams(self, request: Request) -> list[TeamOut]:
        return await hub_of(request).people.list_teams()

    @get("/{team:str}", summary="One team")
    async def show(self, request: Request, team: FromPath[str]) -> TeamOut:
        found = await hub_of(request).people.get_team(team)
        if found is None:
            raise NotFoundException(f"no team {team}")
        return found

    @patch("/{team:str}", summary="Rename a team")
    async def rename(self, request: Request, team: FromPath[str], data: JSONBody[TeamPatch]) -> TeamOut:
        found = await hub_of(request).people.rename_team(team, data.name)
        if found is None:
            raise NotFoundException(f"no team {team}")
        return found

    @delete("/{team:str}", summary="Delete a team (not one a routing rule sends to)")
    async def remove(self, request: Request, team: FromPath[str]) -> None:
        hub = hub_of(request)
        async with hub.db.reader.connect() as conn:
            rule = await hub.rules.sending_to(conn, team=team)
        if rule:
            raise HTTPException(status_code=409, detail=f"routing rule {rule} sends to team {team}; change it first")
        if not await hub.people.delete_team(team):
            raise NotFoundException(f"no team {team}")

    @put("/{team:str}/members/{user:str}", summary="Add a user (id or email) to a team")
    async def add_member(self, request: Request, team: FromPath[str], user: FromPath[str]) -> TeamOut:
        found = await hub_of(request).people.set_member(team, user, member=True)
        if found is None:
            raise NotFoundException(f"no team {team} or no user {user}")
        return found

    @delete("/{team:str}/members/{user:str}", status_code=200, summary="Remove a user from a team")
    async def remove_member(self, request: Request, team: FromPath[str], user: FromPath[str]) -> TeamOut:
        found = await hub_of(request).people.set_member(team, user, member=False)
        if found is None:
            raise NotFoundException(f"no team {team} or no user {user}")
        return found
