"""CI: workflow runs and jobs, check runs and suites, commit statuses, and manually dispatched runs.

A finished run's conclusion sets the severity: failures, time-outs and runs waiting for someone are
warnings (they notify); success, cancelled, skipped and neutral results are info.
"""

from __future__ import annotations

import msgspec

from ..event import Rendering, Severity
from ..node import Node
from ..text import bullets, code, link, one_line, paragraphs, plural, quote, ref_name, short_sha, words
from .common import VIEW, login, repo_url, sender

CHANNEL = "ci"

CONCLUSIONS: dict[str, tuple[str, str, Severity]] = {
    "success": ("succeeded", "✅", "info"),
    "failure": ("failed", "❌", "warning"),
    "timed_out": ("timed out", "⏰", "warning"),
    "startup_failure": ("failed to start", "❌", "warning"),
    "action_required": ("needs action", "✋", "warning"),
    "cancelled": ("was cancelled", "⏹️", "info"),
    "skipped": ("was skipped", "⏭️", "info"),
    "neutral": ("finished", "⚪", "info"),
    "stale": ("went stale", "⚪", "info"),
}
STATUSES = {
    "requested": ("was requested", "⏳"),
    "queued": ("is queued", "⏳"),
    "pending": ("is pending", "⏳"),
    "waiting": ("is waiting for approval", "⏸️"),  # a deployment protection rule holds it: someone must act
    "in_progress": ("is running", "🏃"),
    "completed": ("completed", "🏁"),
}


def outcome(conclusion: str, status: str) -> tuple[str, str, Severity]:
    """(phrase, icon, severity) for a run: its conclusion when it has one, else where it stands."""
    if conclusion in CONCLUSIONS:
        return CONCLUSIONS[conclusion]
    if conclusion:
        return f"finished ({words(conclusion)})", "🏁", "info"
    phrase, icon = STATUSES.get(status, (f"is {words(status)}" if status else "was updated", "⏳"))
    return phrase, icon, "warning" if status == "waiting" else "info"


def run_state(p: Node, run: Node) -> tuple[str, str, Severity]:
    """A run's outcome; a `completed` delivery counts as completed even when its status field lags behind."""
    status = "completed" if p["action"].text() == "completed" else run["status"].text()
    return outcome(run["conclusion"].text(), status)


def commit_line(commit: Node) -> str | None:
    sha = short_sha(commit["id"].text())
    message = one_line(commit["message"].text().split("\n", 1)[0], 120)
    if not message:
        return None
    author = one_line(commit["author"]["name"].text(), 64)
    return f"{code(sha)} {link(message, None)}" + (f" — {author}" if author else "")


def workflow_run(p: Node) -> Rendering:
    run = p["workflow_run"]
    name = one_line(run["name"].text() or p["workflow"]["name"].text(), 100) or "workflow"
    branch = run["head_branch"].text()
    phrase, icon, severity = run_state(p, run)
    number = run["run_number"].integer()
    trigger = one_line(run["event"].text(), 40)
    actor = login(run["triggering_actor"], "") or login(run["actor"], "")
    attempt = run["run_attempt"].integer()
    return Rendering(
        title=f"Workflow {name} {phrase}" + (f" on {branch}" if branch else "") + (f" (#{number})" if number else ""),
        icon=icon,
        channel=CHANNEL,
        severity=severity,
        description=paragraphs(
            commit_line(run["head_commit"]),
            triggered_by(trigger, actor, attempt),
        ),
        tags={
            "workflow": name,
            "branch": branch or None,
            "status": run["status"].text() or None,
            "conclusion": run["conclusion"].text() or None,
            "run": number,
            "trigger": trigger or None,
        },
        links=[(VIEW, run["html_url"].url())],
    )


def triggered_by(trigger: str, actor: str, attempt: int | None) -> str:
    """`Triggered by `push` by octocat (attempt 2)`, leaving out what the run does not say."""
    parts = [f"Triggered by {code(trigger)}" if trigger else "", f"by {actor}" if actor else ""]
    if attempt is not None and attempt > 1:
        parts.append(f"(attempt {attempt})")
    return " ".join(part for part in parts if part)


def workflow_job(p: Node) -> Rendering:
    job = p["workflow_job"]
    name = one_line(job["name"].text(), 100) or "job"
    workflow = one_line(job["workflow_name"].text(), 100)
    branch = job["head_branch"].text()
    phrase, icon, severity = run_state(p, job)
    failed = [
        code(step["name"].text(), 80)
        for step in job["steps"].items()
        if step["conclusion"].text() in ("failure", "timed_out") and step["name"].text()
    ]
    runner = one_line(job["runner_name"].text(), 100)
    return Rendering(
        title=f"Job {name} {phrase}" + (f" in {workflow}" if workflow else "") + (f" on {branch}" if branch else ""),
        icon=icon,
        channel=CHANNEL,
        severity=severity,
        description=paragraphs(
            "Failed steps:\n" + bullets(failed[:10], len(failed)) if failed else None,
            f"Runner {code(runner)}" if runner else None,
        ),
        tags={
            "job": name,
            "workflow": workflow or None,
            "branch": branch or None,
            "status": job["status"].text() or None,
            "conclusion": job["conclusion"].text() or None,
            "runner": runner or None,
        },
        links=[(VIEW, job["html_url"].url())],
    )


def check_run(p: Node) -> Rendering:
    run = p["check_run"]
    name = one_line(run["name"].text(), 100) or "check"
    branch = run["check_suite"]["head_branch"].text()
    action = p["action"].text()
    phrase, icon, severity = run_state(p, run)
    if action == "rerequested":
        phrase, icon, severity = "was re-run", "🔄", "info"
    elif action == "requested_action":
        identifier = one_line(p["requested_action"]["identifier"].text(), 60)
        phrase, icon, severity = f"had action {identifier or 'an action'} requested", "✋", "info"
    output = run["output"]
    app = one_line(run["app"]["name"].text(), 100)
    prs = [pr["number"].integer() for pr in run["pull_requests"].items()]
    return Rendering(
        title=f"Check {name} {phrase}" + (f" on {branch}" if branch else ""),
        icon=icon,
        channel=CHANNEL,
        severity=severity,
        description=paragraphs(
            f"**{one_line(output['title'].text(), 200)}**" if output["title"].text().strip() else None,
            quote(output["summary"].text(), 800),
            f"By {app} on {code(short_sha(run['head_sha'].text()))}" if app else None,
        ),
        tags={
            "check": name,
            "app": app or None,
            "branch": branch or None,
            "status": run["status"].text() or None,
            "conclusion": run["conclusion"].text() or None,
            "pr": next((number for number in prs if number is not None), None),
        },
        links=[(VIEW, run["html_url"].url()), ("Details", run["details_url"].url())],
    )


def check_suite(p: Node) -> Rendering:
    suite = p["check_suite"]
    app = one_line(suite["app"]["name"].text(), 100) or "an app"
    branch = suite["head_branch"].text()
    sha = suite["head_sha"].text()
    phrase, icon, severity = run_state(p, suite)
    if p["action"].text() == "rerequested":
        phrase, icon, severity = "were re-run", "🔄", "info"
    runs = suite["latest_check_runs_count"].integer()
    return Rendering(
        title=f"Checks by {app} {phrase}" + (f" on {branch}" if branch else ""),
        icon=icon,
        channel=CHANNEL,
        severity=severity,
        description=paragraphs(commit_line(suite["head_commit"]), plural(runs, "check run") if runs else None),
        tags={
            "app": app,
            "branch": branch or None,
            "status": suite["status"].text() or None,
            "conclusion": suite["conclusion"].text() or None,
        },
        links=[(VIEW, repo_url(p, "commit", sha, "checks") if sha else None)],
    )


STATES: dict[str, tuple[str, str, Severity]] = {
    "success": ("succeeded", "✅", "info"),
    "failure": ("failed", "❌", "warning"),
    "error": ("errored", "💥", "warning"),
    "pending": ("is pending", "⏳", "info"),
}


def status(p: Node) -> Rendering:
    state = p["state"].text()
    phrase, icon, severity = STATES.get(state, (f"is {words(state) or 'updated'}", "⏳", "info"))
    context = one_line(p["context"].text(), 100) or "status"
    sha = short_sha(p["sha"].text())
    branches = [one_line(branch["name"].text(), 100) for branch in p["branches"].items()]
    branch = branches[0] if len(branches) == 1 else ""
    message = one_line(p["commit"]["commit"]["message"].text().split("\n", 1)[0], 120)
    return Rendering(
        title=f"Status {context} {phrase} on " + (f"{branch} ({sha})" if branch else sha or "a commit"),
        icon=icon,
        channel=CHANNEL,
        severity=severity,
        description=paragraphs(
            quote(p["description"].text(), 400), f"{code(sha)} {link(message, None)}" if message else None
        ),
        tags={"context": context, "state": state or None, "sha": sha or None, "branch": branch or None},
        links=[("Details", p["target_url"].url()), (VIEW, p["commit"]["html_url"].url())],
    )


def workflow_dispatch(p: Node) -> Rendering:
    path = p["workflow"].text()
    workflow = one_line(path.rsplit("/", 1)[-1], 100) or "a workflow"
    branch = ref_name(p["ref"].text())
    inputs = p["inputs"]
    lines = [f"{code(key, 60)}: {input_value(inputs[key])}" for key in inputs.keys()[:10]]
    return Rendering(
        title=f"{sender(p)} ran workflow {workflow}" + (f" on {branch}" if branch else ""),
        icon="▶️",
        channel=CHANNEL,
        description=paragraphs("Inputs:\n" + bullets(lines, len(inputs.keys())) if lines else None),
        tags={"workflow": workflow, "branch": branch or None},
        links=[(VIEW, repo_url(p, "actions"))],
    )


def input_value(value: Node) -> str:
    """A dispatch input as inline code; inputs are strings, numbers or booleans, anything else is elided."""
    if isinstance(value.value, str):
        return code(value.value, 200) or "(empty)"
    if isinstance(value.value, bool | int | float):
        return code(msgspec.json.encode(value.value).decode())
    return "…"


def repository_dispatch(p: Node) -> Rendering:
    kind = one_line(p["action"].text(), 100) or "event"
    branch = one_line(p["branch"].text(), 100)
    keys = [code(key, 60) for key in p["client_payload"].keys()[:20]]
    return Rendering(
        title=f"{sender(p)} sent repository dispatch {kind}" + (f" to {branch}" if branch else ""),
        icon="📨",
        channel=CHANNEL,
        description=paragraphs("Client payload: " + ", ".join(keys) if keys else None),
        tags={"branch": branch or None},
        links=[(VIEW, repo_url(p, "actions"))],
    )
