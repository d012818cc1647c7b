"""Admin API for API keys: create (the secret is in this one response), list, revoke."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from hub.api.common import hub_admin, hub_of
from hub.auth import KeyInfo
from hub.models import Slug, ValidationProblem


class KeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    scopes: Annotated[list[str], msgspec.Meta(min_length=1)]
    project: Slug | None = None
    rate_limit: Annotated[float, msgspec.Meta(gt=0)] | None = None


class KeyCreated(msgspec.Struct):
    key: str
    info: KeyInfo


class KeysController(Controller):
    path = "/api/v1/keys"
    tags = ["admin"]
    guards = [hub_admin]

    @post("/", summary="Create an API key (its secret is shown only in this response)")
    async def create(self, request: Request, data: JSONBody[KeyCreate]) -> KeyCreated:
        try:
            info, secret = await hub_of(request).keys.create(
                name=data.name, scopes=data.scopes, project=data.project, rate_limit=data.rate_limit
            )
        except ValueError as exc:
            raise ValidationProblem(str(exc), "scopes") from None
        return KeyCreated(key=secret, info=info)

    @get("/", summary="List API keys (never their secrets)")
    async def list(self, request: Request) -> list[KeyInfo]:
        return await hub_of(request).keys.list()

    @delete("/{key_id:str}", summary="Revoke an API key")
    async def revoke(self, request: Request, key_id: FromPath[str]) -> None:
        if not await hub_of(request).keys.revoke(key_id):
            raise NotFoundException(f"no active API key with id {key_id}")
