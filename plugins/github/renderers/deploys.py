"""Deployments, their statuses and approvals, and GitHub Pages builds.

A failed or errored deployment is critical (it is what reached, or did not reach, production); everything
else about deployments is info.
"""

from __future__ import annotations

from ..event import Rendering, Severity
from ..node import Node
from ..text import bullets, code, one_line, paragraphs, quote, short_sha, words
from .common import VIEW, login, repo_url, sender

CHANNEL = "deploys"

STATES: dict[str, tuple[str, str, Severity]] = {
    "success": ("succeeded", "🚀", "info"),
    "failure": ("failed", "❌", "critical"),
    "error": ("errored", "💥", "critical"),
    "pending": ("is pending", "⏳", "info"),
    "queued": ("is queued", "⏳", "info"),
    "in_progress": ("is in progress", "⏳", "info"),
    "inactive": ("is inactive", "💤", "info"),
}


def target(deployment: Node) -> tuple[str, str]:
    """The ref being deployed and the environment it goes to."""
    ref = one_line(deployment["ref"].text(), 100) or short_sha(deployment["sha"].text())
    environment = one_line(deployment["environment"].text(), 100) or "an environment"
    return ref, environment


def deployment(p: Node) -> Rendering:
    item = p["deployment"]
    ref, environment = target(item)
    task = one_line(item["task"].text(), 60)
    return Rendering(
        title=f"{login(item['creator'], sender(p))} started deploying {ref} to {environment}",
        icon="🚢",
        channel=CHANNEL,
        description=paragraphs(
            quote(item["description"].text(), 400),
            f"Task {code(task)} at {code(short_sha(item['sha'].text()))}" if task else None,
        ),
        tags={"environment": environment, "ref": ref or None, "task": task or None},
        links=[(VIEW, repo_url(p, "deployments"))],
    )


def deployment_status(p: Node) -> Rendering:
    item, status = p["deployment"], p["deployment_status"]
    ref, environment = target(item)
    environment = one_line(status["environment"].text(), 100) or environment
    state = status["state"].text()
    phrase, icon, severity = STATES.get(state, (f"is {words(state) or 'updated'}", "🚢", "info"))
    return Rendering(
        title=f"Deployment of {ref} to {environment} {phrase}",
        icon=icon,
        channel=CHANNEL,
        severity=severity,
        description=paragraphs(
            quote(status["description"].text(), 600),
            f"By {login(status['creator'], sender(p))} at {code(short_sha(item['sha'].text()))}",
        ),
        tags={"environment": environment, "state": state or None, "ref": ref or None},
        links=[
            ("Open environment", status["environment_url"].url()),
            ("View logs", status["log_url"].url() or status["target_url"].url()),
            (VIEW, repo_url(p, "deployments")),
        ],
    )


def deployment_review(p: Node) -> Rendering:
    action = p["action"].text()
    job = p["workflow_job_run"]
    jobs = p["workflow_job_runs"].items()
    environment = one_line(
        p["environment"].text() or job["environment"].text() or (jobs[0]["environment"].text() if jobs else ""), 100
    )
    where = f"to {environment}" if environment else "of a workflow run"
    approver = login(p["approver"], sender(p))
    if action == "requested":
        title, icon = f"Deployment {where} is waiting for review", "🛂"
    elif action == "approved":
        title, icon = f"{approver} approved the deployment {where}", "✅"
    elif action == "rejected":
        title, icon = f"{approver} rejected the deployment {where}", "⛔"
    else:
        title, icon = f"Deployment review {words(action) or 'updated'} {where}", "🛂"
    reviewers = [login(item["reviewer"]) for item in p["reviewers"].items()[:10]]
    run = p["workflow_run"]
    return Rendering(
        title=title,
        icon=icon,
        channel=CHANNEL,
        description=paragraphs(
            f"Workflow run {code(run['display_title'].text() or run['name'].text(), 120)}"
            if run["name"].text()
            else None,
            "Reviewers:\n" + bullets(reviewers) if reviewers else None,
            quote(p["comment"].text(), 400),
        ),
        tags={"environment": environment or None, "workflow": one_line(run["name"].text(), 100) or None},
        links=[(VIEW, run["html_url"].url())],
    )


def page_build(p: Node) -> Rendering:
    build = p["build"]
    state = build["status"].text()
    if state == "built":
        phrase, icon, severity = "succeeded", "📄", "info"
    elif state == "errored":
        phrase, icon, severity = "failed", "❌", "warning"
    else:
        phrase, icon, severity = words(state) or "updated", "📄", "info"
    message = build["error"]["message"].text()
    return Rendering(
        title=f"GitHub Pages build {phrase}",
        icon=icon,
        channel=CHANNEL,
        severity=severity,
        description=paragraphs(
            quote(message, 600), f"Commit {code(short_sha(build['commit'].text()))}" if build["commit"].text() else None
        ),
        tags={"status": state or None, "pusher": login(build["pusher"], "") or None},
        links=[(VIEW, repo_url(p, "deployments"))],
    )
