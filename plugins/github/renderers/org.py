"""The hook itself, repository settings, people and teams, and GitHub App installations and purchases.

Changes that can cut the hub off or expose code are warnings: the webhook or repository being deleted, a
repository made public, an app uninstalled or suspended, an organization deleted.
"""

from __future__ import annotations

from ..event import Rendering, Severity
from ..node import Node
from ..text import bullets, code, one_line, paragraphs, plural, quote, words
from .common import VIEW, login, repo_url, sender

CHANNEL = "github"


def ping(p: Node) -> Rendering:
    hook = p["hook"]
    events = [one_line(event.text(), 60) for event in hook["events"].items() if event.text()]
    listening = "all events" if events == ["*"] else ", ".join(code(event) for event in events[:30])
    return Rendering(
        title="Webhook connected" + (f" (hook {hook['id'].integer()})" if hook["id"].integer() is not None else ""),
        icon="🏓",
        channel=CHANNEL,
        description=paragraphs(quote(p["zen"].text(), 200), f"Sends {listening}" if listening else None),
        tags={"hook_id": p["hook_id"].integer() or hook["id"].integer()},
        links=[(VIEW, repo_url(p, "settings/hooks"))],
    )


def meta(p: Node) -> Rendering:
    hook_id = p["hook_id"].integer()
    deleted = p["action"].text() == "deleted"
    return Rendering(
        title=f"Webhook{f' {hook_id}' if hook_id is not None else ''} {words(p['action'].text()) or 'changed'}",
        icon="🪝",
        channel=CHANNEL,
        severity="warning" if deleted else "info",
        description="GitHub will send no more events through this webhook." if deleted else None,
        tags={"hook_id": hook_id},
        links=[(VIEW, repo_url(p, "settings/hooks"))],
    )


REPOSITORY_WARNINGS = frozenset({"deleted", "publicized"})


def repository(p: Node) -> Rendering:
    action = p["action"].text()
    what = {"publicized": "made the repository public", "privatized": "made the repository private"}.get(
        action, f"{words(action) or 'changed'} the repository"
    )
    old_name = one_line(p["changes"]["repository"]["name"]["from"].text(), 100)
    severity: Severity = "warning" if action in REPOSITORY_WARNINGS else "info"
    return Rendering(
        title=f"{sender(p)} {what}" + (f" (was {old_name})" if old_name else ""),
        icon="🗑️" if action == "deleted" else "🌍" if action == "publicized" else "📁",
        channel=CHANNEL,
        severity=severity,
        tags={"visibility": p["repository"]["visibility"].text() or None},
        links=[(VIEW, repo_url(p))],
    )


def public(p: Node) -> Rendering:
    return Rendering(
        title=f"{sender(p)} made the repository public",
        icon="🌍",
        channel=CHANNEL,
        severity="warning",
        links=[(VIEW, repo_url(p))],
    )


IMPORT_STATES = {"success": "succeeded", "failure": "failed", "cancelled": "was cancelled"}


def repository_import(p: Node) -> Rendering:
    state = p["status"].text()
    return Rendering(
        title="Repository import " + IMPORT_STATES.get(state, words(state) or "updated"),
        icon="❌" if state == "failure" else "📥",
        channel=CHANNEL,
        severity="warning" if state == "failure" else "info",
        tags={"status": state or None},
        links=[(VIEW, repo_url(p))],
    )


def member(p: Node) -> Rendering:
    action = p["action"].text()
    who = login(p["member"])
    verb = {"added": "added {} as a collaborator", "removed": "removed collaborator {}"}.get(action)
    permission = one_line(p["changes"]["permission"]["to"].text(), 40)
    return Rendering(
        title=f"{sender(p)} " + (verb.format(who) if verb else f"{words(action) or 'changed'} collaborator {who}"),
        icon="👋",
        channel=CHANNEL,
        description=paragraphs(f"Permission: {code(permission)}" if permission else None),
        tags={"member": who},
        links=[(VIEW, p["member"]["html_url"].url())],
    )


def membership(p: Node) -> Rendering:
    action = p["action"].text()
    who = login(p["member"])
    team = one_line(p["team"]["name"].text(), 100) or "a team"
    verb = "added" if action == "added" else "removed" if action == "removed" else words(action) or "changed"
    preposition = "to" if action == "added" else "from"
    return Rendering(
        title=f"{sender(p)} {verb} {who} {preposition} team {team}",
        icon="👥",
        channel=CHANNEL,
        tags={"member": who, "team": team},
        links=[(VIEW, p["team"]["html_url"].url())],
    )


def member_change(p: Node, action: str, who: str) -> str | None:
    """A title naming who acted: a member joins by accepting an invitation, and leaves or is removed."""
    if action == "member_added":
        return f"{who} joined the organization"
    if action == "member_removed":
        return (
            f"{who} left the organization" if sender(p) == who else f"{sender(p)} removed {who} from the organization"
        )
    if action == "member_invited":
        return f"{sender(p)} invited {who} to the organization"
    return None


def organization(p: Node) -> Rendering:
    action = p["action"].text()
    who = login(p["membership"]["user"], "") or login(p["invitation"], "someone")
    change = member_change(p, action, who)
    role = one_line(p["membership"]["role"].text(), 40)
    return Rendering(
        title=change or f"{sender(p)} {words(action) or 'changed'} the organization",
        icon="🏢",
        channel=CHANNEL,
        severity="warning" if action == "deleted" else "info",
        description=paragraphs(f"Role: {code(role)}" if role else None),
        tags={"member": who if change else None},
        links=[(VIEW, p["membership"]["user"]["html_url"].url())],
    )


def org_block(p: Node) -> Rendering:
    who = login(p["blocked_user"])
    return Rendering(
        title=f"{sender(p)} {'blocked' if p['action'].text() == 'blocked' else 'unblocked'} {who}",
        icon="🚫",
        channel=CHANNEL,
        tags={"user": who},
        links=[(VIEW, p["blocked_user"]["html_url"].url())],
    )


def team(p: Node) -> Rendering:
    action = p["action"].text()
    name = one_line(p["team"]["name"].text(), 100) or "a team"
    verb = {
        "added_to_repository": f"gave team {name} access to the repository",
        "removed_from_repository": f"removed team {name} from the repository",
    }.get(action, f"{words(action) or 'changed'} team {name}")
    return Rendering(
        title=f"{sender(p)} {verb}",
        icon="👥",
        channel=CHANNEL,
        tags={"team": name, "permission": p["team"]["permission"].text() or None},
        links=[(VIEW, p["team"]["html_url"].url())],
    )


def team_add(p: Node) -> Rendering:
    name = one_line(p["team"]["name"].text(), 100) or "a team"
    return Rendering(
        title=f"Team {name} was given access to the repository",
        icon="👥",
        channel=CHANNEL,
        tags={"team": name, "permission": p["team"]["permission"].text() or None},
        links=[(VIEW, p["team"]["html_url"].url())],
    )


INSTALLATION_ACTIONS = {
    "created": "installed the app on",
    "deleted": "uninstalled the app from",
    "suspend": "suspended the app on",
    "unsuspend": "unsuspended the app on",
    "new_permissions_accepted": "accepted new app permissions on",
}


def installation(p: Node) -> Rendering:
    action = p["action"].text()
    account = login(p["installation"]["account"], "an account")
    repositories = [one_line(repo["full_name"].text(), 140) for repo in p["repositories"].items()]
    verb = INSTALLATION_ACTIONS.get(action, f"{words(action) or 'changed'} the app installation on")
    return Rendering(
        title=f"{sender(p)} {verb} {account}",
        icon="🧩",
        channel=CHANNEL,
        severity="warning" if action in ("deleted", "suspend") else "info",
        description=paragraphs(_repositories(repositories)),
        tags={"account": account, "app": one_line(p["installation"]["app_slug"].text(), 100) or None},
        links=[(VIEW, p["installation"]["html_url"].url())],
    )


def installation_repositories(p: Node) -> Rendering:
    added = [one_line(repo["full_name"].text(), 140) for repo in p["repositories_added"].items()]
    removed = [one_line(repo["full_name"].text(), 140) for repo in p["repositories_removed"].items()]
    account = login(p["installation"]["account"], "an account")
    changes = [
        f"{verb} {plural(len(repos), 'repository', 'repositories')}"
        for verb, repos in (("added", added), ("removed", removed))
        if repos
    ]
    return Rendering(
        title=f"{sender(p)} {' and '.join(changes) or 'changed repositories'} on the app installation",
        icon="🧩",
        channel=CHANNEL,
        description=paragraphs(
            "Added:\n" + _repositories(added) if added else None,
            "Removed:\n" + _repositories(removed) if removed else None,
        ),
        tags={"account": account, "added": len(added), "removed": len(removed)},
        links=[(VIEW, p["installation"]["html_url"].url())],
    )


def _repositories(names: list[str]) -> str:
    shown = [code(name, 140) for name in names[:20] if name]
    return bullets(shown, len(names)) if shown else ""


def github_app_authorization(p: Node) -> Rendering:
    return Rendering(
        title=f"{sender(p)} {words(p['action'].text()) or 'changed'} their authorization of the GitHub App",
        icon="🔌",
        channel=CHANNEL,
        links=[(VIEW, p["sender"]["html_url"].url())],
    )


def marketplace_purchase(p: Node) -> Rendering:
    purchase, action = p["marketplace_purchase"], p["action"].text()
    account = login(purchase["account"], "an account")
    plan = one_line(purchase["plan"]["name"].text(), 100) or "a plan"
    cycle = one_line(purchase["billing_cycle"].text(), 20)
    verb = {"purchased": "bought", "cancelled": "cancelled", "changed": "changed to"}.get(
        action, f"{words(action) or 'changed'}:"
    )
    return Rendering(
        title=f"{account} {verb} {plan}" + (f" ({cycle})" if cycle else ""),
        icon="🛒",
        channel=CHANNEL,
        description=paragraphs("On a free trial" if purchase["on_free_trial"].flag() else None),
        tags={
            "account": account,
            "plan": plan,
            "billing_cycle": cycle or None,
            "units": purchase["unit_count"].integer(),
        },
    )
