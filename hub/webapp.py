"""Serving the PWA from `web/`: its static files, its page paths answered with the app shell, strict headers.

The wheel installs `web/` as the data-only package `hub_web`; a source checkout serves the folder itself.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import File
from litestar.static_files import create_static_files_router

from hub.api.errors import on_http_exception

# The pages the app routes itself (history API); each answers with the shell, which then draws the page.
APP_PAGES = [
    "/login",
    "/events/{event_id:str}",
    "/heartbeats",
    "/actions",
    "/admin",
    "/settings",
]

# No inline script or style anywhere in web/, so the policy can forbid both: event data can never run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# Paths that belong to the API and its clients (first segment): an unknown one is a JSON 404, never the app.
API_SEGMENTS = {"api", "v1", "hooks", "ping", "badge", "schema", "health"}
ROOT_ICONS = ["/icon-192.png", "/icon-512.png"]
CONTENT_TYPES = {".webmanifest": "application/manifest+json", ".js": "text/javascript; charset=utf-8"}


def web_root() -> Path:
    """Where the app's files are: the installed `hub_web` package, else `web/` next to `hub/` in a checkout."""
    spec = importlib.util.find_spec("hub_web")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "web"


async def _harden(response: Response) -> Response:
    """Every file leaves with the security headers, revalidated on each load (no build step, so no hashed names)."""
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Cache-Control", "no-cache")
    if isinstance(response, File):
        suffix = Path(str(response.file_path)).suffix
        if suffix in CONTENT_TYPES:
            response.media_type = CONTENT_TYPES[suffix]
            response.headers["Content-Type"] = CONTENT_TYPES[suffix]
    return response


def wants_app_page(request: Request) -> bool:
    """A browser asking for a page (HTML) at a path that is not the API's: the app shows its own not-found page."""
    first = request.url.path.lstrip("/").split("/", 1)[0]
    return request.method == "GET" and first not in API_SEGMENTS and "text/html" in request.headers.get("accept", "")


def web_routers(root: Path | None = None) -> list[Any]:
    """Route handlers serving the app; empty when the files are missing (an API-only install)."""
    root = root or web_root()
    shell = root / "index.html"
    if not shell.is_file():
        return []

    @get(APP_PAGES, include_in_schema=False, after_request=_harden)
    async def app_page() -> File:
        return File(shell, content_disposition_type="inline", media_type="text/html")

    @get(ROOT_ICONS, include_in_schema=False, after_request=_harden)
    async def root_icon(request: Request) -> File:
        # The web push plugin's default notification icon is `/icon-192.png`: the same file as in icons/.
        return File(
            root / "icons" / request.url.path.lstrip("/"), content_disposition_type="inline", media_type="image/png"
        )

    def not_found(request: Request, exc: NotFoundException) -> Response[Any]:
        # Still a 404 (nothing is there), but with the shell, which says so in the app's own words.
        if not wants_app_page(request):
            return on_http_exception(request, exc)
        page = File(shell, status_code=404, content_disposition_type="inline", media_type="text/html")
        page.headers.update(SECURITY_HEADERS)
        page.headers["Cache-Control"] = "no-cache"
        return page

    static = create_static_files_router(
        "/",
        directories=[root],
        html_mode=True,
        name="web",
        after_request=_harden,
        include_in_schema=False,
        exception_handlers={NotFoundException: not_found},
    )
    return [app_page, root_icon, static]
