"""Code landing in a repository: pushes, new and deleted branches and tags, commit comments, wiki edits."""

from __future__ import annotations

from ..event import Rendering
from ..node import Node
from ..text import bullets, code, link, one_line, paragraphs, plural, quote, ref_name, short_sha
from .common import VIEW, login, repo_url, sender

CHANNEL = "code"
COMMITS_SHOWN = 5


def push(p: Node) -> Rendering:
    ref = p["ref"].text()
    name = ref_name(ref)
    pusher = one_line(p["pusher"]["name"].text(), 64) or sender(p)
    commits = p["commits"].items()
    is_tag = ref.startswith("refs/tags/")
    kind = "tag" if is_tag else "branch"
    links = [
        ("Compare changes", p["compare"].url()),
        ("View commit", p["head_commit"]["url"].url()),
        (VIEW, repo_url(p)),
    ]
    tags = {kind: name, "commits": len(commits), "forced": p["forced"].flag()}
    if p["deleted"].flag():
        return Rendering(title=f"{pusher} deleted {kind} {name}", icon="🗑️", channel=CHANNEL, tags=tags, links=links[2:])
    if is_tag:
        message = p["head_commit"]["message"].text()
        return Rendering(
            title=f"{pusher} pushed tag {name}",
            icon="🏷️",
            channel=CHANNEL,
            description=paragraphs(f"Tag {code(name)} at {_commit_line(p['head_commit'])}" if message else None),
            tags=tags,
            links=links,
        )
    if p["created"].flag():
        what = f"created branch {name}" + (f" with {plural(len(commits), 'commit')}" if commits else "")
    elif commits:
        verb = "force-pushed" if p["forced"].flag() else "pushed"
        what = f"{verb} {plural(len(commits), 'commit')} to {name}"
    else:
        what = f"{'force-pushed' if p['forced'].flag() else 'pushed'} to {name}"
    lines = [_commit_line(commit) for commit in commits[:COMMITS_SHOWN]]
    return Rendering(
        title=f"{pusher} {what}",
        icon="🌱" if p["created"].flag() else "⬆️",
        channel=CHANNEL,
        description=paragraphs(
            bullets(lines, len(commits)),
            "Force-pushed: earlier commits on this branch were rewritten." if p["forced"].flag() else None,
            link("Compare changes", p["compare"].url()) if p["compare"].url() else None,
        ),
        tags=tags,
        links=links,
    )


def _commit_line(commit: Node) -> str:
    """`abc1234` First line of the message — author, linked to the commit."""
    sha = link(short_sha(commit["id"].text()) or "commit", commit["url"].url())
    message = one_line(commit["message"].text().split("\n", 1)[0], 100) or "(no message)"
    author = one_line(commit["author"]["username"].text() or commit["author"]["name"].text(), 64)
    return f"{sha} {link(message, None)}" + (f" — {author}" if author else "")


def create(p: Node) -> Rendering:
    kind = one_line(p["ref_type"].text(), 20) or "ref"
    ref = p["ref"].text()
    page = repo_url(p, "releases/tag" if kind == "tag" else "tree", ref)
    return Rendering(
        title=f"{sender(p)} created {kind} {ref}",
        icon="🏷️" if kind == "tag" else "🌱",
        channel=CHANNEL,
        description=paragraphs(one_line(p["description"].text(), 300)),
        tags={"ref_type": kind, kind if kind in ("branch", "tag") else "ref": ref},
        links=[(VIEW, page), ("View repository", repo_url(p))],
    )


def delete(p: Node) -> Rendering:
    kind = one_line(p["ref_type"].text(), 20) or "ref"
    ref = p["ref"].text()
    return Rendering(
        title=f"{sender(p)} deleted {kind} {ref}",
        icon="🗑️",
        channel=CHANNEL,
        tags={"ref_type": kind, kind if kind in ("branch", "tag") else "ref": ref},
        links=[(VIEW, repo_url(p))],
    )


def commit_comment(p: Node) -> Rendering:
    comment = p["comment"]
    sha = short_sha(comment["commit_id"].text())
    path = comment["path"].text()
    line = comment["line"].integer()
    where = f"On {code(path)}" + (f" line {line}" if line is not None else "") if path else None
    return Rendering(
        title=f"{login(comment['user'])} commented on commit {sha}".rstrip(),
        icon="💬",
        channel=CHANNEL,
        description=paragraphs(where, quote(comment["body"].text())),
        tags={"commit": sha},
        links=[(VIEW, comment["html_url"].url())],
    )


def gollum(p: Node) -> Rendering:
    pages = p["pages"].items()
    lines = [
        f"{one_line(page['action'].text(), 20) or 'changed'} "
        + link(page["title"].text() or "a page", page["html_url"].url())
        for page in pages[:10]
    ]
    if len(pages) == 1:
        action = one_line(pages[0]["action"].text(), 20) or "changed"
        title = f"{sender(p)} {action} wiki page {one_line(pages[0]['title'].text(), 120)}"
    else:
        title = f"{sender(p)} changed {plural(len(pages), 'wiki page')}"
    return Rendering(
        title=title,
        icon="📖",
        channel=CHANNEL,
        description=paragraphs(bullets(lines, len(pages))),
        tags={"pages": len(pages)},
        links=[(f"Open {one_line(page['title'].text(), 40) or 'page'}", page["html_url"].url()) for page in pages[:5]],
    )
