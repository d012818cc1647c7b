"""People taking an interest in a repository or an account: stars, watchers, forks and sponsorships."""

from __future__ import annotations

from ..event import Rendering
from ..node import Node
from ..text import one_line, paragraphs, plural, quote, words
from .common import VIEW, login, repo_url, sender

CHANNEL = "community"


def star(p: Node) -> Rendering:
    starred = p["action"].text() != "deleted"
    stars = p["repository"]["stargazers_count"].integer()
    return Rendering(
        title=f"{sender(p)} {'starred' if starred else 'unstarred'} the repository"
        + (f" ({plural(stars, 'star')} now)" if stars is not None else ""),
        icon="⭐",
        channel=CHANNEL,
        tags={"stars": stars},
        links=[(VIEW, repo_url(p)), ("View profile", p["sender"]["html_url"].url())],
    )


def watch(p: Node) -> Rendering:
    watchers = p["repository"]["watchers_count"].integer()
    return Rendering(
        title=f"{sender(p)} started watching the repository",
        icon="👀",
        channel=CHANNEL,
        tags={"watchers": watchers},
        links=[(VIEW, repo_url(p)), ("View profile", p["sender"]["html_url"].url())],
    )


def fork(p: Node) -> Rendering:
    forkee = p["forkee"]
    name = one_line(forkee["full_name"].text(), 140)
    forks = p["repository"]["forks_count"].integer()
    return Rendering(
        title=f"{login(forkee['owner'], sender(p))} forked the repository" + (f" to {name}" if name else ""),
        icon="🍴",
        channel=CHANNEL,
        description=paragraphs(plural(forks, "fork") + " in all" if forks is not None else None),
        tags={"fork": name or None, "forks": forks},
        links=[("View fork", forkee["html_url"].url()), (VIEW, repo_url(p))],
    )


def sponsorship(p: Node) -> Rendering:
    item, action = p["sponsorship"], p["action"].text()
    sponsor = login(item["sponsor"], sender(p))
    sponsored = login(item["sponsorable"], "you")
    tier = one_line(item["tier"]["name"].text(), 100)
    if action == "created":
        title = f"{sponsor} started sponsoring {sponsored}"
    elif action == "cancelled":
        title = f"{sponsor} stopped sponsoring {sponsored}"
    else:
        title = f"{sponsor}'s sponsorship of {sponsored}: {words(action) or 'updated'}"
    return Rendering(
        title=title + (f" ({tier})" if tier else ""),
        icon="💖",
        channel=CHANNEL,
        description=paragraphs(quote(item["tier"]["description"].text(), 300)),
        tags={
            "sponsor": sponsor,
            "tier": tier or None,
            "monthly_cents": item["tier"]["monthly_price_in_cents"].integer(),
        },
        links=[(VIEW, item["sponsor"]["html_url"].url())],
    )
