"""Issues, discussions and what organises them: comments, labels, milestones and project boards."""

from __future__ import annotations

from ..event import Rendering
from ..node import Node
from ..text import code, item_label, one_line, paragraphs, quote, words
from .common import VIEW, actor, login, repo_url, sender
from .pulls import CHANNEL as PULLS_CHANNEL

CHANNEL = "issues"

ISSUE_ACTIONS = {
    "opened": "📝",
    "edited": "✏️",
    "closed": "✅",
    "reopened": "🔄",
    "deleted": "🗑️",
    "transferred": "➡️",
    "pinned": "📌",
    "unpinned": "📌",
    "locked": "🔒",
    "unlocked": "🔓",
    "assigned": "👤",
    "unassigned": "👤",
    "labeled": "🏷️",
    "unlabeled": "🏷️",
    "milestoned": "🎯",
    "demilestoned": "🎯",
}


def issue_label(issue: Node) -> str:
    kind = "PR" if issue["pull_request"].value is not None else "issue"
    return item_label(kind, issue["number"].integer(), issue["title"].text())


def issues(p: Node) -> Rendering:
    issue = p["issue"]
    action = p["action"].text()
    label = issue_label(issue)
    labels = [one_line(item["name"].text(), 50) for item in issue["labels"].items()[:10]]
    labels_line = "Labels: " + ", ".join(code(name) for name in labels if name) if any(labels) else None
    return Rendering(
        title=f"{sender(p)} {words(action) or 'updated'} {label}{issue_detail(p, action)}",
        icon=ISSUE_ACTIONS.get(action, "📝"),
        channel=CHANNEL,
        description=paragraphs(quote(issue["body"].text()) if action == "opened" else None, labels_line),
        tags={"issue": issue["number"].integer(), "state": issue["state"].text() or None},
        links=[(VIEW, issue["html_url"].url())],
    )


def issue_detail(p: Node, action: str) -> str:
    """What a label, assignment or milestone change was about, or how an issue was closed."""
    if action == "closed" and p["issue"]["state_reason"].text() == "not_planned":
        return " as not planned"
    if action in ("labeled", "unlabeled"):
        name = one_line(p["label"]["name"].text(), 50)
    elif action in ("assigned", "unassigned"):
        name = login(p["assignee"], "")
    elif action in ("milestoned", "demilestoned"):
        name = one_line(p["issue"]["milestone"]["title"].text(), 60)
    else:
        name = ""
    return f" ({name})" if name else ""


def issue_comment(p: Node) -> Rendering:
    issue, comment = p["issue"], p["comment"]
    verb = {"edited": "edited a comment on", "deleted": "deleted a comment on"}.get(p["action"].text(), "commented on")
    key = "pr" if issue["pull_request"].value is not None else "issue"
    return Rendering(
        title=f"{actor(p, comment['user'])} {verb} {issue_label(issue)}",
        icon="💬",
        channel=PULLS_CHANNEL if key == "pr" else CHANNEL,  # a pull request's conversation is an issue's, to GitHub
        description=paragraphs(quote(comment["body"].text())),
        tags={key: issue["number"].integer()},
        links=[("View comment", comment["html_url"].url()), (VIEW, issue["html_url"].url())],
    )


def discussion_label(discussion: Node) -> str:
    return item_label("discussion", discussion["number"].integer(), discussion["title"].text())


def discussion(p: Node) -> Rendering:
    item = p["discussion"]
    action = p["action"].text()
    category = one_line(item["category"]["name"].text(), 60)
    verb = "marked an answer in" if action == "answered" else words(action) or "updated"
    return Rendering(
        title=f"{sender(p)} {verb} {discussion_label(item)}",
        icon="✅" if action == "answered" else "💭",
        channel=CHANNEL,
        description=paragraphs(
            f"In {code(category)}" if category else None,
            quote(item["body"].text()) if action == "created" else None,
        ),
        tags={"discussion": item["number"].integer(), "category": category or None},
        links=[(VIEW, item["html_url"].url())],
    )


def discussion_comment(p: Node) -> Rendering:
    item, comment = p["discussion"], p["comment"]
    verb = {"edited": "edited a comment on", "deleted": "deleted a comment on"}.get(p["action"].text(), "commented on")
    return Rendering(
        title=f"{actor(p, comment['user'])} {verb} {discussion_label(item)}",
        icon="💬",
        channel=CHANNEL,
        description=paragraphs(quote(comment["body"].text())),
        tags={"discussion": item["number"].integer()},
        links=[("View comment", comment["html_url"].url()), (VIEW, item["html_url"].url())],
    )


def label(p: Node) -> Rendering:
    name = one_line(p["label"]["name"].text(), 60)
    return Rendering(
        title=f"{sender(p)} {words(p['action'].text()) or 'changed'} label {name}".rstrip(),
        icon="🏷️",
        channel=CHANNEL,
        description=paragraphs(one_line(p["label"]["description"].text(), 300)),
        tags={"label": name or None},
        links=[(VIEW, repo_url(p, "labels"))],
    )


def milestone(p: Node) -> Rendering:
    item = p["milestone"]
    action = p["action"].text()
    due = one_line(item["due_on"].text(), 40)
    return Rendering(
        title=f"{sender(p)} {words(action) or 'changed'} milestone {one_line(item['title'].text(), 120)}".rstrip(),
        icon="✅" if action == "closed" else "🎯",
        channel=CHANNEL,
        description=paragraphs(quote(item["description"].text(), 400), f"Due {due[:10]}" if due else None),
        tags={"milestone": one_line(item["title"].text(), 120) or None},
        links=[(VIEW, item["html_url"].url())],
    )


def project(p: Node) -> Rendering:
    item = p["project"]
    return Rendering(
        title=f"{sender(p)} {words(p['action'].text()) or 'changed'} project {one_line(item['name'].text(), 120)}",
        icon="📋",
        channel=CHANNEL,
        description=paragraphs(quote(item["body"].text(), 400)),
        tags={"project": one_line(item["name"].text(), 120) or None},
        links=[(VIEW, item["html_url"].url())],
    )


def project_card(p: Node) -> Rendering:
    card = p["project_card"]
    return Rendering(
        title=f"{sender(p)} {words(p['action'].text()) or 'changed'} a project card",
        icon="📋",
        channel=CHANNEL,
        description=paragraphs(quote(card["note"].text(), 400)),
        links=[(VIEW, card["html_url"].url())],
    )


def project_column(p: Node) -> Rendering:
    column = p["project_column"]
    name = one_line(column["name"].text(), 120)
    return Rendering(
        title=f"{sender(p)} {words(p['action'].text()) or 'changed'} project column {name}".rstrip(),
        icon="📋",
        channel=CHANNEL,
        tags={"column": name or None},
    )


def projects_v2(p: Node) -> Rendering:
    item = p["projects_v2"]
    name = one_line(item["title"].text(), 120)
    return Rendering(
        title=f"{sender(p)} {words(p['action'].text()) or 'changed'} project {name}".rstrip(),
        icon="📋",
        channel=CHANNEL,
        description=paragraphs(one_line(item["short_description"].text(), 300)),
        tags={"project": name or None},
    )


def projects_v2_item(p: Node) -> Rendering:
    item = p["projects_v2_item"]
    kind = words(item["content_type"].text()) or "item"
    field = one_line(p["changes"]["field_value"]["field_name"].text(), 60)
    return Rendering(
        title=f"{sender(p)} {words(p['action'].text()) or 'changed'} a project {kind}",
        icon="📋",
        channel=CHANNEL,
        description=paragraphs(f"Field {code(field)} changed" if field else None),
        tags={"content_type": item["content_type"].text() or None},
    )
