"""Slack interactive buttons: Slack POSTs a click here, the hub runs the action and answers via `response_url`.

Active when `[plugins.slack] signing_secret` is set (otherwise 404). Every request is verified before it is
parsed: `X-Slack-Signature` is `v0=` + hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw body}` with the
signing secret, a timestamp more than five minutes away from the hub's clock is refused, and a request already
acted on is ignored (replays: a table of recent signatures). Slack wants an answer within 3 seconds, so the
handler only checks and queues: the action runs in the background, as the hub user whose email matches the Slack
user's, and the outcome is posted to the click's `response_url` through the guarded outbound client: a run
updates the card for the whole channel with the event's last runs as the hub recorded them (who ran what, when,
how it went), so nobody runs it again unknowingly; a refusal is an ephemeral message to the person who clicked.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

import msgspec
from litestar import Request, post
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.response import Response
from sqlalchemy import delete

from hub.actions.runner import AlreadyRunning, Expired, Forbidden, RunOut
from hub.api.common import hub_of
from hub.db import schema
from hub.db.dialect import insert_ignore
from hub.db.events import get_event
from hub.ids import parse_event_id
from hub.models import MAX_ACTIONS, ValidationProblem, now_utc
from hub.outbound import BlockedAddress, ResponseTooLarge
from hub.pluginapi import mrkdwn_escape

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)
PATH = "/api/v1/slack/interactivity"
TOLERANCE_SECONDS = 300
RUN_PREFIX = "hub.run."  # the `action_id` prefix plugins/slack/blocks.py gives runnable buttons
MAX_BODY = 64 * 1024
RUNS_BLOCK = "hub.runs"  # the `block_id` of the context block listing a card's runs
MAX_RUNS_SHOWN = 10  # Block Kit's limit of elements in a context block
# Of the action server's message: escaped (up to 5 characters each) with a label and a name, a run's line stays
# within Block Kit's 3,000 characters.
MAX_MESSAGE_SHOWN = 300


class Click(msgspec.Struct):
    """One button click of a `block_actions` payload, as much of it as the hub uses."""

    slack_user: str
    event_id: str
    key: str
    label: str
    response_url: str
    # The card as Slack shows it (`text`, `blocks`), to update with the run; None when Slack did not send it.
    message: dict[str, Any] | None = None


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> None:
    """Raise NotAuthorizedException unless the request carries Slack's v0 signature from the last 5 minutes."""
    if not timestamp or not signature:
        raise NotAuthorizedException("X-Slack-Request-Timestamp and X-Slack-Signature are required")
    try:
        sent = int(timestamp)
    except ValueError:
        raise NotAuthorizedException("X-Slack-Request-Timestamp must be a Unix time in seconds") from None
    if abs(now - sent) > TOLERANCE_SECONDS:
        raise NotAuthorizedException("X-Slack-Request-Timestamp is more than 5 minutes from now (a replay?)")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise NotAuthorizedException("X-Slack-Signature does not match the body (wrong signing secret?)")


async def first_time(hub: Hub, signature: str) -> bool:
    """Record a verified request; False when it was recorded before. A replay carries the same timestamp and body,
    hence the same signature, and is accepted for at most twice the tolerance after the original was first seen."""
    seen = schema.slack_requests
    now = now_utc()
    row = {"signature_digest": hashlib.sha256(signature.encode()).hexdigest(), "received_at": now}
    async with hub.db.writer.begin() as conn:
        await conn.execute(delete(seen).where(seen.c.received_at < now - timedelta(seconds=2 * TOLERANCE_SECONDS)))
        result = await conn.execute(insert_ignore(hub.db, seen, row))
    return result.rowcount == 1


def payload_of(body: bytes) -> Any:
    """The JSON Slack sends in the form field `payload`."""
    try:
        return msgspec.json.decode(parse_qs(body.decode())["payload"][0])
    except (KeyError, IndexError, UnicodeDecodeError, msgspec.DecodeError):
        raise ValidationProblem("the body must be a form with a JSON `payload` field", "payload") from None


def clicks_in(payload: Any) -> list[Click]:
    """The hub's buttons clicked in a `block_actions` payload; others are ignored."""
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return []
    user = payload.get("user") or {}
    response_url = payload.get("response_url")
    if not isinstance(user, dict) or not isinstance(response_url, str):
        return []
    message, container = payload.get("message"), payload.get("container")
    if not isinstance(message, dict) or not isinstance(message.get("blocks"), list):
        message = None
    if isinstance(container, dict) and container.get("is_ephemeral"):
        message = None
    actions = payload.get("actions")
    clicks = []
    # Anything unexpected is skipped, not a 500: the payload is signed, but its shape is Slack's to change.
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict) or not str(action.get("action_id", "")).startswith(RUN_PREFIX):
            continue
        try:
            value = msgspec.json.decode(action.get("value") or "")
            event_id, key = str(value["event"]), str(value["key"])
        except (msgspec.DecodeError, TypeError, KeyError):
            continue
        text = action.get("text")
        label = (text.get("text") if isinstance(text, dict) else None) or key
        clicks.append(Click(str(user.get("id", "")), event_id, key, str(label), response_url, message))
    return clicks


@post(PATH, status_code=200, tags=["actions"], summary="Slack interactivity: run an action from a Slack button")
async def slack_interactivity(request: Request) -> Response[bytes]:
    """For Slack only (the app's Interactivity Request URL): signed by Slack, answered at once with 200; the
    action runs in the background and its outcome is posted to the click's `response_url`."""
    hub = hub_of(request)
    settings = hub.plugins.settings.get("slack")
    secret = getattr(settings, "signing_secret", "")
    if not secret:
        raise NotFoundException("Slack interactivity is off: set [plugins.slack] signing_secret")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(status_code=413, detail=f"a Slack payload is at most {MAX_BODY} bytes")
    signature = request.headers.get("x-slack-signature")
    verify(secret, request.headers.get("x-slack-request-timestamp"), signature, body, time.time())
    clicks = clicks_in(payload_of(body))
    if signature and not await first_time(hub, signature):
        log.warning("ignored a Slack request the hub had already acted on (a replay of a signed request)")
        return Response(b"", status_code=200, media_type="text/plain")
    for click in clicks:
        hub.run_in_background(_handle(hub, settings, click))
    return Response(b"", status_code=200, media_type="text/plain")


async def _handle(hub: Hub, settings: Any, click: Click) -> None:
    try:
        outcome = await _run(hub, settings, click)
    except Exception:
        log.exception("running %s on event %s from Slack failed", click.key, click.event_id)
        outcome = f":x: {mrkdwn_escape(click.label)}: the hub could not run it (see its log)"
    text = outcome if isinstance(outcome, str) else outcome_text(click.label, outcome)
    if isinstance(outcome, RunOut) and click.message is not None:
        # Slack refuses an update it finds wrong (the card as it sent it back, say): the clicker still learns.
        if await _respond(hub, click, with_runs(click.message, await run_lines(hub, outcome))):
            return
    await _respond(hub, click, _ephemeral(text))


def _ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


async def _respond(hub: Hub, click: Click, reply: dict[str, Any]) -> bool:
    try:
        response = await hub.outbound.post(
            click.response_url,
            content=msgspec.json.encode(reply),
            headers={"Content-Type": "application/json"},
        )
    except Exception as exc:
        log.warning("could not post the outcome of %s to Slack's response_url: %s", click.key, exc)
        return False
    if response.status >= 300:
        log.warning("Slack response_url answered %s: %r", response.status, response.body[:200])
        return False
    return True


async def _run(hub: Hub, settings: Any, click: Click) -> str | RunOut:
    """The run, or why it was not run (mrkdwn, for the person who clicked)."""
    label = mrkdwn_escape(click.label)
    email = await _email_of(hub, settings, click.slack_user)
    if email is None:
        return _not_linked(label, click.slack_user)
    try:
        return await hub.actions.run_as_person(email, click.event_id, click.key, {})
    except Forbidden as exc:
        return f":no_entry: {label} was not run: {mrkdwn_escape(str(exc))}"
    except (Expired, AlreadyRunning) as exc:
        return f":hourglass: {label} was not run: {mrkdwn_escape(str(exc))}"
    except (LookupError, ValidationProblem) as exc:
        return f":x: {label} was not run: {mrkdwn_escape(str(exc))}"


def _not_linked(label: str, slack_user: str) -> str:
    return (
        f":no_entry: {label} was not run: your Slack account ({mrkdwn_escape(slack_user)}) is not linked "
        "to a hub user. Ask an admin to add it under [plugins.slack] users, or to give the hub a bot token that "
        "can read emails."
    )


def outcome_text(label: str, run: RunOut) -> str:
    if run.status == "done":
        said = run.message or "done"
        return f":white_check_mark: {mrkdwn_escape(label)}: {mrkdwn_escape(said[:MAX_MESSAGE_SHOWN])}"
    status = f" (HTTP {run.http_status})" if run.http_status else ""
    said = run.message or "the action server did not accept it"
    return f":x: {mrkdwn_escape(label)} failed{status}: {mrkdwn_escape(said[:MAX_MESSAGE_SHOWN])}"


def run_line(label: str, run: RunOut) -> str:
    """One run as the card shows it to the channel: how it went, who ran it, when (in each reader's time zone)."""
    at = run.finished_at or run.created_at
    when = f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at.isoformat(timespec='seconds')}>"
    return f"{outcome_text(label, run)} · {mrkdwn_escape(run.actor.name)} · {when}"


async def run_lines(hub: Hub, run: RunOut) -> list[str]:
    """The lines of the event's last finished runs, oldest first, from the hub's records rather than from the card
    Slack sent back: two clicks at once each see the other's run, and runs from the web app show too."""
    number = parse_event_id(run.event_id or "")
    if number is None:
        return [run_line(run.action, run)]
    async with hub.db.reader.connect() as conn:
        found = await get_event(conn, hub.projects, number)
    labels = {action.key: action.label for action in found[0].actions} if found else {}
    # One run at most per button is still running: these many newest runs hold the last finished ones.
    newest = await hub.actions.runs(event_id=number, limit=MAX_RUNS_SHOWN + MAX_ACTIONS)
    finished = [each for each in newest if each.status != "running"]
    return [run_line(labels.get(each.action, each.action), each) for each in reversed(finished[:MAX_RUNS_SHOWN])]


def with_runs(message: dict[str, Any], lines: list[str]) -> dict[str, Any]:
    """The card with its runs block (made at the end on the first run) listing `lines`, the last ten."""
    blocks = [b for b in message["blocks"] if not (isinstance(b, dict) and b.get("block_id") == RUNS_BLOCK)]
    elements = [{"type": "mrkdwn", "text": line} for line in lines[-MAX_RUNS_SHOWN:]]
    blocks.append({"type": "context", "block_id": RUNS_BLOCK, "elements": elements})
    text = message.get("text")
    fallback = lines[-1] if lines else "runs"
    return {"replace_original": True, "text": text if isinstance(text, str) and text else fallback, "blocks": blocks}


async def _email_of(hub: Hub, settings: Any, slack_user: str) -> str | None:
    """The Slack user's email: from `[plugins.slack] users`, else from Slack's `users.info` with the bot token."""
    if not slack_user:
        return None
    mapped = settings.users.get(slack_user)
    if mapped:
        return str(mapped).lower()
    if not settings.bot_token:
        return None
    try:
        response = await hub.outbound.request(
            "GET",
            f"{settings.api_url.rstrip('/')}/users.info?user={quote(slack_user)}",
            headers={"Authorization": f"Bearer {settings.bot_token}"},
        )
        data = response.json()
    except (BlockedAddress, ResponseTooLarge, msgspec.DecodeError, OSError) as exc:
        log.warning("Slack users.info failed for %s: %s", slack_user, exc)
        return None
    except Exception as exc:
        log.warning("Slack users.info failed for %s: %s", slack_user, exc)
        return None
    if not isinstance(data, dict) or not data.get("ok"):
        log.warning("Slack users.info refused for %s: %s", slack_user, (data or {}).get("error"))
        return None
    email = ((data.get("user") or {}).get("profile") or {}).get("email")
    return email.lower() if isinstance(email, str) and "@" in email else None
