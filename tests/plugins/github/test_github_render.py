"""Every example delivery becomes one readable event; the common events read the way a person expects."""

from __future__ import annotations

import json
import re

import msgspec
import pytest

CHANNELS = {"code", "pulls", "issues", "ci", "deploys", "releases", "security", "community", "github"}
TAG_KEY = re.compile(r"^[a-z0-9_-]{1,64}$")
MAX_CONTENT_BYTES = 64 * 1024


def test_all_58_event_types_have_an_example(payloads):
    assert len(payloads) == 58


def test_each_example_renders_one_valid_event(fixture_path, deliver, check):
    body = fixture_path.read_bytes()
    name = fixture_path.name.split(".", 1)[0]
    payload = json.loads(body)

    delivery = deliver(name, body)

    assert len(delivery.events) == 1
    event = check(delivery.events[0])
    repo = (payload.get("repository") or {}).get("full_name")
    assert 0 < len(event.event) <= 250
    assert "\n" not in event.event
    if repo:
        assert event.event.startswith(f"[{repo}] ")
    assert not event.event.startswith("GitHub "), "every example type has a specific rendering"
    assert event.icon and event.icon != "🐙"
    assert event.channel in CHANNELS
    assert event.severity in ("info", "warning", "critical")
    assert event.notify == (event.severity != "info")
    assert event.parser == "markdown"
    assert event.description is None or len(event.description) <= 4000
    assert len(event.tags) <= 32
    assert all(TAG_KEY.match(key) for key in event.tags)
    assert event.tags["event"] == name
    if payload.get("action"):
        assert event.tags["action"] == payload["action"]
    if repo:
        assert event.tags["repo"] == repo
    if (payload.get("sender") or {}).get("login"):
        assert event.tags["sender"] == payload["sender"]["login"]
    assert len(msgspec.json.encode(event.content)) <= MAX_CONTENT_BYTES
    assert all(action.external and action.url.startswith("https://") for action in event.actions)
    assert len({action.url for action in event.actions}) == len(event.actions)


def test_content_is_a_readable_subset_without_api_urls(render, payload):
    event = render("pull_request", payload("pull_request"))

    assert event.content["pull_request"]["title"] == "Update the README with new information."
    assert event.content["pull_request"]["html_url"] == "https://github.com/Codertocat/Hello-World/pull/2"
    assert event.content["repository"] == {
        "full_name": "Codertocat/Hello-World",
        "html_url": "https://github.com/Codertocat/Hello-World",
        "private": False,
        "default_branch": "master",
        "stargazers_count": 0,
        "forks_count": 0,
    }
    assert event.content["sender"] == {
        "login": "Codertocat",
        "type": "User",
        "html_url": "https://github.com/Codertocat",
    }
    encoded = msgspec.json.encode(event.content).decode()
    assert "api.github.com" not in encoded
    assert "node_id" not in encoded


def test_oversized_payload_keeps_a_curated_subset(render, payload):
    body = payload("pull_request")
    body["pull_request"]["body"] = "word " * 100_000
    body["pull_request"]["labels"] = [{"name": f"label-{i}", "color": "ededed"} for i in range(5000)]
    body["pull_request"]["title"] = "T" * 5000

    event = render("pull_request", body)

    assert len(msgspec.json.encode(event.content)) <= MAX_CONTENT_BYTES
    assert event.content["pull_request"]["number"] == 2
    assert len(event.content["pull_request"]["labels"]) < 5000
    assert len(event.event) <= 250
    assert len(event.description) <= 4000


# push


def commit(number: int, message: str) -> dict[str, object]:
    sha = f"{number:040x}"
    return {
        "id": sha,
        "message": message,
        "url": f"https://github.com/Codertocat/Hello-World/commit/{sha}",
        "author": {"name": "Codertocat", "username": "Codertocat"},
    }


def branch_push(payload, count: int, **changes: object) -> dict[str, object]:
    body = payload("push")
    body.update(
        {
            "ref": "refs/heads/main",
            "created": False,
            "before": "a" * 40,
            "compare": "https://github.com/Codertocat/Hello-World/compare/aaaaaaa...6113728",
            "commits": [commit(i, f"Change number {i}\n\nLonger explanation") for i in range(1, count + 1)],
        }
        | changes
    )
    return body


def test_push_to_a_branch_lists_commits_and_links_the_comparison(render, payload):
    event = render("push", branch_push(payload, 7))

    assert event.event == "[Codertocat/Hello-World] Codertocat pushed 7 commits to main"
    assert event.icon == "⬆️"
    assert event.channel == "code"
    assert event.tags | {"branch": "main", "commits": 7, "forced": False} == event.tags
    for i in range(1, 6):
        assert f"Change number {i}" in event.description
    assert "Change number 6" not in event.description
    assert "…and 2 more" in event.description
    assert "Longer explanation" not in event.description
    assert event.actions[0].label == "Compare changes"
    assert event.actions[0].url.endswith("/compare/aaaaaaa...6113728")


def test_single_commit_push_and_force_push(render, payload):
    assert render("push", branch_push(payload, 1)).event.endswith("pushed 1 commit to main")
    forced = render("push", branch_push(payload, 2, forced=True))
    assert forced.event.endswith("force-pushed 2 commits to main")
    assert forced.tags["forced"] is True


def test_tag_push(render, payload):
    event = render("push", payload("push"))

    assert event.event == "[Codertocat/Hello-World] Codertocat pushed tag simple-tag"
    assert event.icon == "🏷️"
    assert event.tags["tag"] == "simple-tag"
    assert "branch" not in event.tags
    assert "Adding a .gitignore file" in event.description


def test_branch_delete(render, payload):
    body = branch_push(payload, 0, ref="refs/heads/feature/login", deleted=True, after="0" * 40)

    event = render("push", body)

    assert event.event == "[Codertocat/Hello-World] Codertocat deleted branch feature/login"
    assert event.icon == "🗑️"
    assert event.tags["branch"] == "feature/login"


def test_new_branch_push(render, payload):
    event = render("push", branch_push(payload, 2, created=True))

    assert event.event.endswith("created branch main with 2 commits")
    assert event.icon == "🌱"


# pull requests


def closed_pr(payload, merged: bool) -> dict[str, object]:
    body = payload("pull_request")
    body["action"] = "closed"
    body["pull_request"].update(state="closed", merged=merged)
    if merged:
        body["pull_request"]["merged_by"] = {"login": "octocat", "type": "User"}
    return body


def test_pull_request_opened(render, payload):
    event = render("pull_request", payload("pull_request"))

    assert event.event == "[Codertocat/Hello-World] Codertocat opened PR #2: Update the README with new information."
    assert event.icon == "🔀"
    assert event.channel == "pulls"
    assert event.tags | {"pr": 2, "branch": "changes", "base": "master"} == event.tags
    assert "> This is a pretty simple change" in event.description
    assert "`changes` → `master`" in event.description
    assert event.actions[0].label == "View on GitHub"
    assert event.actions[0].url == "https://github.com/Codertocat/Hello-World/pull/2"


def test_pull_request_merged(render, payload):
    event = render("pull_request", closed_pr(payload, merged=True))

    assert event.event == "[Codertocat/Hello-World] octocat merged PR #2: Update the README with new information."
    assert event.icon == "🎉"
    assert event.tags["merged"] is True


def test_pull_request_closed_without_merging(render, payload):
    event = render("pull_request", closed_pr(payload, merged=False))

    assert event.event == (
        "[Codertocat/Hello-World] Codertocat closed PR #2 without merging: Update the README with new information."
    )
    assert event.icon == "🚫"
    assert event.tags["merged"] is False


@pytest.mark.parametrize(
    ("action", "extra", "expected"),
    [
        (
            "review_requested",
            {"requested_reviewer": {"login": "hubot", "type": "User"}},
            "requested a review from hubot",
        ),
        (
            "review_requested",
            {"requested_team": {"name": "backend", "slug": "backend"}},
            "requested a review from backend",
        ),
        ("reopened", {}, "reopened PR #2"),
        ("ready_for_review", {}, "marked PR #2 ready for review: Update"),
        ("converted_to_draft", {}, "converted PR #2 to a draft: Update"),
        ("synchronize", {}, "pushed new commits to PR #2"),
        ("labeled", {"label": {"name": "bug"}}, "added label bug to PR #2: Update"),
        ("milestoned", {"milestone": {"title": "v2"}}, "added PR #2 to milestone v2: Update"),
        ("assigned", {"assignee": {"login": "hubot", "type": "User"}}, "assigned hubot to PR #2"),
        ("some_future_action", {}, "some future action PR #2"),
    ],
)
def test_pull_request_actions(render, payload, action, extra, expected):
    body = payload("pull_request") | {"action": action, **extra}

    assert expected in render("pull_request", body).event


def test_pull_request_review_approved(render, payload):
    body = payload("pull_request_review")
    body["review"]["state"] = "approved"

    event = render("pull_request_review", body)

    assert "Codertocat approved PR #2" in event.event
    assert event.icon == "✅"
    assert event.tags["review"] == "approved"


def test_comment_on_a_pull_request_is_tagged_as_one(render, payload):
    body = payload("issue_comment")
    body["issue"]["pull_request"] = {"html_url": "https://github.com/Codertocat/Hello-World/pull/1"}

    event = render("issue_comment", body)

    assert "commented on PR #1" in event.event
    assert event.tags["pr"] == 1
    assert "issue" not in event.tags
    assert event.channel == "pulls"  # with the pull request's other talk, where a rule for `pulls` finds it


@pytest.mark.parametrize(
    ("event_name", "item", "action", "expected"),
    [
        ("pull_request_review", "review", "dismissed", "moderator-bob dismissed a review on PR #2"),
        ("pull_request_review", "review", "submitted", "Codertocat reviewed PR #2"),
        ("pull_request_review_comment", "comment", "deleted", "moderator-bob deleted a comment on PR #2"),
        ("issue_comment", "comment", "edited", "moderator-bob edited a comment on issue #1"),
        ("issue_comment", "comment", "created", "Codertocat commented on issue #1"),
        ("discussion_comment", "comment", "deleted", "moderator-bob deleted a comment on discussion #90"),
    ],
)
def test_a_comment_or_review_changed_by_someone_else_names_who_changed_it(
    render, payload, event_name, item, action, expected
):
    """A maintainer deleting another's comment, or dismissing another's review: the title named the author."""
    body = payload(event_name)
    body["action"] = action
    body["sender"]["login"] = "moderator-bob"
    body[item]["user"]["login"] = "Codertocat"

    assert expected in render(event_name, body).event


def test_a_release_is_published_by_its_sender_not_its_author(render, payload):
    """A draft made by a bot and published by a person: the person published it."""
    body = payload("release")
    body["release"]["author"]["login"] = "github-actions[bot]"
    body["sender"]["login"] = "alice"

    assert render("release", body).event == "[Codertocat/Hello-World] alice published release 0.0.1"


@pytest.mark.parametrize(
    ("action", "sender", "expected"),
    [
        ("member_added", "Codertocat", "hacktocat joined the organization"),
        ("member_removed", "hacktocat", "hacktocat left the organization"),
        ("member_removed", "Codertocat", "Codertocat removed hacktocat from the organization"),
        ("member_invited", "Codertocat", "Codertocat invited hacktocat to the organization"),
    ],
)
def test_organization_members_come_leave_and_are_removed(render, payload, action, sender, expected):
    body = payload("organization")
    body["action"] = action
    body["sender"]["login"] = sender

    assert render("organization", body).event.endswith(expected)


def test_issue_closed_as_not_planned(render, payload):
    body = payload("issues")
    body["action"] = "closed"
    body["issue"].update(state="closed", state_reason="not_planned")

    event = render("issues", body)

    assert event.event.endswith("closed issue #1: Spelling error in the README file as not planned")
    assert event.icon == "✅"
    assert event.tags["issue"] == 1


# CI


def finished_run(payload, conclusion: str) -> dict[str, object]:
    body = payload("workflow_run")
    body["workflow_run"].update(status="completed", conclusion=conclusion)
    return body


def test_workflow_run_failure_is_a_warning_that_notifies(render, payload):
    event = render("workflow_run", finished_run(payload, "failure"))

    assert event.event == "[Codertocat/Hello-World] Workflow Manually triggered workflow failed on main (#36)"
    assert event.icon == "❌"
    assert event.channel == "ci"
    assert event.severity == "warning"
    assert event.notify is True
    assert event.tags | {"workflow": "Manually triggered workflow", "conclusion": "failure", "branch": "main"} == (
        event.tags
    )
    assert event.actions[0].url == "https://github.com/octo-org/octo-repo/actions/runs/1589141559"


@pytest.mark.parametrize(
    ("conclusion", "severity", "phrase"),
    [
        ("success", "info", "succeeded"),
        ("timed_out", "warning", "timed out"),
        ("startup_failure", "warning", "failed to start"),
        ("cancelled", "info", "was cancelled"),
        ("skipped", "info", "was skipped"),
    ],
)
def test_workflow_run_conclusions(render, payload, conclusion, severity, phrase):
    event = render("workflow_run", finished_run(payload, conclusion))

    assert f"Workflow Manually triggered workflow {phrase} on main" in event.event
    assert event.severity == severity
    assert event.notify is (severity != "info")


@pytest.mark.parametrize("event_name", ["workflow_run", "workflow_job"])
def test_a_run_waiting_for_approval_is_a_warning(render, payload, event_name):
    body = payload(event_name)
    key = "workflow_run" if event_name == "workflow_run" else "workflow_job"
    body["action"] = "waiting" if event_name == "workflow_job" else "requested"
    body[key].update(status="waiting", conclusion=None)

    event = render(event_name, body)

    assert "is waiting for approval" in event.event
    assert (event.severity, event.notify) == ("warning", True)


@pytest.mark.parametrize(
    ("conclusion", "severity", "icon"),
    [
        ("success", "info", "✅"),
        ("failure", "warning", "❌"),
        ("timed_out", "warning", "⏰"),
        ("neutral", "info", "⚪"),
    ],
)
def test_check_run_completed(render, payload, conclusion, severity, icon):
    body = payload("check_run")
    body["action"] = "completed"
    body["check_run"].update(
        status="completed",
        conclusion=conclusion,
        output={"title": "3 problems", "summary": "Line 4: trailing space", "annotations_count": 3},
    )

    event = render("check_run", body)

    assert event.event.startswith("[Codertocat/Hello-World] Check Octocoders-linter ")
    assert event.event.endswith(" on changes")
    assert event.severity == severity
    assert event.icon == icon
    assert event.tags | {"check": "Octocoders-linter", "conclusion": conclusion, "pr": 2} == event.tags
    assert "**3 problems**" in event.description
    assert [action.label for action in event.actions] == ["View on GitHub", "Details"]


def test_check_run_queued_example(render, payload):
    event = render("check_run", payload("check_run"))

    assert event.event == "[Codertocat/Hello-World] Check Octocoders-linter is queued on changes"
    assert event.severity == "info"


def test_check_suite_failure(render, payload):
    body = payload("check_suite")
    body["check_suite"]["conclusion"] = "failure"

    event = render("check_suite", body)

    assert event.event == "[Codertocat/Hello-World] Checks by octocoders-linter failed on changes"
    assert event.severity == "warning"
    assert event.tags["conclusion"] == "failure"


def test_check_suite_success_example(render, payload):
    event = render("check_suite", payload("check_suite"))

    assert event.event == "[Codertocat/Hello-World] Checks by octocoders-linter succeeded on changes"
    assert event.severity == "info"


def test_commit_status_failure(render, payload):
    body = payload("status") | {"state": "failure", "target_url": "https://ci.example.com/build/1"}

    event = render("status", body)

    assert event.event == "[Codertocat/Hello-World] Status default failed on 6113728"
    assert event.severity == "warning"
    assert event.actions[0].label == "Details"


# releases, deployments, community


def test_release_published(render, payload):
    event = render("release", payload("release"))

    assert event.event == "[Codertocat/Hello-World] Codertocat published release 0.0.1"
    assert event.icon == "🚀"
    assert event.channel == "releases"
    assert event.tags | {"tag": "0.0.1", "prerelease": False} == event.tags
    assert event.actions[0].url == "https://github.com/Codertocat/Hello-World/releases/tag/0.0.1"


def test_prerelease_with_notes(render, payload):
    body = payload("release")
    body["action"] = "prereleased"
    body["release"].update(prerelease=True, name="v1.0 beta", body="## Changes\n- faster")

    event = render("release", body)

    assert event.event == "[Codertocat/Hello-World] Codertocat published pre-release v1.0 beta"
    assert "> ## Changes" in event.description
    assert event.tags["prerelease"] is True


@pytest.mark.parametrize(
    ("state", "severity", "phrase"),
    [
        ("success", "info", "succeeded"),
        ("failure", "critical", "failed"),
        ("error", "critical", "errored"),
        ("in_progress", "info", "is in progress"),
    ],
)
def test_deployment_status(render, payload, state, severity, phrase):
    body = payload("deployment_status")
    body["deployment_status"].update(
        state=state, log_url="https://example.com/logs/1", environment_url="https://app.example.com"
    )

    event = render("deployment_status", body)

    assert event.event == f"[Codertocat/Hello-World] Deployment of master to production {phrase}"
    assert event.channel == "deploys"
    assert event.severity == severity
    assert event.notify is (severity != "info")
    assert event.tags | {"environment": "production", "state": state} == event.tags
    assert [action.label for action in event.actions[:2]] == ["Open environment", "View logs"]


def test_star(render, payload):
    event = render("star", payload("star"))

    assert event.event == "[Codertocat/Hello-World] Codertocat starred the repository (1 star now)"
    assert event.icon == "⭐"
    assert event.channel == "community"
    assert event.tags["stars"] == 1


def test_unstar(render, payload):
    body = payload("star") | {"action": "deleted"}

    assert "Codertocat unstarred the repository" in render("star", body).event


def test_fork(render, payload):
    event = render("fork", payload("fork"))

    assert event.event == "[Codertocat/Hello-World] Octocoders forked the repository to Octocoders/Hello-World"
    assert event.icon == "🍴"
    assert event.tags["fork"] == "Octocoders/Hello-World"
    assert event.actions[0].url == "https://github.com/Octocoders/Hello-World"


# security


def test_critical_dependabot_alert_is_critical(render, payload):
    body = payload("dependabot_alert")
    body["action"] = "created"
    body["alert"]["security_advisory"]["severity"] = "critical"

    event = render("dependabot_alert", body)

    assert event.severity == "critical"
    assert event.icon == "🚨"
    assert event.channel == "security"


def test_a_dependabot_alert_reopened_by_dependabot_is_as_severe_as_its_advisory(render, payload):
    body = payload("dependabot_alert")
    body["action"] = "auto_reopened"
    body["alert"]["security_advisory"]["severity"] = "critical"

    assert render("dependabot_alert", body).severity == "critical"


def test_a_code_scanning_alert_seen_on_one_more_branch_is_info(render, payload):
    """Every branch made from one with open alerts sends `appeared_in_branch` for each: a warning each was noise."""
    body = payload("code_scanning_alert")
    body["action"] = "appeared_in_branch"

    assert render("code_scanning_alert", body).severity == "info"


def test_fixed_dependabot_alert_is_info(render, payload):
    event = render("dependabot_alert", payload("dependabot_alert"))

    assert event.severity == "info"
    assert event.tags["package"] == "ansible"


def test_write_deploy_key_is_a_warning(render, payload):
    body = payload("deploy_key")
    body["key"]["read_only"] = False

    event = render("deploy_key", body)

    assert event.severity == "warning"
    assert "(read-write)" in event.event


# the hook itself, and event types without a rendering


def test_ping_is_answered_and_stored(deliver, payloads, check):
    delivery = deliver("ping", payloads["ping"])

    assert delivery.reply == {"ok": True, "zen": "Anything added dilutes everything else.", "hook_id": 109948940}
    event = check(delivery.events[0])
    assert event.event == "[Octocoders/Hello-World] Webhook connected (hook 109948940)"
    assert "Anything added dilutes everything else." in event.description


def test_other_events_have_no_reply(deliver, payloads):
    assert deliver("star", payloads["star"]).reply is None


def test_delivery_id_is_githubs_delivery_guid(make_request, sign, payloads):
    from hub_plugins.github.source import GitHubSource

    body = json.dumps(payloads["star"]).encode()
    request = make_request(body, sign(body, "star", delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958"))

    assert GitHubSource().parse(request).delivery_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def test_unknown_event_type_gets_a_generic_event(render, payload):
    body = payload("team_add") | {"action": "created", "custom_field": {"x": 1}}

    event = render("custom_property_values", body)

    assert event.event == "[Octocoders/Hello-World] GitHub custom_property_values: created by Octocoders"
    assert event.icon == "🐙"
    assert event.channel == "github"
    assert event.tags | {"event": "custom_property_values", "action": "created"} == event.tags
    assert "`custom_field`" in event.description
    assert event.content["custom_field"] == {"x": 1}


def test_unknown_event_without_repository_or_action(render):
    event = render("brand_new_event", {"something": [1, 2, 3]})

    assert event.event == "GitHub brand_new_event by someone"
    assert event.content == {"something": [1, 2, 3]}
    assert event.actions == []


def test_leaked_secret_is_critical(render, payloads):
    body = {
        "action": "created",
        "alert": {
            "number": 3,
            "secret_type": "github_personal_access_token",
            "secret_type_display_name": "GitHub Personal Access Token",
            "html_url": "https://github.com/Codertocat/Hello-World/security/secret-scanning/3",
        },
        "repository": payloads["star"]["repository"],
        "sender": payloads["star"]["sender"],
    }

    event = render("secret_scanning_alert", body)

    assert event.event == ("[Codertocat/Hello-World] Secret scanning alert #3 created: GitHub Personal Access Token")
    assert (event.severity, event.notify, event.icon) == ("critical", True, "🔑")
    assert event.tags["secret_type"] == "GitHub Personal Access Token"


@pytest.mark.parametrize(
    ("action", "validity", "severity"),
    [
        ("publicly_leaked", "", "critical"),
        ("validated", "active", "critical"),
        ("validated", "inactive", "info"),
        ("resolved", "active", "info"),
    ],
)
def test_a_secret_found_in_public_or_still_working_is_critical(render, payloads, action, validity, severity):
    body = {
        "action": action,
        "alert": {"number": 3, "secret_type": "github_personal_access_token", "validity": validity or None},
        "repository": payloads["star"]["repository"],
        "sender": payloads["star"]["sender"],
    }

    event = render("secret_scanning_alert", body)

    assert (event.severity, event.notify) == (severity, severity == "critical")
    assert (f"Validity: `{validity}`" in (event.description or "")) == bool(validity)


def test_registry_package_reads_like_package(render, payload):
    body = payload("package")
    body["registry_package"] = body.pop("package")

    event = render("registry_package", body)

    assert event.event == "[Codertocat/hello-world-npm] Codertocat published package hello-world-npm 1.0.0"
    assert event.tags["version"] == "1.0.0"
