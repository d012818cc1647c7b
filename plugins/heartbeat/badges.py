"""Status badges for READMEs and dashboards: `GET /badge/{badge_key}/{check-slug-or-project}.svg`.

The key is the project's badge key (`GET /api/v1/check-projects/{project}`): it only reveals up/late/down,
so a badge URL can be published without exposing the API. The name after the key is a check's slug in that
project, or the project's own slug for the project as a whole (its worst check: any down makes it down, else
any late makes it late). As in Healthchecks, new and paused checks count as up.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from litestar import Response, route
from litestar.di import NamedDependency
from litestar.params import Parameter
from sqlalchemy import case, func, select

from hub.pluginapi import HubContext

from . import tables
from .service import service

COLOURS = {"up": "#4c1", "late": "#fe7d37", "down": "#e05d44"}
SEVERITY = ("up", "late", "down")
CHAR_WIDTH = 7  # px per character of Verdana 11px, near enough for short labels


def render(label: str, status: str) -> str:
    """A flat two-part badge, label on grey and status on its colour."""
    left, right = len(label) * CHAR_WIDTH + 10, len(status) * CHAR_WIDTH + 10
    width = left + right
    label, colour = escape(label), COLOURS[status]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{label}: {status}"><title>{label}: {status}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14">{label}</text><text x="{left + right / 2}" y="14">{status}</text></g></svg>'
    )


@route(
    "/badge/{key:str}/{name:str}",
    http_method=["GET", "HEAD"],  # HEAD too: caches and README renderers check a badge before fetching it
    tags=["heartbeat"],
    summary="An up/late/down SVG badge for a check or project",
)
async def badge(
    hub: NamedDependency[HubContext],
    key: Annotated[str, Parameter(description="the project's badge key")],
    name: Annotated[str, Parameter(description="`{check-slug}.svg`, or `{project}.svg` for the whole project")],
) -> Response[Any]:
    missing = Response("not found", status_code=404, media_type="text/plain")
    if not name.endswith(".svg"):
        return missing
    slug = name.removesuffix(".svg")
    c, p = tables.checks.c, tables.projects.c
    now = service(hub).now()
    # 2 down, 1 late, 0 up: the badge shows the worst of the checks it covers.
    worst = func.max(case((c.status == "down", 2), ((c.status == "up") & (c.expected_at <= now), 1), else_=0))
    async with hub.db.reader.connect() as conn:
        project = (await conn.execute(select(p.project).where(p.badge_key == key))).scalar()
        if project is None:
            return missing
        covered = select(worst, func.count()).where(c.project == project)
        level, count = (await conn.execute(covered.where(c.slug == slug))).one()
        if not count and slug == project:
            level, count = (await conn.execute(covered)).one()
        if not count:
            return missing
    status = SEVERITY[level or 0]
    return Response(
        render(slug, status),
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-cache, max-age=0"},
    )
