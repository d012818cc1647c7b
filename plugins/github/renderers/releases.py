"""Releases and published packages."""

from __future__ import annotations

from ..event import Rendering
from ..node import Node
from ..text import code, one_line, paragraphs, plural, quote, words
from .common import VIEW, repo_url, sender

CHANNEL = "releases"


def release(p: Node) -> Rendering:
    item = p["release"]
    action = p["action"].text()
    tag = one_line(item["tag_name"].text(), 100)
    name = one_line(item["name"].text(), 120) or tag or "a release"
    kind = "pre-release" if item["prerelease"].flag() else "draft release" if item["draft"].flag() else "release"
    verb = "published" if action == "prereleased" else words(action) or "updated"
    assets = item["assets"].items()
    return Rendering(
        title=f"{sender(p)} {verb} {kind} {name}",
        icon="🗑️" if action == "deleted" else "🚀",
        channel=CHANNEL,
        description=paragraphs(
            f"Tag {code(tag)}" if tag and tag != name else None,
            quote(item["body"].text(), 1500),
            plural(len(assets), "asset") if assets else None,
        ),
        tags={
            "tag": tag or None,
            "prerelease": item["prerelease"].flag(),
            "draft": item["draft"].flag(),
        },
        links=[(VIEW, item["html_url"].url()), ("All releases", repo_url(p, "releases"))],
    )


def package(p: Node) -> Rendering:
    return _package(p, p["package"])


def registry_package(p: Node) -> Rendering:
    return _package(p, p["registry_package"])


def _package(p: Node, item: Node) -> Rendering:
    version = item["package_version"]
    name = one_line(item["name"].text(), 120) or "a package"
    number = one_line(version["version"].text(), 80)
    ecosystem = one_line(item["ecosystem"].text() or item["package_type"].text(), 40)
    return Rendering(
        title=f"{sender(p)} {words(p['action'].text()) or 'updated'} package {name}" + (f" {number}" if number else ""),
        icon="📦",
        channel=CHANNEL,
        description=paragraphs(
            quote(item["description"].text(), 400),
            quote(version["summary"].text() or version["body"].text(), 600),
        ),
        tags={"package": name, "version": number or None, "ecosystem": ecosystem or None},
        links=[("View version", version["html_url"].url()), (VIEW, item["html_url"].url())],
    )
