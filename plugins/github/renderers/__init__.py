"""Which renderer handles which `X-GitHub-Event`; every other event type gets the generic rendering."""

from __future__ import annotations

from collections.abc import Callable

from hub.pluginapi import EventIn

from ..event import Rendering, build_event
from ..node import Node
from . import ci, code, community, deploys, issues, org, pulls, releases, security
from .generic import generic

Renderer = Callable[[Node], Rendering]

RENDERERS: dict[str, Renderer] = {
    # code
    "push": code.push,
    "create": code.create,
    "delete": code.delete,
    "commit_comment": code.commit_comment,
    "gollum": code.gollum,
    # pull requests
    "pull_request": pulls.pull_request,
    "pull_request_review": pulls.pull_request_review,
    "pull_request_review_comment": pulls.pull_request_review_comment,
    "pull_request_review_thread": pulls.pull_request_review_thread,
    "merge_group": pulls.merge_group,
    # issues, discussions, planning
    "issues": issues.issues,
    "issue_comment": issues.issue_comment,
    "discussion": issues.discussion,
    "discussion_comment": issues.discussion_comment,
    "label": issues.label,
    "milestone": issues.milestone,
    "project": issues.project,
    "project_card": issues.project_card,
    "project_column": issues.project_column,
    "projects_v2": issues.projects_v2,
    "projects_v2_item": issues.projects_v2_item,
    # CI
    "workflow_run": ci.workflow_run,
    "workflow_job": ci.workflow_job,
    "check_run": ci.check_run,
    "check_suite": ci.check_suite,
    "status": ci.status,
    "workflow_dispatch": ci.workflow_dispatch,
    "repository_dispatch": ci.repository_dispatch,
    # deployments
    "deployment": deploys.deployment,
    "deployment_status": deploys.deployment_status,
    "deployment_review": deploys.deployment_review,
    "page_build": deploys.page_build,
    # releases
    "release": releases.release,
    "package": releases.package,
    "registry_package": releases.registry_package,
    # security
    "code_scanning_alert": security.code_scanning_alert,
    "dependabot_alert": security.dependabot_alert,
    "repository_vulnerability_alert": security.repository_vulnerability_alert,
    "security_advisory": security.security_advisory,
    "secret_scanning_alert": security.secret_scanning_alert,
    "deploy_key": security.deploy_key,
    "branch_protection_rule": security.branch_protection_rule,
    # community
    "star": community.star,
    "watch": community.watch,
    "fork": community.fork,
    "sponsorship": community.sponsorship,
    # the hook, the repository, people and apps
    "ping": org.ping,
    "meta": org.meta,
    "repository": org.repository,
    "public": org.public,
    "repository_import": org.repository_import,
    "member": org.member,
    "membership": org.membership,
    "organization": org.organization,
    "org_block": org.org_block,
    "team": org.team,
    "team_add": org.team_add,
    "installation": org.installation,
    "installation_repositories": org.installation_repositories,
    "github_app_authorization": org.github_app_authorization,
    "marketplace_purchase": org.marketplace_purchase,
}


def render(name: str, payload: Node) -> EventIn:
    """The event for one delivery of GitHub event `name`."""
    renderer = RENDERERS.get(name)
    rendering = renderer(payload) if renderer else generic(name, payload)
    return build_event(name, payload, rendering)
