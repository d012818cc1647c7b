"""Slack interactive buttons: Slack POSTs a click here, the hub runs the action and answers via `response_url`.

Active when `[plugins.slack] signing_secret` is set (otherwise 404). Every request is verified before it is
parsed: `X-Slack-Signature` is `v0=` + hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw body}` with the
signing secret, a timestamp more than five minutes away from the hub's clock is refused, and a request already
acted on is ignored (replays: a table of recent signatures). Slack wants an answer within 3 seconds, so the
handler only checks and queues: the action runs in the background, as the hub user whose email matches the Slack
user's, and the outcome is posted to the click's `response_url` through the guarded outbound client: a run
updates the card for the whole channel with the event's last runs as the hub recorded them (who ran what, when,
how it went), so nobody runs it again unknowingly; a refusal is an ephemeral message to the person who clicked.

A button of an action with inputs (with a bot token) opens a form for them instead (`views.open`, hub.api.slack_form)
and keeps the card it was clicked on; the form's submission comes here too, is checked at once (a bad value is
answered with an error under its field) and then runs like a click, updating the kept card.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

import msgspec
from litestar import Request, post
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.response import Response
from sqlalchemy import delete, select

from hub.actions.runner import AlreadyRunning, Expired, Forbidden, RunOut
from hub.api.common import hub_of, read_up_to
from hub.api.slack_form import (
    METADATA_MAX,
    FormContext,
    Submission,
    form_values,
    form_view,
    input_errors,
    submission_in,
)
from hub.db import schema
from hub.db.dialect import insert_ignore
from hub.db.events import get_event
from hub.ids import parse_event_id
from hub.models import MAX_ACTIONS, ActionOut, EventOut, ValidationProblem, now_utc
from hub.outbound import BlockedAddress, ResponseTooLarge
from hub.outbox.messages import event_url
from hub.pluginapi import mrkdwn_escape

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)
PATH = "/api/v1/slack/interactivity"
TOLERANCE_SECONDS = 300
# The `action_id` prefixes plugins/slack/blocks.py gives runnable buttons: run at once, or open the inputs' form.
RUN_PREFIX = "hub.run."
FORM_PREFIX = "hub.form."
TRIGGER_SECONDS = 3  # how long Slack's `trigger_id` opens a form
FORM_MINUTES = 30  # how long a form's card is kept: Slack takes a `response_url` for 30 minutes
OPENED = re.compile(rb'\s*\{\s*"ok"\s*:\s*true\b')  # the start of Slack's answer to a views.open that worked
MAX_BODY = 64 * 1024
RUNS_BLOCK = "hub.runs"  # the `block_id` of the context block listing a card's runs
MAX_RUNS_SHOWN = 10  # Block Kit's limit of elements in a context block
# Of the action server's message: escaped (up to 5 characters each) with a label and a name, a run's line stays
# within Block Kit's 3,000 characters.
MAX_MESSAGE_SHOWN = 300


class Click(msgspec.Struct):
    """One button click of a `block_actions` payload, as much of it as the hub uses, or a submitted form."""

    slack_user: str
    event_id: str
    key: str
    label: str
    response_url: str
    # The card as Slack shows it (`text`, `blocks`), to update with the run; None when Slack did not send it.
    message: dict[str, Any] | None = None
    opens_form: bool = False  # a button of an action with inputs: it opens their form with Slack's `trigger_id`
    trigger_id: str = ""
    inputs: dict[str, Any] = {}  # the values of a submitted form


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
    trigger_id = payload.get("trigger_id") if isinstance(payload.get("trigger_id"), str) else ""
    message, container = payload.get("message"), payload.get("container")
    if not isinstance(message, dict) or not isinstance(message.get("blocks"), list):
        message = None
    if isinstance(container, dict) and container.get("is_ephemeral"):
        message = None
    actions = payload.get("actions")
    clicks = []
    # Anything unexpected is skipped, not a 500: the payload is signed, but its shape is Slack's to change.
    for action in actions if isinstance(actions, list) else []:
        action_id = str(action.get("action_id", "")) if isinstance(action, dict) else ""
        if not action_id.startswith((RUN_PREFIX, FORM_PREFIX)):
            continue
        try:
            value = msgspec.json.decode(action.get("value") or "")
            event_id, key = str(value["event"]), str(value["key"])
        except (msgspec.DecodeError, TypeError, KeyError):
            continue
        text = action.get("text")
        label = (text.get("text") if isinstance(text, dict) else None) or key
        opens_form = action_id.startswith(FORM_PREFIX)
        user_id = str(user.get("id", ""))
        clicks.append(Click(user_id, event_id, key, str(label), response_url, message, opens_form, trigger_id))
    return clicks


@post(
    PATH,
    status_code=200,
    tags=["actions"],
    summary="Slack interactivity: run an action from a Slack button",
    request_max_body_size=None,  # read_up_to, with Slack's own limit
)
async def slack_interactivity(request: Request) -> Response[bytes]:
    """For Slack only (the app's Interactivity Request URL): signed by Slack, answered at once with 200; the
    action runs in the background and its outcome is posted to the click's `response_url`."""
    hub = hub_of(request)
    settings = hub.plugins.settings.get("slack")
    secret = getattr(settings, "signing_secret", "")
    if not secret:
        raise NotFoundException("Slack interactivity is off: set [plugins.slack] signing_secret")
    body = await read_up_to(request, MAX_BODY, f"a Slack payload is at most {MAX_BODY} bytes")
    signature = request.headers.get("x-slack-signature")
    verify(secret, request.headers.get("x-slack-request-timestamp"), signature, body, time.time())
    payload = payload_of(body)
    if signature and not await first_time(hub, signature):
        log.warning("ignored a Slack request the hub had already acted on (a replay of a signed request)")
        return _empty()
    submission = submission_in(payload)
    if submission is not None:
        return await _submitted(hub, settings, submission)
    for click in clicks_in(payload):
        hub.run_in_background(_open_form(hub, settings, click) if click.opens_form else _handle(hub, settings, click))
    return _empty()


def _empty() -> Response[bytes]:
    """Slack's acknowledgement; to a submitted form, it also closes the form."""
    return Response(b"", status_code=200, media_type="text/plain")


async def _submitted(hub: Hub, settings: Any, submission: Submission) -> Response[bytes]:
    """A bad value is answered at once with an error under its field (the form stays open); otherwise the form
    closes and the action runs in the background as a click's does, updating the card the form was opened from."""
    form = submission.form
    found = await _event_action(hub, form.event, form.key)
    action = found[1] if found else None  # no longer there: the run says so, as a click's would
    given = form_values(action.inputs, submission.state) if action else {}
    if action is not None and (errors := input_errors(action.inputs, given)):
        answer = {"response_action": "errors", "errors": errors}
        return Response(msgspec.json.encode(answer), status_code=200, media_type="application/json")
    card = await _kept_card(hub, form.card) if form.card else None
    label = action.label if action else form.key
    click = Click(submission.slack_user, form.event, form.key, label, form.response_url, card, inputs=given)
    hub.run_in_background(_handle(hub, settings, click))
    return _empty()


async def _open_form(hub: Hub, settings: Any, click: Click) -> None:
    """Open the inputs' form for the person who clicked; when it cannot open, they are told why (ephemeral)."""
    try:
        refusal = await _try_open_form(hub, settings, click)
    except Exception:
        log.exception("opening the Slack form of %s on event %s failed", click.key, click.event_id)
        refusal = f":x: {mrkdwn_escape(click.label)}: the hub could not open its form (see its log)"
    if refusal:
        await _respond(hub, click, _ephemeral(refusal))


async def _try_open_form(hub: Hub, settings: Any, click: Click) -> str | None:
    """None once Slack shows the form; otherwise what to tell the person who clicked (mrkdwn)."""
    label = mrkdwn_escape(click.label)
    # Whether they may run it is asked before they fill in a form for nothing.
    email = await _email_of(hub, settings, click.slack_user)
    if email is None:
        return _not_linked(label, click.slack_user)
    try:
        found = await hub.actions.person_may_run(email, click.event_id, click.key)
    except (Forbidden, Expired, LookupError, ValidationProblem) as exc:
        return _not_run(label, exc)
    card = await _keep_card(hub, click.message) if click.message is not None else None
    metadata = msgspec.json.encode(FormContext(click.event_id, click.key, click.response_url, card)).decode()
    if len(metadata) > METADATA_MAX:
        problem: str | None = "Slack's reply address is too long to carry through a form"
    else:
        problem = await _views_open(hub, settings, click.trigger_id, form_view(*found, metadata))
    if problem is None:
        return None
    page = mrkdwn_escape(event_url(hub.settings.public_url, click.event_id))
    return f":warning: {label}: its form could not be opened ({mrkdwn_escape(problem)}). Run it from <{page}|the hub>."


async def _views_open(hub: Hub, settings: Any, trigger_id: str, view: dict[str, Any]) -> str | None:
    """Ask Slack to show `view` to whoever clicked; None once it does, else why not (logged without the token)."""
    if not settings.bot_token:
        return "the hub has no Slack bot token"
    try:
        response = await hub.outbound.post(
            f"{settings.api_url.rstrip('/')}/views.open",
            content=msgspec.json.encode({"trigger_id": trigger_id, "view": view}),
            headers={"Authorization": f"Bearer {settings.bot_token}", "Content-Type": "application/json"},
            timeout_seconds=TRIGGER_SECONDS,
        )
    except ResponseTooLarge as exc:
        # Slack answers with the view it shows, which many long choices make larger than the hub reads: its
        # first field still says whether it does.
        if OPENED.match(exc.partial):
            return None
        log.warning("Slack views.open: %s, not saying ok", exc)
        return "Slack's answer was too large"
    except Exception as exc:
        log.warning("Slack views.open failed: %s", exc)
        return "Slack could not be reached"
    try:
        data = response.json()
    except msgspec.DecodeError:
        data = None
    if isinstance(data, dict) and data.get("ok") is True:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    details = (data.get("response_metadata") or {}).get("messages") if isinstance(data, dict) else None
    log.warning("Slack views.open refused the form (HTTP %s): %s %s", response.status, error, details or "")
    return f"Slack said {error}" if isinstance(error, str) else f"Slack answered HTTP {response.status}"


async def _event_action(hub: Hub, event_id: str, key: str) -> tuple[EventOut, ActionOut] | None:
    number = parse_event_id(event_id)
    if number is None:
        return None
    async with hub.db.reader.connect() as conn:
        found = await get_event(conn, hub.projects, number)
    action = next((a for a in found[0].actions if a.key == key), None) if found else None
    return (found[0], action) if found and action else None


async def _keep_card(hub: Hub, message: dict[str, Any]) -> str:
    """Keep the card a form is opened from, for its run to update; the id returned goes into the form."""
    forms = schema.slack_forms
    now = now_utc()
    card = {"text": message.get("text"), "blocks": message["blocks"]}
    row = {"id": secrets.token_hex(16), "card": msgspec.json.encode(card).decode(), "opened_at": now}
    async with hub.db.writer.begin() as conn:
        await conn.execute(delete(forms).where(forms.c.opened_at < now - timedelta(minutes=FORM_MINUTES)))
        await conn.execute(forms.insert().values(row))
    return row["id"]


async def _kept_card(hub: Hub, card_id: str) -> dict[str, Any] | None:
    """The card kept for a form, or None once it was let go of (the form outlived Slack's `response_url`)."""
    forms = schema.slack_forms
    async with hub.db.reader.connect() as conn:
        card = (await conn.execute(select(forms.c.card).where(forms.c.id == card_id))).scalar()
    return msgspec.json.decode(card) if card is not None else None


def _ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


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
        return await hub.actions.run_as_person(email, click.event_id, click.key, click.inputs)
    except (Forbidden, Expired, AlreadyRunning, LookupError, ValidationProblem) as exc:
        return _not_run(label, exc)


def _not_run(label: str, refusal: Exception) -> str:
    """Why the runner refused, for the person who clicked (mrkdwn)."""
    if isinstance(refusal, Forbidden):
        mark = ":no_entry:"
    elif isinstance(refusal, Expired | AlreadyRunning):
        mark = ":hourglass:"
    else:
        mark = ":x:"
    return f"{mark} {label} was not run: {mrkdwn_escape(str(refusal))}"


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
    user = data.get("user") or {}
    # A profile's email is whatever its workspace's admins let it say: only one Slack has confirmed is someone's
    # (in a channel shared with another organisation, its admins could give an account any address).
    if user.get("is_email_confirmed") is not True or user.get("deleted") is True:
        log.warning("Slack user %s has no confirmed email: not matched to a hub user", slack_user)
        return None
    email = (user.get("profile") or {}).get("email")
    return email.lower() if isinstance(email, str) and "@" in email else None
