"""Status badges for READMEs and dashboards: `GET /badge/{badge_key}/{check-slug-or-project}.{svg,json,shields}`.

The key is the project's badge key (`GET /api/v1/check-projects/{project}`): it only reveals up/late/down,
so a badge URL can be published without exposing the API. The name after the key is a check's slug in that
project, or the project's own slug for the project as a whole (its worst check: any down makes it down, else
any late makes it late). As in Healthchecks, new and paused checks count as up; the formats are Healthchecks'
(an SVG, JSON with the counts, and JSON for shields.io's endpoint badge), and `?states=2` shows late as up.
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


# Healthchecks' colours for shields.io's endpoint badge.
SHIELDS_COLOURS = {"up": "success", "late": "important", "down": "critical"}
FORMATS = ("svg", "json", "shields")


@route(
    "/badge/{key:str}/{name:str}",
    http_method=["GET", "HEAD"],  # HEAD too: caches and README renderers check a badge before fetching it
    tags=["heartbeat"],
    summary="An up/late/down badge for a check or project: SVG, JSON, or JSON for shields.io",
)
async def badge(
    hub: NamedDependency[HubContext],
    key: Annotated[str, Parameter(description="the project's badge key")],
    name: Annotated[
        str, Parameter(description="`{check-slug}.svg` (or `.json`, `.shields`), or `{project}.svg` for the project")
    ],
    states: Annotated[int, Parameter(description="2: late shows as up (up or down only)", ge=2, le=3)] = 3,
) -> Response[Any]:
    missing = Response("not found", status_code=404, media_type="text/plain")
    slug, _, kind = name.rpartition(".")
    if kind not in FORMATS or not slug:
        return missing
    c, p = tables.checks.c, tables.projects.c
    now = service(hub).now()
    down = func.sum(case((c.status == "down", 1), else_=0))
    late = func.sum(case(((c.status == "up") & (c.expected_at <= now), 1), else_=0))
    async with hub.db.reader.connect() as conn:
        project = (await conn.execute(select(p.project).where(p.badge_key == key))).scalar()
        if project is None:
            return missing
        covered = select(func.count(), late, down).where(c.project == project)
        total, n_late, n_down = (await conn.execute(covered.where(c.slug == slug))).one()
        if not total and slug == project:
            total, n_late, n_down = (await conn.execute(covered)).one()
        if not total:
            return missing
    status = "down" if n_down else "late" if n_late and states == 3 else "up"
    headers = {"Cache-Control": "no-cache, max-age=0"}
    if kind == "json":
        counts = {"status": status, "total": total, "grace": n_late or 0, "down": n_down or 0}
        return Response(counts, media_type="application/json", headers=headers)
    if kind == "shields":
        shield = {"schemaVersion": 1, "label": slug, "message": status, "color": SHIELDS_COLOURS[status]}
        return Response(shield, media_type="application/json", headers=headers)
    return Response(render(slug, status), media_type="image/svg+xml", headers=headers)
