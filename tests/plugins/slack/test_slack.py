"""The Slack notifier against a loopback stand-in for Slack: a valid Block Kit card with a text fallback, one
message a second per webhook; and interactive buttons: Slack's signed click runs the action as the mapped hub
user, answered at once, the outcome posted to a loopback `response_url`; a button of an action with inputs opens a
form of them (`views.open`), whose submission runs the action with the values filled in."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from blockkit import check_message, check_modal
from hypothesis import given, settings
from hypothesis import strategies as st
from peers import LoopbackServer, Received

from hub.api.slack import Click, clicks_in, payload_of, with_runs
from hub.api.slack_form import Submission, form_values, submission_in
from hub.db import schema
from hub.models import ActionInputOut, ValidationProblem, now_utc

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class Slack:
    """Incoming webhooks (`/hooks/...`), `response_url`s (`/respond/...`), `users.info` (`/api/users.info`) and
    `views.open` (`/api/views.open`).

    A webhook answers as Slack does: 400 `invalid_blocks` for a card that breaks a Block Kit rule (and, with
    `refuse_blocks`, for any card), 200 `ok` otherwise. `views.open` answers `ok: false` with `invalid_arguments`
    for a view that breaks a rule (or `views_error`, when set), and keeps the calls it was sent in `forms`."""

    def __init__(self) -> None:
        self.refuse_blocks = False
        self.refused: list[dict] = []
        self.cards: list[tuple[float, str, dict]] = []
        self.responses: list[dict] = []
        self.lookups: list[Received] = []
        self.forms: list[tuple[str | None, dict]] = []  # (Authorization header, body) of each views.open call
        self.opened: list[dict] = []  # the views it showed
        self.views_error = ""
        self.server = LoopbackServer(self.handle)

    def handle(self, received: Received):
        path = urlsplit(received.path)
        if path.path.startswith("/hooks/"):
            card = json.loads(received.body)
            try:
                assert not (self.refuse_blocks and "blocks" in card), "refused"
                check_message(card)
            except AssertionError:
                self.refused.append(card)
                return 400, {"Content-Type": "text/plain"}, b"invalid_blocks"
            self.cards.append((time.monotonic(), path.path, card))
            return 200, {"Content-Type": "text/plain"}, b"ok"
        if path.path.startswith("/respond/"):
            self.responses.append(json.loads(received.body))
            return 200, {}, b"ok"
        if path.path == "/api/users.info":
            self.lookups.append(received)
            assert received.headers["authorization"] == "Bearer xoxb-test"
            user = parse_qs(path.query)["user"][0]
            if user in ("U_BOB", "U_ADA_UNCONFIRMED"):
                profile = {"email": "Bob@Example.com" if user == "U_BOB" else "ada@example.com"}
                body = {"ok": True, "user": {"id": user, "is_email_confirmed": user == "U_BOB", "profile": profile}}
            else:
                body = {"ok": False, "error": "user_not_found"}
            return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
        if path.path == "/api/views.open":
            if self.views_error == "503":
                return 503, {"Content-Type": "text/html"}, b"<html>Service Unavailable</html>"
            return 200, {"Content-Type": "application/json"}, json.dumps(self.open_view(received)).encode()
        return 404, {}, b"no"

    def open_view(self, received: Received) -> dict:
        body = json.loads(received.body)
        self.forms.append((received.headers.get("authorization"), body))
        if received.headers.get("authorization") != "Bearer xoxb-test":
            return {"ok": False, "error": "invalid_auth"}
        if self.views_error:
            return {"ok": False, "error": self.views_error}
        try:
            assert re.fullmatch(r"\d+\.\d+\.\w+", body["trigger_id"]), "invalid `trigger_id`"
            check_modal(body["view"])
        except AssertionError as exc:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [str(exc)]}}
        self.opened.append(body["view"])
        return {"ok": True, "view": {"id": "V1", "team_id": "T1", **body["view"], "state": {"values": {}}}}


class ActionTarget:
    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.delay = 0.0
        self.answer = (200, b'{"message": "Refund of 42 EUR issued"}')
        self.server = LoopbackServer(self.handle)

    def handle(self, received: Received):
        time.sleep(self.delay)
        self.calls.append(json.loads(received.body))
        status, body = self.answer
        return status, {"Content-Type": "application/json"}, body


@pytest.fixture
def slack():
    stand_in = Slack()
    with stand_in.server:
        yield stand_in


@pytest.fixture
def action_target():
    target = ActionTarget()
    with target.server:
        yield target


@pytest.fixture
def interactive():
    return False


@pytest.fixture
def bot_token():
    return "xoxb-test"


@pytest.fixture
def api_url():
    return None  # the Slack stand-in's


@pytest.fixture
def settings_overrides(slack, interactive, bot_token, api_url):
    extra = ""
    if interactive:
        extra = (
            f', signing_secret = "{SIGNING_SECRET}", bot_token = "{bot_token}",'
            f' api_url = "{api_url or slack.server.url + "/api"}",'
            ' users = {U_ADA = "ada@example.com", U_VIC = "vic@example.com"}'
        )
    return {
        "HUB_OUTBOUND_ALLOW": '["127.0.0.1"]',
        "HUB_PLUGINS": f"{{slack = {{min_interval_seconds = {0 if interactive else 1}{extra}}}}}",
        "HUB_SERVER_BASE_URL": "https://hub.example.com",
    }


async def slack_rule(client, headers, name, url):
    rule = {"name": name, "targets": [{"slack": url}], "continue": True}
    assert (await client.put(f"/api/v1/routes/{name}", json=rule, headers=headers)).status_code == 200


async def post_event(client, headers, action_url="https://example.com/refund", **fields):
    body = {
        "project": "shop",
        "channel": "payments",
        "event": "Refund requested",
        "description": "Order <42> & co",
        "severity": "warning",
        "tags": {"plan": "pro", "amount": 42},
        "actions": [
            {"label": "Refund", "url": action_url, "key": "refund", "confirm": True},
            {"label": "Open in Stripe", "url": "https://dashboard.stripe.com/p/1", "external": True},
        ],
        **fields,
    }
    response = await client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def drain(hub, until, seconds=10.0):
    """Run the outbox on the real clock (the notifier paces with it) until `until()` holds."""
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "the outbox did not deliver in time"
        await hub.outbox.run_once(now_utc())
        await asyncio.sleep(0.05)


async def test_card_is_valid_block_kit_with_links_and_a_text_fallback(client, hub, admin_headers, slack):
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    event = await post_event(client, admin_headers)
    await drain(hub, lambda: len(slack.cards) == 1)
    [(_, path, card)] = slack.cards
    assert path == "/hooks/T1/B1/x"
    check_message(card)
    link = f"https://hub.example.com/events/{event['id']}"
    assert "Refund requested" in card["text"] and link in card["text"]
    assert "Order &lt;42&gt; &amp; co" in card["text"]  # the fallback is mrkdwn too: `<!channel>` must not ping
    header, body, fields, context, actions = card["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Refund requested", "emoji": True}}
    assert body["text"]["text"] == "Order &lt;42&gt; &amp; co"
    shown = [f["text"] for f in fields["fields"]]
    assert "*Project*\nshop" in shown and "*Channel*\n#payments" in shown and "*plan*\npro" in shown
    assert "shop/payments" in context["elements"][0]["text"]
    buttons = {b["text"]["text"]: b for b in actions["elements"]}
    assert buttons["Open in hub"]["url"] == link
    assert buttons["Open in Stripe"]["url"] == "https://dashboard.stripe.com/p/1"  # external: a link
    # Without a Slack signing secret, a runnable action links to the event's page, where it is run.
    assert buttons["Refund"]["url"] == link and "action_id" not in buttons["Refund"]
    # Interactivity is off without a signing secret.
    off = await client.post("/api/v1/slack/interactivity", content=b"payload=%7B%7D")
    assert off.status_code == 404


async def test_tags_read_as_the_api_spells_them_and_those_that_do_not_fit_are_counted(
    client, hub, admin_headers, slack
):
    """`true` read `True`; of 20 tags the 7 that fit were shown and 13 left out without a word; and a critical event
    with the 🚨 icon read `🚨 🚨 Dispute opened` in the notification."""
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    tags = {"livemode": False, **{f"tag{n:02}": n for n in range(19)}}
    event = {"project": "shop", "event": "Dispute opened", "icon": "🚨", "severity": "critical", "tags": tags}
    assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
    await drain(hub, lambda: len(slack.cards) == 1)
    [(_, _, card)] = slack.cards
    check_message(card)
    [fields] = [[f["text"] for f in block["fields"]] for block in card["blocks"] if "fields" in block]
    assert len(fields) == 10
    assert fields[3:6] == ["*livemode*\nfalse", "*tag00*\n0", "*tag01*\n1"]
    assert fields[-1] == "*More tags*\n14 more in the hub"
    assert card["text"].startswith("🚨 Dispute opened <https://hub.example.com/events/")


async def test_one_message_a_second_per_webhook(client, hub, admin_headers, slack):
    await slack_rule(client, admin_headers, "a", f"{slack.server.url}/hooks/A")
    await slack_rule(client, admin_headers, "b", f"{slack.server.url}/hooks/B")
    first_card = {"/hooks/A": threading.Event(), "/hooks/B": threading.Event()}
    met: list[bool] = []

    def first_cards_meet(received: Received):
        """Holds each webhook's first card until the other's has come: paced together, the second would wait for
        the first to be answered, and not come while it is held."""
        hook = urlsplit(received.path).path
        if not first_card[hook].is_set():
            first_card[hook].set()
            [other] = [came for other_hook, came in first_card.items() if other_hook != hook]
            met.append(other.wait(5))
        return slack.handle(received)

    slack.server.handler = first_cards_meet
    for i in range(3):
        await post_event(client, admin_headers, event=f"e{i}")
    await drain(hub, lambda: len(slack.cards) == 6, seconds=20)
    for hook in ("/hooks/A", "/hooks/B"):
        times = [t for t, path, _ in slack.cards if path == hook]
        assert len(times) == 3
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= 0.95 for gap in gaps), gaps
    # The two webhooks are paced separately: each one's first card came while the other's was held.
    assert met == [True, True]
    states = {d["state"] for d in (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]}
    assert states == {"delivered"}
    attempts = [
        (await client.get(f"/api/v1/deliveries/{d['id']}", headers=admin_headers)).json()["attempts"]
        for d in (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    ]
    assert attempts == [1] * 6  # waiting for the webhook's turn is not a failed attempt


async def test_a_long_event_is_a_valid_card_cut_between_entities_with_its_link_kept(client, hub, admin_headers, slack):
    """Escaped text used to be cut wherever the limit fell: `&am…` showed as is, and the fallback lost its link."""
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    long = "<&" * 512  # 1,024 characters, 4,608 once escaped
    event = await post_event(client, admin_headers, event="é" * 250, description=long, tags={"note": long})
    await drain(hub, lambda: len(slack.cards) == 1)
    [(_, _, card)] = slack.cards
    assert slack.refused == []
    body, fields = card["blocks"][1]["text"]["text"], card["blocks"][2]["fields"]
    for text in (body, fields[-1]["text"], card["text"]):
        assert "…" in text and re.search(r"&[a-z]*…", text) is None, text[-20:]
    assert len(body) <= 3000 and len(fields[-1]["text"]) <= 2000
    assert card["text"].endswith(f"<https://hub.example.com/events/{event['id']}|open>")


async def test_a_long_digest_lists_whole_lines(client, hub, admin_headers, slack):
    """20 held notifications with long titles are more than a section's 3,000 characters: the list used to end in
    a link cut in half (a raw `<https://...|title` in the channel). A line break in a title did the same."""
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    rule = {"name": "quiet", "targets": [{"slack": f"{slack.server.url}/hooks/Q"}], "quiet_hours": quiet}
    assert (await client.put("/api/v1/routes/quiet", json=rule, headers=admin_headers)).status_code == 200
    for i in range(20):
        await post_event(client, admin_headers, event=f"{i:02d}\n" + "Disk <full> & " * 17, actions=[])
    assert await hub.outbox.run_once(now_utc()) == 0
    assert await hub.outbox.run_once(now + timedelta(hours=1, minutes=1)) == 1
    [(_, _, card)] = slack.cards
    lines = card["blocks"][1]["text"]["text"].split("\n")
    *items, more = lines
    assert 5 <= len(items) < 20 and more == f"…and {20 - len(items)} more"
    line = re.compile(r"⚠️ <https://hub\.example\.com/events/\w+\|\d\d [^<>|]*> · shop/#payments")
    assert all(line.fullmatch(item) for item in items)


async def test_a_card_slack_refuses_goes_again_as_plain_text(client, hub, admin_headers, slack):
    """A Block Kit rule the card breaks (unpublished, or new) answers 400 invalid_blocks, which is permanent: the
    page was lost. The fallback text alone goes through, and the attempt says so."""
    slack.refuse_blocks = True
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    event = await post_event(client, admin_headers)
    await drain(hub, lambda: len(slack.cards) == 1)
    [(_, _, card)] = slack.cards
    assert len(slack.refused) == 1 and "blocks" in slack.refused[0]
    assert card == {"text": slack.refused[0]["text"]}
    assert card["text"].endswith(f"<https://hub.example.com/events/{event['id']}|open>")
    [delivery] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert delivery["state"] == "delivered" and delivery["last_status"] == 200
    [attempt] = (await client.get(f"/api/v1/deliveries/{delivery['id']}", headers=admin_headers)).json()["attempt_log"]
    assert attempt["response"] == "card refused (invalid_blocks), then its plain text: ok"


# Every `<` in mrkdwn made from an event is one of the hub's links, to http(s) or mailto; nothing else is markup.
SAFE_MRKDWN = re.compile(r"(?:[^<>]|<(?:https?|mailto):[^<>|\s]*\|[^<>]*>|(?:^|\n)(?:> )+)*")


async def test_a_markdown_description_is_mrkdwn_on_the_card(client, hub, admin_headers, slack):
    """A markdown description showed on the card as its escaped source (`**Pro**`, `[Invoice](https://...)`); it is
    Slack's mrkdwn now, in the card and its fallback, with the event's text escaped as before."""
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    description = (
        "# Upgrade to **Pro**\n**Pro** plan, *yearly* _now_ ~~monthly~~ `x<y` & co\nsecond line\n\n"
        "- [Invoice](https://example.com/i?a=1&b=2)\n  - nested\n- [mail](mailto:a@b.c)\n\n3. third\n4. fourth\n\n"
        "> quoted\n> more\n\n```sh\necho <hi> & `x`\n```"
    )
    event = await post_event(client, admin_headers, description=description, parser="markdown")
    await drain(hub, lambda: len(slack.cards) == 1)
    [(_, _, card)] = slack.cards
    assert slack.refused == []
    converted = (
        "*Upgrade to Pro*\n\n*Pro* plan, _yearly_ _now_ ~monthly~ `x&lt;y` &amp; co\nsecond line\n\n"
        "• <https://example.com/i?a=1&amp;b=2|Invoice>\n    • nested\n• <mailto:a@b.c|mail>\n\n3. third\n4. fourth\n\n"
        "> quoted\n> more\n\n```\necho &lt;hi&gt; &amp; `x`\n```"
    )
    assert card["blocks"][1] == {"type": "section", "text": {"type": "mrkdwn", "text": converted}}
    link = f" <https://hub.example.com/events/{event['id']}|open>"
    assert card["text"] == f"⚠️ Refund requested: {converted}{link}"


async def test_markdown_cannot_mention_or_link_anywhere_but_http_and_mailto(client, hub, admin_headers, slack):
    """The event's text is escaped wherever markdown puts it (a link's label and address, code, a heading), so it
    cannot mention (`<!channel>`, `<@U1>`) nor make a link Slack would follow; an image is its alt text, linked."""
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    description = (
        "# <!channel> **<!here>**\n<!everyone> @here @channel <@U123> <#C1> <https://evil.example|ok> `<!channel>`\n"
        "[click](javascript:alert(1)) [<!here>](https://e.com/a|<!channel>>x) [x](<!subteam^S1>) [m](mailto:a@b.c)\n"
        "![pixel](https://t.example/p.gif?u=ada) ![bad](javascript:x) <script>alert(2)</script>\n"
        "```\n<!channel>\n```"
    )
    await post_event(client, admin_headers, description=description, parser="markdown")
    await drain(hub, lambda: len(slack.cards) == 1)
    [(_, _, card)] = slack.cards
    body = card["blocks"][1]["text"]["text"]
    for text in (body, card["text"]):
        assert SAFE_MRKDWN.fullmatch(text), text
        assert "<!" not in text and "<@" not in text and "<#" not in text and "javascript" not in text
    assert body == (
        "*&lt;!channel&gt; &lt;!here&gt;*\n\n&lt;!everyone&gt; @here @channel &lt;@U123&gt; &lt;#C1&gt; "
        # An autolink whose label is all of it, not "ok": Slack's `|` is text in markdown.
        "<https://evil.example%7Cok|https://evil.example|ok> `&lt;!channel&gt;`\n"
        "click <https://e.com/a%7C%3C!channel%3E%3Ex|&lt;!here&gt;> x <mailto:a@b.c|m>\n"
        "<https://t.example/p.gif?u=ada|pixel> bad &lt;script&gt;alert(2)&lt;/script&gt;\n\n```\n&lt;!channel&gt;\n```"
    )


async def test_a_text_description_is_shown_as_before(client, hub, admin_headers, slack):
    """`parser: "text"` (the default) is not markdown: its `**` and `[x](...)` show as typed, escaped as ever."""
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    description = "# Not a heading\n**not bold** [not](https://a.b) <!channel> & `x`"
    event = await post_event(client, admin_headers, description=description)
    await drain(hub, lambda: len(slack.cards) == 1)
    [(_, _, card)] = slack.cards
    escaped = "# Not a heading\n**not bold** [not](https://a.b) &lt;!channel&gt; &amp; `x`"
    assert card["blocks"][1]["text"]["text"] == escaped
    assert card["text"] == f"⚠️ Refund requested: {escaped} <https://hub.example.com/events/{event['id']}|open>"


@pytest.mark.parametrize(
    "description",
    [
        "```\n" + "<&" * 495,  # 990 characters, 4,460 as mrkdwn: the code block is cut and closed again
        "[x](https://example.com/" + "é" * 970 + ")",  # a link of 5,800 characters: not cut in half
        "**bold** " + "&" * 990,  # 4,950 characters of entities after the bold
    ],
)
async def test_a_long_markdown_description_is_cut_to_valid_mrkdwn(client, hub, admin_headers, slack, description):
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    await post_event(client, admin_headers, description=description, parser="markdown")
    await drain(hub, lambda: len(slack.cards) == 1)
    [(_, _, card)] = slack.cards
    assert slack.refused == []
    body = card["blocks"][1]["text"]["text"]
    for text in (body, card["text"]):
        assert SAFE_MRKDWN.fullmatch(text) and re.search(r"&[a-z]*…", text) is None, text[-40:]
        assert text.count("```") % 2 == 0 and "…" in text
    assert len(body) <= 3000 and len(card["text"]) <= 3000


async def test_a_grouped_markdown_description_keeps_its_heading_under_the_count(client, hub, admin_headers, slack):
    """A follow-up says how many more events came before the description: glued to it, a `# heading` that opened
    the description was no longer one."""
    rule = {"name": "grouped", "targets": [{"slack": f"{slack.server.url}/hooks/G"}], "group_by": ["event"]}
    assert (
        await client.put("/api/v1/routes/grouped", json=rule | {"group_window_seconds": 60}, headers=admin_headers)
    ).is_success
    for _ in range(3):
        await post_event(client, admin_headers, description="# Disk full\n- on *db1*", parser="markdown")
    assert await hub.outbox.run_once(now_utc()) == 1
    deadline = time.monotonic() + 10
    while len(slack.cards) < 2:  # the follow-up, once the window has closed and the webhook's second has passed
        assert time.monotonic() < deadline, "no follow-up"
        await hub.outbox.run_once(now_utc() + timedelta(seconds=61))
        await asyncio.sleep(0.05)
    first, follow_up = (card["blocks"][1]["text"]["text"] for _, _, card in slack.cards)
    assert first == "*Disk full*\n\n• on _db1_"
    assert follow_up == "2 more events in shop/payments since the first notification.\n\n*Disk full*\n\n• on _db1_"


MARKDOWN_PIECES = st.sampled_from(
    [*"*_`[]()!<>&# |\n", "**", "~~", "```", "- ", "1. ", "> ", "a", "é", "😀", "&amp;", "<!channel>", "@here"]
) | st.sampled_from(["https://x.y/", "javascript:", "mailto:a@b", "data:"])


@settings(max_examples=300, deadline=None)
@given(st.lists(MARKDOWN_PIECES, max_size=60).map("".join), st.integers(min_value=1, max_value=400))
def test_any_markdown_becomes_mrkdwn_with_only_safe_links_within_any_limit(source, limit):
    from hub_plugins.slack.mrkdwn import convert, cut

    text = convert(source)
    assert SAFE_MRKDWN.fullmatch(text), (source, text)
    shown = cut(text, limit)
    assert len(shown) <= max(limit, 5) and SAFE_MRKDWN.fullmatch(shown) and re.search(r"&[a-z]*…", shown) is None


def test_an_image_shows_its_alt_text_as_written():
    """Its pieces were joined with spaces: an alt with emphasis in it gained two."""
    from hub_plugins.slack.mrkdwn import convert

    assert convert("![a *b* c](javascript:x)") == "a b c"


def test_a_bare_url_or_an_autolink_is_a_link():
    """Pasted bare, a URL was text on the card; in the web app it is a link."""
    from hub_plugins.slack.mrkdwn import convert

    source = "Logs: https://example.com/logs/1. Owner: <ops@example.com>, `https://example.com/code`"
    assert convert(source) == (
        "Logs: <https://example.com/logs/1|https://example.com/logs/1>. "
        "Owner: <mailto:ops@example.com|ops@example.com>, `https://example.com/code`"
    )


def signed(body: bytes, secret: str = SIGNING_SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


CLICKS = itertools.count(1)


def click_body(button: dict, user: str, response_url: str, message: dict | None = None) -> bytes:
    """A `block_actions` payload as Slack sends it (form-encoded `payload` JSON), for one button click on `message`
    (the card as Slack shows it: its `text` and `blocks`; left out, as for a click Slack sends without it). Each
    click has its own `trigger_id` and `action_ts`, as in Slack: no two clicks have the same body."""
    click = next(CLICKS)
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C1", "is_ephemeral": False},
        "trigger_id": f"{click}.2.3",
        "team": {"id": "T1", "domain": "acme"},
        "channel": {"id": "C1", "name": "alerts"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "b1",
                "text": button["text"],
                "value": button["value"],
                "action_ts": f"1700000001.{click:06d}",
            }
        ],
    }
    if message is not None:
        payload["message"] = {"type": "message", "ts": "1700000000.000100", "bot_id": "B1", **message}
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.parametrize("interactive", [True])
async def test_slack_buttons_run_actions_as_the_mapped_hub_user(client, hub, admin_headers, slack, action_target):
    for email, role in (("ada@example.com", "member"), ("vic@example.com", "viewer"), ("bob@example.com", "admin")):
        user = {"email": email, "name": email.split("@")[0], "role": role, "projects": ["shop"]}
        assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    event = await post_event(client, admin_headers, action_url=f"{action_target.server.url}/refund")
    await drain(hub, lambda: len(slack.cards) == 1)
    card = slack.cards[0][2]
    check_message(card)
    buttons = {b["text"]["text"]: b for b in card["blocks"][-1]["elements"]}
    run = buttons["Refund"]
    assert "url" not in run and run["action_id"].startswith("hub.run.")
    assert json.loads(run["value"]) == {"event": event["id"], "key": "refund"}
    assert run["confirm"]["confirm"]["text"] == "Run"
    assert "action_id" not in buttons["Open in Stripe"]  # external actions stay links

    async def click(user: str, n: int, headers=None, body=None):
        body = body or click_body(run, user, f"{slack.server.url}/respond/{n}")
        started = time.perf_counter()
        response = await client.post("/api/v1/slack/interactivity", content=body, headers=headers or signed(body))
        assert time.perf_counter() - started < 3
        await hub.wait_for_background()
        return response

    # A member mapped in [plugins.slack] users: the action runs as them, the outcome comes back. The action's
    # server takes 3.5 s, yet Slack gets its answer at once: the action runs in the background.
    action_target.delay = 3.5
    assert (await click("U_ADA", 1)).status_code == 200
    action_target.delay = 0.0
    assert slack.responses[-1] == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": ":white_check_mark: Refund: Refund of 42 EUR issued",
    }
    [call] = action_target.calls
    assert call["actor"]["email"] == "ada@example.com" and call["event"]["key"] == "refund"
    runs = (await client.get(f"/api/v1/events/{event['id']}/runs", headers=admin_headers)).json()
    assert [(r["actor"]["email"], r["status"]) for r in runs] == [("ada@example.com", "done")]

    # Found through users.info with the bot token.
    assert (await click("U_BOB", 2)).status_code == 200
    assert slack.responses[-1]["text"].startswith(":white_check_mark:")
    assert action_target.calls[-1]["actor"]["email"] == "bob@example.com"

    # Refused clearly: a Slack user with no hub account, and a viewer. Nothing reaches the action's server.
    await click("U_NOBODY", 3)
    assert "not linked to a hub user" in slack.responses[-1]["text"]
    # An address Slack has not confirmed (another organisation's account in a shared channel, say) is no one's.
    await click("U_ADA_UNCONFIRMED", 3)
    assert "not linked to a hub user" in slack.responses[-1]["text"]
    await click("U_VIC", 4)
    assert "viewers cannot run actions" in slack.responses[-1]["text"]
    assert len(action_target.calls) == 2

    # Forged, replayed and unsigned requests are refused before anything runs.
    body = click_body(run, "U_ADA", f"{slack.server.url}/respond/5")
    forged = await client.post("/api/v1/slack/interactivity", content=body, headers=signed(body, "wrong-secret"))
    assert forged.status_code == 401
    stale = await client.post(
        "/api/v1/slack/interactivity", content=body, headers=signed(body, at=int(time.time()) - 301)
    )
    assert stale.status_code == 401 and "5 minutes" in stale.json()["message"]
    tampered = await client.post(
        "/api/v1/slack/interactivity", content=body.replace(b"U_ADA", b"U_BOB"), headers=signed(body)
    )
    assert tampered.status_code == 401
    unsigned = await client.post("/api/v1/slack/interactivity", content=body)
    assert unsigned.status_code == 401
    await hub.wait_for_background()
    assert len(action_target.calls) == 2 and len(slack.responses) == 5

    # A click still running when the hub stops is finished first: Slack was already told 200.
    action_target.delay = 1.0
    body = click_body(run, "U_ADA", f"{slack.server.url}/respond/6")
    assert (await client.post("/api/v1/slack/interactivity", content=body, headers=signed(body))).status_code == 200
    await hub.stop()
    assert len(action_target.calls) == 3
    assert slack.responses[-1]["text"] == ":white_check_mark: Refund: Refund of 42 EUR issued"


@pytest.mark.parametrize("interactive", [True])
async def test_a_run_from_slack_shows_on_the_card_for_the_whole_channel(
    client, hub, admin_headers, slack, action_target
):
    """The outcome went to the person who clicked only (ephemeral): the channel still saw a plain "Refund" button,
    and the next person clicked it again, refunding twice. A run (done or failed) now updates the card through the
    click's `response_url` with who ran what, when and how it went, the last ten runs kept; a refusal stays between
    the hub and the person who clicked. Text from the action's server and from names is escaped: no mentions."""
    for email, name, role in (("ada@example.com", "Ada <!channel>", "member"), ("vic@example.com", "Vic", "viewer")):
        user = {"email": email, "name": name, "role": role, "projects": ["shop"]}
        assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    await post_event(client, admin_headers, action_url=f"{action_target.server.url}/refund")
    await drain(hub, lambda: len(slack.cards) == 1)
    card = slack.cards[0][2]
    run = next(b for b in card["blocks"][-1]["elements"] if b.get("action_id"))
    shown = {"text": card["text"], "blocks": card["blocks"]}

    async def click(user: str) -> dict:
        body = click_body(run, user, f"{slack.server.url}/respond/1", message=shown)
        assert (await client.post("/api/v1/slack/interactivity", content=body, headers=signed(body))).status_code == 200
        await hub.wait_for_background()
        return slack.responses[-1]

    updated = await click("U_ADA")
    assert updated["replace_original"] is True and "response_type" not in updated
    assert updated["text"] == card["text"] and updated["blocks"][:-1] == card["blocks"]
    check_message(updated)
    runs = updated["blocks"][-1]
    assert runs["type"] == "context" and runs["block_id"] == "hub.runs"
    [line] = [e["text"] for e in runs["elements"]]
    assert re.fullmatch(
        r":white_check_mark: Refund: Refund of 42 EUR issued · Ada &lt;!channel&gt; · "
        r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|[-\dT:+]+>",
        line,
    ), line

    # A failure is news for the channel too; the card as Slack now shows it keeps its earlier runs.
    shown = {"text": updated["text"], "blocks": updated["blocks"]}
    action_target.answer = (500, b'{"message": "<!here> card declined & <https://evil.example|retry here>"}')
    updated = await click("U_ADA")
    check_message(updated)
    first, second = (e["text"] for e in updated["blocks"][-1]["elements"])
    assert first == line and len(updated["blocks"]) == len(card["blocks"]) + 1
    assert second.startswith(
        ":x: Refund failed (HTTP 500): &lt;!here&gt; card declined &amp; &lt;https://evil.example|retry here&gt; · Ada"
    )

    # Ten runs at most on the card: Block Kit allows ten elements in a context block. A long message is cut so that
    # escaped, with the longest name, a line stays within a text object's 3,000 characters.
    user = {"name": "&" * 128}
    assert (await client.patch("/api/v1/users/ada@example.com", json=user, headers=admin_headers)).status_code == 200
    action_target.answer = (200, json.dumps({"message": "&" * 500}).encode())
    for _ in range(10):
        shown = {"text": updated["text"], "blocks": updated["blocks"]}
        updated = await click("U_ADA")
    check_message(updated)
    elements = updated["blocks"][-1]["elements"]
    assert len(elements) == 10 and all(e["text"].startswith(":white_check_mark: Refund: &amp;&amp;") for e in elements)

    # A refusal is for the person who clicked only; the card is left as it is.
    refused = await click("U_VIC")
    assert refused["response_type"] == "ephemeral" and refused["replace_original"] is False
    assert "viewers cannot run actions" in refused["text"] and "blocks" not in refused
    assert len(action_target.calls) == 12


async def member_clicks_on_a_card(client, hub, admin_headers, slack, action_target, actions):
    """Ada, a member, and a card for an event with `actions` posted to the Slack stand-in: the card's run buttons."""
    user = {"email": "ada@example.com", "name": "Ada", "role": "member", "projects": ["shop"]}
    assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    await slack_rule(client, admin_headers, "to-slack", f"{slack.server.url}/hooks/T1/B1/x")
    await post_event(client, admin_headers, actions=actions)
    await drain(hub, lambda: len(slack.cards) == 1)
    card = slack.cards[0][2]
    return card, [b for b in card["blocks"][-1]["elements"] if b.get("action_id")]


@pytest.mark.parametrize("interactive", [True])
async def test_a_replayed_click_is_ignored(client, hub, admin_headers, slack, action_target):
    """Slack accepts a signed request for five minutes: someone who captured one (a proxy's log, say) could send it
    again once the first run was over, refunding twice. A request the hub acted on is now ignored when it comes
    again; Slack's own next click is a new request (its own trigger and time) and runs."""
    refund = {"label": "Refund", "url": f"{action_target.server.url}/refund", "key": "refund"}
    _, [run] = await member_clicks_on_a_card(client, hub, admin_headers, slack, action_target, [refund])
    body = click_body(run, "U_ADA", f"{slack.server.url}/respond/1")
    headers = signed(body)
    for _ in range(3):
        assert (await client.post("/api/v1/slack/interactivity", content=body, headers=headers)).status_code == 200
        await hub.wait_for_background()
    assert len(action_target.calls) == 1 and len(slack.responses) == 1

    again = click_body(run, "U_ADA", f"{slack.server.url}/respond/2")
    assert (await client.post("/api/v1/slack/interactivity", content=again, headers=signed(again))).status_code == 200
    await hub.wait_for_background()
    assert len(action_target.calls) == 2

    # Kept ten minutes (twice the five minutes either way a timestamp is accepted), then let go of.
    seen = schema.slack_requests
    async with hub.db.writer.begin() as conn:
        await conn.execute(seen.update().values(received_at=now_utc() - timedelta(seconds=601)))
    third = click_body(run, "U_ADA", f"{slack.server.url}/respond/3")
    assert (await client.post("/api/v1/slack/interactivity", content=third, headers=signed(third))).status_code == 200
    await hub.wait_for_background()
    async with hub.db.reader.connect() as conn:
        [kept] = (await conn.execute(seen.select())).all()
    assert kept.received_at > now_utc() - timedelta(seconds=60) and len(action_target.calls) == 3


@pytest.mark.parametrize("interactive", [True])
async def test_clicks_at_once_each_show_the_others_run(client, hub, admin_headers, slack, action_target):
    """Two buttons of one card clicked at once: each update was the card as that click saw it plus its own run, so
    the later update wiped the other run off the card. The card now lists the event's runs as the hub recorded
    them, a run from the web app included."""
    actions = [
        {"label": "Refund", "url": f"{action_target.server.url}/refund", "key": "refund"},
        {"label": "Retry", "url": f"{action_target.server.url}/retry", "key": "retry"},
    ]
    card, buttons = await member_clicks_on_a_card(client, hub, admin_headers, slack, action_target, actions)
    shown = {"text": card["text"], "blocks": card["blocks"]}
    action_target.delay = 0.3
    for n, button in enumerate(buttons):
        body = click_body(button, "U_ADA", f"{slack.server.url}/respond/{n}", message=shown)
        assert (await client.post("/api/v1/slack/interactivity", content=body, headers=signed(body))).status_code == 200
    await hub.wait_for_background()
    assert len(action_target.calls) == 2
    lines = [[e["text"] for e in update["blocks"][-1]["elements"]] for update in slack.responses]
    assert max(len(each) for each in lines) == 2, lines
    assert {line.split(" ")[1].rstrip(":") for line in max(lines, key=len)} == {"Refund", "Retry"}
    for update in slack.responses:
        check_message(update)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
VALUE = st.fixed_dictionaries({"event": JSON, "key": JSON}).map(json.dumps) | JSON
ACTION = st.fixed_dictionaries({"action_id": st.just("hub.run.b1"), "value": VALUE}, optional={"text": JSON}) | JSON
PAYLOAD = st.fixed_dictionaries(
    {
        "type": st.just("block_actions"),
        "user": st.fixed_dictionaries({}, optional={"id": JSON}) | JSON,
        "response_url": st.text(max_size=8) | JSON,
        "actions": st.lists(ACTION, max_size=3) | JSON,
    },
    optional={"message": st.fixed_dictionaries({"blocks": JSON}, optional={"text": JSON}) | JSON, "container": JSON},
)


@settings(max_examples=300, deadline=None)
@given(PAYLOAD)
def test_a_signed_payload_of_any_shape_gives_clicks_or_a_400(payload):
    """Signed by Slack, but its shape is theirs: `actions` not a list or a button's `text` not an object was a 500."""
    try:
        clicks = clicks_in(payload_of(urlencode({"payload": json.dumps(payload)}).encode()))
    except ValidationProblem:
        return
    assert all(isinstance(click, Click) and isinstance(click.label, str) for click in clicks)
    for click in clicks:  # the card Slack sent back, whatever its shape, takes a run's line
        if click.message is not None:
            update = with_runs(click.message, ["line"])
            assert update["blocks"][-1]["elements"][-1] == {"type": "mrkdwn", "text": "line"}
            assert isinstance(update["text"], str) and update["text"]


LONG_CHOICE = "asked for by the customer " * 4  # 104 characters: an option shows 75
REFUND_INPUTS = [
    {
        "name": "reason",
        "label": "Reason",
        "type": "choice",
        "choices": ["duplicate", "fraud", LONG_CHOICE],
        "default": "duplicate",
        "required": True,
    },
    {"name": "amount", "type": "number", "default": 42},
    {"name": "note", "label": "Note to the customer", "default": "Sorry for the trouble"},
    {"name": "notify", "type": "bool", "default": True},
    {"name": "ticket", "type": "text"},
]


async def open_form(client, hub, admin_headers, slack, action_target):
    """Ada's card for an action with inputs, and her click on its button: the card and the button (the form's
    views.open call is in `slack.forms`)."""
    refund = {"label": "Refund", "url": f"{action_target.server.url}/refund", "key": "refund", "confirm": True}
    card, [button] = await member_clicks_on_a_card(
        client, hub, admin_headers, slack, action_target, [refund | {"inputs": REFUND_INPUTS}]
    )
    response_url = f"{slack.server.url}/respond/form"
    body = click_body(button, "U_ADA", response_url, message={"text": card["text"], "blocks": card["blocks"]})
    assert (await client.post("/api/v1/slack/interactivity", content=body, headers=signed(body))).status_code == 200
    await hub.wait_for_background()
    return card, button


KEEP = object()


def filled_in(view: dict, **typed) -> dict:
    """`view.state.values` as Slack sends them when the form is submitted: every field as the form showed it
    (its initial value), but for those in `typed` (block_id -> what was typed, the option picked, or a tick)."""
    values = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element, change = block["element"], typed.get(block["block_id"], KEEP)
        kind = element["type"]
        if kind in ("plain_text_input", "number_input"):
            state = {"value": element.get("initial_value") if change is KEEP else change}
        elif kind == "static_select":
            state = {"selected_option": element.get("initial_option") if change is KEEP else change}
        else:
            ticked = element.get("initial_options", []) if change is KEEP else element["options"] if change else []
            state = {"selected_options": ticked}
        values[block["block_id"]] = {element["action_id"]: {"type": kind, **state}}
    return values


def option(view: dict, block_id: str, text: str) -> dict:
    [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    return next(o for o in block["element"]["options"] if o["text"]["text"] == text)


def submission_body(view: dict, user: str, values: dict) -> bytes:
    """A `view_submission` payload as Slack sends it for the submitted `view` (as opened) with `values`."""
    payload = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "trigger_id": f"{next(CLICKS)}.2.3",
        "view": {
            "id": "V1",
            "team_id": "T1",
            **view,
            "state": {"values": values},
            "hash": f"{next(CLICKS)}.abc",
            "root_view_id": "V1",
            "app_id": "A1",
            "bot_id": "B1",
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def submit(client, body: bytes, headers: dict | None = None):
    return await client.post("/api/v1/slack/interactivity", content=body, headers=headers or signed(body))


@pytest.mark.parametrize("interactive", [True])
async def test_a_button_of_an_action_with_inputs_opens_a_form_of_them(client, hub, admin_headers, slack, action_target):
    """A button of an action with a required input linked to the event's page, and one with optional inputs ran
    with their defaults, which nobody could change from Slack. With a bot token the button opens a Slack form
    (views.open) with a field per input, each prefilled with its default; nothing runs yet."""
    card, button = await open_form(client, hub, admin_headers, slack, action_target)
    check_message(card)
    assert button["action_id"].startswith("hub.form.") and "url" not in button
    assert "confirm" not in button  # the form's Run button is the confirmation
    [(authorization, call)] = slack.forms
    assert authorization == "Bearer xoxb-test" and re.fullmatch(r"\d+\.2\.3", call["trigger_id"])
    [view] = slack.opened
    assert view["type"] == "modal" and view["callback_id"] == "hub.run_form"
    assert view["title"] == {"type": "plain_text", "text": "Refund", "emoji": True}
    assert view["submit"] == {"type": "plain_text", "text": "Run"}
    assert view["close"] == {"type": "plain_text", "text": "Cancel"}
    metadata = json.loads(view["private_metadata"])
    assert metadata["event"] == json.loads(button["value"])["event"] and metadata["key"] == "refund"
    assert metadata["response_url"] == f"{slack.server.url}/respond/form"
    context, reason, amount, note, notify, ticket = view["blocks"]
    assert context["elements"] == [
        {"type": "plain_text", "text": "Refund · Refund requested · shop/#payments", "emoji": True}
    ]
    options = [
        {"text": {"type": "plain_text", "text": "duplicate", "emoji": True}, "value": "0"},
        {"text": {"type": "plain_text", "text": "fraud", "emoji": True}, "value": "1"},
        {"text": {"type": "plain_text", "text": LONG_CHOICE[:74] + "…", "emoji": True}, "value": "2"},
    ]
    assert reason == {
        "type": "input",
        "block_id": "reason",
        "label": {"type": "plain_text", "text": "Reason"},
        "optional": False,
        "element": {"type": "static_select", "action_id": "value", "options": options, "initial_option": options[0]},
    }
    assert amount == {
        "type": "input",
        "block_id": "amount",
        "label": {"type": "plain_text", "text": "amount"},
        "optional": True,
        "element": {"type": "number_input", "action_id": "value", "is_decimal_allowed": True, "initial_value": "42"},
    }
    assert note["label"]["text"] == "Note to the customer" and note["optional"] is True
    assert note["element"] == {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": 2000,
        "initial_value": "Sorry for the trouble",
    }
    yes = {"text": {"type": "plain_text", "text": "Yes", "emoji": True}, "value": "true"}
    assert notify["element"] == {"type": "checkboxes", "action_id": "value", "options": [yes], "initial_options": [yes]}
    assert ticket["element"] == {"type": "plain_text_input", "action_id": "value", "max_length": 2000}
    assert action_target.calls == [] and slack.responses == []

    # A Slack user with no hub account is told so at once, before filling in a form for nothing.
    body = click_body(button, "U_NOBODY", f"{slack.server.url}/respond/2")
    assert (await submit(client, body)).status_code == 200
    await hub.wait_for_background()
    assert len(slack.forms) == 1 and "not linked to a hub user" in slack.responses[-1]["text"]
    assert slack.responses[-1]["response_type"] == "ephemeral"

    # So is one who may not run it (a viewer): the form would only have been refused once filled in.
    viewer = {"email": "vic@example.com", "name": "Vic", "role": "viewer", "projects": ["shop"]}
    assert (await client.post("/api/v1/users", json=viewer, headers=admin_headers)).status_code == 201
    body = click_body(button, "U_VIC", f"{slack.server.url}/respond/3")
    assert (await submit(client, body)).status_code == 200
    await hub.wait_for_background()
    assert len(slack.forms) == 1 and "viewers cannot run actions" in slack.responses[-1]["text"]
    assert slack.responses[-1]["response_type"] == "ephemeral" and action_target.calls == []


@pytest.mark.parametrize("interactive", [True])
async def test_a_submitted_form_runs_the_action_with_its_values_and_updates_the_card(
    client, hub, admin_headers, slack, action_target
):
    """The values filled in reach the action's server as the web app would send them, the form closes (an empty
    200), and the run shows on the card for the channel, as a button's run does."""
    card, _ = await open_form(client, hub, admin_headers, slack, action_target)
    [view] = slack.opened
    typed = filled_in(view, reason=option(view, "reason", "fraud"), amount="12.5", note="Refunded twice", notify=False)
    answer = await submit(client, submission_body(view, "U_ADA", typed))
    assert answer.status_code == 200 and answer.content == b""
    await hub.wait_for_background()
    [call] = action_target.calls
    assert call["inputs"] == {"reason": "fraud", "amount": 12.5, "note": "Refunded twice", "notify": False}
    assert call["actor"]["email"] == "ada@example.com"
    updated = slack.responses[-1]
    assert updated["replace_original"] is True and updated["blocks"][:-1] == card["blocks"]
    check_message(updated)
    [line] = [e["text"] for e in updated["blocks"][-1]["elements"]]
    assert line.startswith(":white_check_mark: Refund: Refund of 42 EUR issued · Ada · ")
    [run] = (await client.get(f"/api/v1/events/{call['event']['id']}/runs", headers=admin_headers)).json()
    assert run["inputs"] == call["inputs"] and run["actor"]["email"] == "ada@example.com"

    # Submitted as shown, the defaults go as they are: the number stays a whole number, the long choice whole;
    # an emptied field is left out, as in the web app. The card lists both runs.
    typed = filled_in(view, reason=option(view, "reason", LONG_CHOICE[:74] + "…"))
    assert (await submit(client, submission_body(view, "U_ADA", typed))).content == b""
    await hub.wait_for_background()
    assert action_target.calls[-1]["inputs"] == {
        "reason": LONG_CHOICE,
        "amount": 42,
        "note": "Sorry for the trouble",
        "notify": True,
    }
    assert len(slack.responses[-1]["blocks"][-1]["elements"]) == 2


@pytest.mark.parametrize("interactive", [True])
async def test_a_bad_value_is_shown_under_its_field_and_runs_nothing(client, hub, admin_headers, slack, action_target):
    """Each field the hub's run-input rules refuse gets its message under it (`response_action: errors`, keyed by
    block_id) and the form stays open; nothing runs until the values are right."""
    await open_form(client, hub, admin_headers, slack, action_target)
    [view] = slack.opened
    bogus = {"text": {"type": "plain_text", "text": "refund all"}, "value": "7"}
    typed = filled_in(view, amount="forty-two", reason=bogus, note="x" * 2001, ticket="T-1")
    answer = await submit(client, submission_body(view, "U_ADA", typed))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {
        "response_action": "errors",
        "errors": {
            "reason": f"`reason` must be one of duplicate, fraud, {LONG_CHOICE}",
            "amount": "`amount` must be a number",
            "note": "`note` must be text of at most 2000 characters",
        },
    }
    for amount in ("NaN", "1e999", "0x10"):
        answer = await submit(client, submission_body(view, "U_ADA", filled_in(view, amount=amount)))
        assert answer.json() == {"response_action": "errors", "errors": {"amount": "`amount` must be a number"}}
    await hub.wait_for_background()
    assert action_target.calls == [] and slack.responses == []

    answer = await submit(client, submission_body(view, "U_ADA", filled_in(view, amount="-7", ticket="T-1")))
    assert answer.content == b""
    await hub.wait_for_background()
    [call] = action_target.calls
    assert call["inputs"]["amount"] == -7 and call["inputs"]["ticket"] == "T-1"


@pytest.mark.parametrize("interactive", [True])
async def test_a_replayed_submission_is_ignored(client, hub, admin_headers, slack, action_target):
    """A captured submission sent again within Slack's five minutes is a replay like a click's, and runs nothing.
    A form opened from a click Slack sent without its card answers the person who submitted it alone."""
    refund = {"label": "Refund", "url": f"{action_target.server.url}/refund", "key": "refund"}
    _, [button] = await member_clicks_on_a_card(
        client, hub, admin_headers, slack, action_target, [refund | {"inputs": REFUND_INPUTS}]
    )
    body = click_body(button, "U_ADA", f"{slack.server.url}/respond/1")
    assert (await submit(client, body)).status_code == 200
    await hub.wait_for_background()
    [view] = slack.opened
    body = submission_body(view, "U_ADA", filled_in(view))
    headers = signed(body)
    for _ in range(3):
        assert (await submit(client, body, headers)).status_code == 200
        await hub.wait_for_background()
    assert len(action_target.calls) == 1
    [outcome] = slack.responses
    assert outcome == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": ":white_check_mark: Refund: Refund of 42 EUR issued",
    }


@pytest.mark.parametrize(("interactive", "bot_token"), [(True, "")])
async def test_without_a_bot_token_optional_inputs_run_with_defaults_and_required_ones_link(
    client, hub, admin_headers, slack, action_target
):
    """No form without a bot token: a button whose inputs are all optional runs with their defaults, one with a
    required input links to the event's page, as before."""
    optional = {"label": "Retry", "url": f"{action_target.server.url}/retry", "key": "retry", "confirm": True}
    optional["inputs"] = [{"name": "attempts", "type": "number", "default": 3}, {"name": "note"}]
    required = {"label": "Refund", "url": f"{action_target.server.url}/refund", "key": "refund"}
    required["inputs"] = REFUND_INPUTS
    card, [retry] = await member_clicks_on_a_card(
        client, hub, admin_headers, slack, action_target, [optional, required]
    )
    check_message(card)
    assert retry["action_id"].startswith("hub.run.") and retry["confirm"]["confirm"]["text"] == "Run"
    refund = next(b for b in card["blocks"][-1]["elements"] if b["text"]["text"] == "Refund")
    assert refund["url"].startswith("https://hub.example.com/events/") and "action_id" not in refund
    body = click_body(retry, "U_ADA", f"{slack.server.url}/respond/1")
    assert (await submit(client, body)).status_code == 200
    await hub.wait_for_background()
    assert slack.forms == [] and [c["inputs"] for c in action_target.calls] == [{"attempts": 3}]


@pytest.mark.parametrize(
    ("interactive", "api_url", "views_error", "why"),
    [
        (True, None, "expired_trigger_id", "Slack said expired_trigger_id"),
        (True, None, "503", "Slack answered HTTP 503"),
        (True, "http://127.0.0.1:9/api", "", "Slack could not be reached"),  # nothing listens on port 9
    ],
)
async def test_a_form_slack_does_not_open_is_told_to_the_person_who_clicked(
    client, hub, admin_headers, slack, action_target, caplog, views_error, why
):
    """A trigger that expired, a refusal or Slack out of reach left the person who clicked with nothing happening.
    They are told the form could not be opened, with a link to the event's page; the hub's log says why, without
    the token."""
    slack.views_error = views_error
    _, button = await open_form(client, hub, admin_headers, slack, action_target)
    event_id = json.loads(button["value"])["event"]
    assert slack.opened == []
    [told] = slack.responses
    assert told["response_type"] == "ephemeral" and told["replace_original"] is False
    assert told["text"] == (
        f":warning: Refund: its form could not be opened ({why}). "
        f"Run it from <https://hub.example.com/events/{event_id}|the hub>."
    )
    assert "Slack views.open" in caplog.text and "xoxb-test" not in caplog.text
    assert action_target.calls == []


@pytest.mark.parametrize("interactive", [True])
async def test_the_form_carries_the_longest_key_and_says_when_a_reply_address_does_not_fit(
    client, hub, admin_headers, slack, action_target
):
    """`private_metadata` holds 3,000 characters: the event, the longest action key (64) and the card's id fit with
    a `response_url` of Slack's length; a `response_url` too long to fit is told, not sent to Slack to refuse."""
    key = "k" * 64
    action = {"label": "Refund", "url": f"{action_target.server.url}/refund", "key": key, "inputs": REFUND_INPUTS}
    _, [button] = await member_clicks_on_a_card(client, hub, admin_headers, slack, action_target, [action])
    response_url = f"{slack.server.url}/respond/T0001/1234567890123/" + "a" * 24
    body = click_body(button, "U_ADA", response_url, message={"text": "card", "blocks": []})
    assert (await submit(client, body)).status_code == 200
    await hub.wait_for_background()
    [view] = slack.opened
    assert json.loads(view["private_metadata"])["key"] == key

    too_long = f"{slack.server.url}/respond/" + "a" * 3000
    body = click_body(button, "U_ADA", too_long)
    assert (await submit(client, body)).status_code == 200
    await hub.wait_for_background()
    assert len(slack.forms) == 1
    assert "could not be opened (Slack's reply address is too long" in slack.responses[-1]["text"]


STATE = st.dictionaries(
    st.sampled_from(["reason", "amount", "note", "notify", "x"]),
    JSON
    | st.dictionaries(
        st.sampled_from(["value", "x"]),
        JSON
        | st.fixed_dictionaries(
            {},
            optional={
                "value": JSON,
                "selected_option": JSON | st.fixed_dictionaries({"value": JSON}),
                "selected_options": JSON,
            },
        ),
    ),
)
SUBMISSION = st.fixed_dictionaries(
    {
        "type": st.just("view_submission"),
        "user": st.fixed_dictionaries({}, optional={"id": JSON}) | JSON,
        "view": st.fixed_dictionaries(
            {"callback_id": st.just("hub.run_form")},
            optional={
                "private_metadata": st.fixed_dictionaries(
                    {"event": st.text(max_size=8), "key": st.text(max_size=8), "response_url": st.text(max_size=8)},
                    optional={"card": st.text(max_size=8) | st.none()},
                ).map(json.dumps)
                | JSON,
                "state": st.fixed_dictionaries({"values": STATE}) | JSON,
            },
        )
        | JSON,
    }
)
DECLARED = [ActionInputOut(**spec) for spec in REFUND_INPUTS]


@settings(max_examples=300, deadline=None)
@given(SUBMISSION, STATE)
def test_a_signed_submission_of_any_shape_gives_a_submission_or_nothing(payload, state):
    """Slack's shapes are Slack's to change: whatever a signed submission holds, reading it is no 500."""
    submission = submission_in(payload)
    assert submission is None or isinstance(submission, Submission)
    values = form_values(DECLARED, state)  # whatever the fields hold
    assert set(values) <= {"reason", "amount", "note", "notify", "ticket"}
