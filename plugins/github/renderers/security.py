"""Security: code scanning, Dependabot, vulnerability and secret scanning alerts, advisories, deploy keys and
branch protection.

An alert that opens (or reopens) takes its severity from the advisory: critical stays critical, high and
moderate are warnings, low is info. Alerts that close are info, and so is an old alert seen on one more branch
(`appeared_in_branch`: every branch made from one with open alerts would warn once per alert). A leaked secret
is critical when it is found, found again, found in public, or checked by GitHub and still works.
"""

from __future__ import annotations

from ..event import Rendering, Severity
from ..node import Node
from ..text import code, link, number_ref, one_line, paragraphs, quote, ref_name, words
from .common import VIEW, repo_url, sender

CHANNEL = "security"

LEVELS: dict[str, Severity] = {"critical": "critical", "high": "warning", "moderate": "warning", "medium": "warning"}
OPENING = frozenset({"created", "create", "reopened", "reopen", "reopened_by_user", "auto_reopened", "reintroduced"})
RULE_LEVELS = {"error": "high", "warning": "medium", "note": "low"}


def alert_severity(action: str, level: str) -> Severity:
    if action not in OPENING:
        return "info"
    if not level:
        return "warning"  # an open alert of unknown severity deserves a look
    return LEVELS.get(level.lower(), "info")


def alert_icon(action: str) -> str:
    return "🚨" if action in OPENING else "🛡️"


def code_scanning_alert(p: Node) -> Rendering:
    alert = p["alert"]
    rule, action = alert["rule"], p["action"].text()
    level = rule["security_severity_level"].text() or RULE_LEVELS.get(rule["severity"].text(), "")
    number = alert["number"].integer()
    tool = one_line(alert["tool"]["name"].text(), 60)
    branch = ref_name(p["ref"].text())
    return Rendering(
        title=f"Code scanning alert{number_ref(number)} {words(action) or 'updated'}: "
        + (one_line(rule["description"].text(), 160) or one_line(rule["id"].text(), 100)),
        icon=alert_icon(action),
        channel=CHANNEL,
        severity=alert_severity(action, level),
        description=paragraphs(
            f"Rule {code(rule['id'].text())}"
            + (f" by {tool}" if tool else "")
            + (f", severity {code(level)}" if level else ""),
            f"On {code(branch)}" if branch else None,
        ),
        tags={
            "alert": number,
            "rule": one_line(rule["id"].text(), 100) or None,
            "tool": tool or None,
            "level": level or None,
            "branch": branch or None,
        },
        links=[(VIEW, alert["html_url"].url())],
    )


def dependabot_alert(p: Node) -> Rendering:
    alert, action = p["alert"], p["action"].text()
    advisory, vulnerability = alert["security_advisory"], alert["security_vulnerability"]
    level = advisory["severity"].text() or vulnerability["severity"].text()
    package = alert["dependency"]["package"]
    name = one_line(package["name"].text() or vulnerability["package"]["name"].text(), 100) or "a dependency"
    patched = vulnerability["first_patched_version"]["identifier"].text()
    manifest = alert["dependency"]["manifest_path"].text()
    return Rendering(
        title=f"Dependabot alert{number_ref(alert['number'].integer())} {words(action) or 'updated'} for {name}: "
        + one_line(advisory["summary"].text(), 160),
        icon="✅" if action in ("fixed", "auto_dismissed", "dismissed") else alert_icon(action),
        channel=CHANNEL,
        severity=alert_severity(action, level),
        description=paragraphs(
            f"Vulnerable: {code(vulnerability['vulnerable_version_range'].text())}"
            + (f", fixed in {code(patched)}" if patched else ""),
            f"In {code(manifest)}" if manifest else None,
            quote(alert["dismissed_comment"].text(), 400),
        ),
        tags={
            "alert": alert["number"].integer(),
            "package": name,
            "ecosystem": package["ecosystem"].text() or None,
            "level": level or None,
            "ghsa": advisory["ghsa_id"].text() or None,
        },
        links=[(VIEW, alert["html_url"].url())],
    )


VULNERABILITY_ACTIONS = {"create": "opened", "reopen": "reopened", "dismiss": "dismissed", "resolve": "resolved"}


def repository_vulnerability_alert(p: Node) -> Rendering:
    alert, action = p["alert"], p["action"].text()
    name = one_line(alert["affected_package_name"].text(), 100) or "a dependency"
    identifier = one_line(alert["external_identifier"].text() or alert["ghsa_id"].text(), 60)
    level = alert["severity"].text()
    fixed = alert["fixed_in"].text()
    return Rendering(
        title=f"Vulnerability alert {VULNERABILITY_ACTIONS.get(action, words(action) or 'updated')} for {name}"
        + (f" ({identifier})" if identifier else ""),
        icon=alert_icon(action),
        channel=CHANNEL,
        severity=alert_severity(action, level),
        description=paragraphs(
            f"Affected: {code(alert['affected_range'].text())}" + (f", fixed in {code(fixed)}" if fixed else ""),
            link("Advisory", alert["external_reference"].url()) if alert["external_reference"].url() else None,
        ),
        tags={"package": name, "level": level or None, "advisory": identifier or None},
        links=[("Advisory", alert["external_reference"].url()), (VIEW, repo_url(p, "security"))],
    )


def security_advisory(p: Node) -> Rendering:
    advisory = p["security_advisory"]
    ghsa = one_line(advisory["ghsa_id"].text(), 60)
    cves = [item["value"].text() for item in advisory["identifiers"].items() if item["type"].text() == "CVE"]
    packages = list(
        dict.fromkeys(
            code(f"{item['package']['ecosystem'].text()}/{item['package']['name'].text()}", 80)
            for item in advisory["vulnerabilities"].items()[:10]
        )
    )
    return Rendering(
        title=f"Security advisory {ghsa} {words(p['action'].text()) or 'updated'}: "
        + one_line(advisory["summary"].text(), 180),
        icon="📢",
        channel=CHANNEL,
        description=paragraphs(
            quote(advisory["description"].text(), 1000), "Affects " + ", ".join(packages) if packages else None
        ),
        tags={
            "ghsa": ghsa or None,
            "cve": one_line(cves[0], 60) if cves else None,
            "level": advisory["severity"].text() or None,
        },
        links=[(VIEW, advisory["html_url"].url())]
        + [("Reference", item["url"].url()) for item in advisory["references"].items()[:2]],
    )


def secret_scanning_alert(p: Node) -> Rendering:
    alert, action = p["alert"], p["action"].text()
    kind = one_line(alert["secret_type_display_name"].text() or alert["secret_type"].text(), 100) or "secret"
    validity = alert["validity"].text()
    live = action in OPENING or action == "publicly_leaked" or (action == "validated" and validity == "active")
    return Rendering(
        title=f"Secret scanning alert{number_ref(alert['number'].integer())} {words(action) or 'updated'}: {kind}",
        icon="🔑" if live else "🛡️",
        channel=CHANNEL,
        severity="critical" if live else "info",
        description=paragraphs(
            f"Resolved as {code(alert['resolution'].text())}" if alert["resolution"].text() else None,
            f"Validity: {code(validity)}" if validity else None,
        ),
        tags={"alert": alert["number"].integer(), "secret_type": kind},
        links=[(VIEW, alert["html_url"].url())],
    )


def deploy_key(p: Node) -> Rendering:
    key, action = p["key"], p["action"].text()
    name = one_line(key["title"].text(), 100) or "a deploy key"
    writable = action == "created" and key["read_only"].value is False
    access = "read-only" if key["read_only"].flag() else "read-write" if key["read_only"].value is False else ""
    return Rendering(
        title=f"{sender(p)} {'added' if action == 'created' else words(action) or 'changed'} deploy key {name}"
        + (f" ({access})" if access else ""),
        icon="🔑",
        channel=CHANNEL,
        severity="warning" if writable else "info",
        description="This key can push to the repository." if writable else None,
        tags={"key": name, "read_only": key["read_only"].flag()},
        links=[(VIEW, repo_url(p, "settings/keys"))],
    )


def branch_protection_rule(p: Node) -> Rendering:
    rule, action = p["rule"], p["action"].text()
    name = one_line(rule["name"].text(), 100)
    changed = [code(key, 60) for key in p["changes"].keys()[:20]]
    return Rendering(
        title=f"{sender(p)} {words(action) or 'changed'} branch protection rule {name}".rstrip(),
        icon="🔒",
        channel=CHANNEL,
        severity="warning" if action == "deleted" else "info",
        description=paragraphs("Changed: " + ", ".join(changed) if changed else None),
        tags={"rule": name or None},
        links=[(VIEW, repo_url(p, "settings/branches"))],
    )
