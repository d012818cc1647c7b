"""Pull requests, their reviews and review comments, and the merge queue."""

from __future__ import annotations

from ..event import Rendering
from ..node import Node
from ..text import code, item_label, one_line, paragraphs, plural, quote, ref_name, short_sha, words
from .common import VIEW, actor, login, repo_url, sender

CHANNEL = "pulls"

# action: (what the sender did, with `{pr}` for "PR #12", icon); other actions are shown as their words.
ACTIONS = {
    "opened": ("opened {pr}", "🔀"),
    "reopened": ("reopened {pr}", "🔄"),
    "ready_for_review": ("marked {pr} ready for review", "🔀"),
    "converted_to_draft": ("converted {pr} to a draft", "📝"),
    "synchronize": ("pushed new commits to {pr}", "🔁"),
    "edited": ("edited {pr}", "✏️"),
    "locked": ("locked {pr}", "🔒"),
    "unlocked": ("unlocked {pr}", "🔓"),
    "enqueued": ("added {pr} to the merge queue", "🚦"),
    "dequeued": ("removed {pr} from the merge queue", "🚦"),
    "auto_merge_enabled": ("enabled auto-merge on {pr}", "🚦"),
    "auto_merge_disabled": ("disabled auto-merge on {pr}", "🚦"),
}


def pr_label(p: Node, pr: Node) -> str:
    return item_label("PR", pr_number(p, pr), pr["title"].text())


def pr_number(p: Node, pr: Node) -> int | None:
    number = pr["number"].integer()
    return number if number is not None else p["number"].integer()


def pr_tags(p: Node, pr: Node) -> dict[str, str | int | bool | None]:
    return {
        "pr": pr_number(p, pr),
        "branch": pr["head"]["ref"].text() or None,
        "base": pr["base"]["ref"].text() or None,
    }


def pull_request(p: Node) -> Rendering:
    pr = p["pull_request"]
    action = p["action"].text()
    tags = pr_tags(p, pr) | {"draft": pr["draft"].flag()}
    who = sender(p)
    description = None
    if action == "closed":
        merged = pr["merged"].flag()
        tags["merged"] = merged
        if merged:
            who, what, icon = login(pr["merged_by"], who), "merged {pr}", "🎉"
            description = f"{code(pr['head']['ref'].text())} → {code(pr['base']['ref'].text())}"
        else:
            what, icon = "closed {pr} without merging", "🚫"
    elif action in ("review_requested", "review_request_removed"):
        reviewer = login(pr_reviewer(p), "a reviewer")
        verb = "requested a review from" if action == "review_requested" else "removed the review request for"
        what, icon = f"{verb} {reviewer} on {{pr}}", "👀"
    elif action in ("assigned", "unassigned"):
        preposition = "to" if action == "assigned" else "from"
        what, icon = f"{action} {login(p['assignee'])} {preposition} {{pr}}", "👤"
    elif action in ("labeled", "unlabeled"):
        name = one_line(p["label"]["name"].text(), 50) or "a label"
        what = f"added label {name} to {{pr}}" if action == "labeled" else f"removed label {name} from {{pr}}"
        icon = "🏷️"
    elif action in ("milestoned", "demilestoned"):
        name = one_line(p["milestone"]["title"].text() or pr["milestone"]["title"].text(), 60) or "a milestone"
        what = (
            f"added {{pr}} to milestone {name}" if action == "milestoned" else f"removed {{pr}} from milestone {name}"
        )
        icon = "🎯"
    else:
        what, icon = ACTIONS.get(action, (f"{words(action) or 'updated'} {{pr}}", "🔀"))
        if action == "opened" and pr["draft"].flag():
            what = "opened draft {pr}"
        if action in ("opened", "reopened", "ready_for_review"):
            description = opened_summary(pr)
    return Rendering(
        title=f"{who} {pr_phrase(what, p, pr)}",
        icon=icon,
        channel=CHANNEL,
        description=description,
        tags=tags,
        links=[(VIEW, pr["html_url"].url())],
    )


def pr_phrase(what: str, p: Node, pr: Node) -> str:
    """`what` with `{pr}` replaced by the PR's number, then its title after a colon."""
    number = pr_number(p, pr)
    phrase = what.replace("{pr}", f"PR #{number}" if number is not None else "a PR")
    name = one_line(pr["title"].text(), 120)
    return f"{phrase}: {name}" if name else phrase


def pr_reviewer(p: Node) -> Node:
    """The user or team a review was requested from."""
    return p["requested_reviewer"] if p["requested_reviewer"].value is not None else p["requested_team"]


def opened_summary(pr: Node) -> str | None:
    counts = ((pr["commits"].integer(), "commit"), (pr["changed_files"].integer(), "file"))
    size = [plural(n, noun) for n, noun in counts if n is not None]
    additions, deletions = pr["additions"].integer(), pr["deletions"].integer()
    if additions is not None and deletions is not None:
        size.append(f"+{additions} -{deletions}")
    branches = f"{code(pr['head']['ref'].text())} → {code(pr['base']['ref'].text())}"
    return paragraphs(quote(pr["body"].text()), " · ".join([branches, *size]))


REVIEW_STATES = {
    "approved": ("approved", "✅"),
    "changes_requested": ("requested changes on", "✋"),
    "commented": ("reviewed", "💬"),
}


def pull_request_review(p: Node) -> Rendering:
    pr, review = p["pull_request"], p["review"]
    state = review["state"].text().lower()
    if p["action"].text() == "dismissed":
        verb, icon = "dismissed a review on", "🙅"
    elif p["action"].text() == "edited":
        verb, icon = "edited a review on", "✏️"
    else:
        verb, icon = REVIEW_STATES.get(state, ("reviewed", "💬"))
    return Rendering(
        title=f"{actor(p, review['user'])} {verb} {pr_label(p, pr)}",
        icon=icon,
        channel=CHANNEL,
        description=paragraphs(quote(review["body"].text())),
        tags=pr_tags(p, pr) | {"review": state or None},
        links=[("View review", review["html_url"].url()), (VIEW, pr["html_url"].url())],
    )


def pull_request_review_comment(p: Node) -> Rendering:
    pr, comment = p["pull_request"], p["comment"]
    verb = {"edited": "edited a comment on", "deleted": "deleted a comment on"}.get(p["action"].text(), "commented on")
    path = comment["path"].text()
    return Rendering(
        title=f"{actor(p, comment['user'])} {verb} {pr_label(p, pr)}",
        icon="💬",
        channel=CHANNEL,
        description=paragraphs(f"On {code(path)}" if path else None, quote(comment["body"].text())),
        tags=pr_tags(p, pr),
        links=[("View comment", comment["html_url"].url()), (VIEW, pr["html_url"].url())],
    )


def pull_request_review_thread(p: Node) -> Rendering:
    pr = p["pull_request"]
    action = p["action"].text()
    first = next(iter(p["thread"]["comments"].items()), Node(None))
    path = first["path"].text()
    return Rendering(
        title=f"{sender(p)} {words(action) or 'updated'} a review thread on {pr_label(p, pr)}",
        icon="✔️" if action == "resolved" else "💬",
        channel=CHANNEL,
        description=paragraphs(f"On {code(path)}" if path else None, quote(first["body"].text(), 300)),
        tags=pr_tags(p, pr),
        links=[("View thread", first["html_url"].url()), (VIEW, pr["html_url"].url())],
    )


def merge_group(p: Node) -> Rendering:
    group = p["merge_group"]
    base = ref_name(group["base_ref"].text())
    action = p["action"].text()
    if action == "checks_requested":
        title = f"Merge queue checks requested for {base}"
    else:
        reason = one_line(p["reason"].text(), 40)
        title = f"Merge group for {base} {words(action) or 'updated'}" + (f" ({reason})" if reason else "")
    head = group["head_commit"]
    message = one_line(head["message"].text().split("\n", 1)[0], 200)
    return Rendering(
        title=title,
        icon="🚦",
        channel=CHANNEL,
        description=paragraphs(f"{code(short_sha(group['head_sha'].text()))} {message}".strip()),
        tags={"branch": base or None, "sha": short_sha(group["head_sha"].text()) or None},
        links=[(VIEW, repo_url(p, "queue", base))],
    )
