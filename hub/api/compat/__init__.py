"""Drop-in compatible ingest routes: clients written for LogSnag, Logsh and Operational.co work with the hub
by changing only their base URL. Each peer's module keeps that peer's request and error shapes; all of them
store through the native ingest path (EventIn -> draft -> `Ingestor.store`).
"""

from __future__ import annotations

from litestar import Router

from hub.api.compat import logsh, logsnag, operational

compat_handlers: list[Router] = [logsnag.router, logsh.router, operational.router]
