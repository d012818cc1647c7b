"""Email through a real SMTP server on loopback (aiosmtpd): multipart text and HTML, digests, List-Unsubscribe,
and SMTP's own failure classes (4xx again later, 5xx never)."""

from __future__ import annotations

import asyncio
import base64
import email
import re
import socket
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from html.parser import HTMLParser

import msgspec
import pytest
from aiosmtpd.controller import Controller
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from peers import LoopbackServer, Received
from sqlalchemy import text, update

from hub.config import load_settings
from hub.db import schema
from hub.models import now_utc
from hub.outbound import OutboundClient
from hub.plugins import PluginError, Plugins


class Inbox:
    """An aiosmtpd handler that keeps every message, or refuses with a scripted SMTP reply; it answers `delay`
    seconds after the message came, and counts the most messages it had in hand at once."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.raw: list[bytes] = []
        self.refuse: list[str] = []
        self.delay = 0.0
        self.in_hand = self.most_in_hand = 0

    async def handle_DATA(self, server, session, envelope):
        self.in_hand += 1
        self.most_in_hand = max(self.most_in_hand, self.in_hand)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_hand -= 1
        if self.refuse:
            return self.refuse.pop(0)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.raw.append(envelope.original_content)
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(request):
    """A relay on loopback; a test may pass Controller options (indirect parametrization)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **getattr(request, "param", {}))
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


@pytest.fixture
def settings_overrides(smtp):
    return {
        "HUB_PLUGINS": f'{{email = {{host = "127.0.0.1", port = {smtp.port}, security = "none", '
        f"""from_address = '"Hub, Überwachung" <hub@example.com>'}}}}""",
        "HUB_SERVER_BASE_URL": "https://hub.example.com",
    }


async def email_rule(client, headers, **extra):
    rule = {"name": "mail", "targets": [{"email": "Oncall@Example.com"}], **extra}
    assert (await client.put("/api/v1/routes/mail", json=rule, headers=headers)).status_code == 200


async def test_email_has_text_and_html_with_fields_tags_content_and_action_links(client, hub, admin_headers, smtp):
    await email_rule(client, admin_headers)
    event = (
        await client.post(
            "/api/v1/events",
            headers=admin_headers,
            json={
                "project": "shop",
                "channel": "payments",
                "event": "Refund requested",
                "icon": ":money_with_wings:",
                "description": "Order <42>",
                "tags": {"plan": "pro"},
                "content": {"order": 42},
                "actions": [
                    {"label": "Approve", "url": "https://example.com/a", "key": "approve"},
                    {"label": "Open Stripe", "url": "https://dashboard.stripe.com/p", "external": True},
                ],
            },
        )
    ).json()
    assert await hub.outbox.run_once(now_utc()) == 1
    [message] = smtp.messages
    assert smtp.envelopes == [("hub@example.com", ["oncall@example.com"])]
    assert message["Subject"] == "[shop] 💸 Refund requested"  # the icon, as the feed shows it
    assert message["Auto-Submitted"] == "auto-generated"  # RFC 3834: no out-of-office answers
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Hub, Überwachung", "hub@example.com")
    assert smtp.raw[0].isascii() and b"From: =?utf-8?" in smtp.raw[0]  # the name as an encoded word (RFC 2047)
    assert message["Message-ID"].endswith("@example.com>")  # the sender's domain, not `@hub`
    sent = message["Date"].datetime
    assert sent.utcoffset() == timedelta(0) and message["Date"].endswith("+0000")  # UTC; -0000 says "unknown"
    assert abs((now_utc() - sent).total_seconds()) < 60
    assert message["List-Unsubscribe"] == "<https://hub.example.com/settings>"
    assert (await client.get("/settings")).status_code == 200  # a page of the web app, not a 404
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"https://hub.example.com/events/{event['id']}"
    for part in (text, html):
        assert link in part
        assert "https://dashboard.stripe.com/p" in part
        assert "pro" in part and '"order": 42' in part
    assert "Order <42>" in text and "Order &lt;42&gt;" in html
    when = datetime.fromisoformat(event["created_at"]).astimezone(UTC)
    assert f"When: {when:%Y-%m-%d %H:%M:%S} UTC" in text  # not an ISO time with microseconds
    [delivery] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert delivery["state"] == "delivered" and delivery["last_status"] == 250


@pytest.mark.parametrize("sender", ["Acme, Inc. Alerts <alerts@acme.com>", "alerts@acme.com, ops@acme.com"])
def test_a_from_address_that_is_not_one_address_stops_the_hub(sender):
    """The From header's address is the envelope sender too: an unquoted comma made it `MAIL FROM:<Acme>`, and the
    mail server refused every email for good."""
    table = f"{{email = {{from_address = '{sender}'}}}}"
    with pytest.raises(PluginError, match=r"\[plugins\.email\]: `from_address` must be one address"):
        Plugins(load_settings(environ={"HUB_PLUGINS": table}))


@pytest.mark.parametrize("login", ["username = 'hub'", "password = 's3cret'"])
def test_a_username_without_a_password_or_the_other_way_round_stops_the_hub(login):
    with pytest.raises(PluginError, match=r"`username` and `password` are SMTP AUTH together: set both, or neither"):
        Plugins(load_settings(environ={"HUB_PLUGINS": f"{{email = {{{login}}}}}"}))


async def test_a_title_with_line_breaks_is_one_subject_line(client, hub, admin_headers, smtp):
    """A header cannot hold a line break: the email used to fail on every retry, and nothing else got in."""
    await email_rule(client, admin_headers)
    title = "Evil\r\nBcc: victim@evil.com"
    assert (
        await client.post("/api/v1/events", json={"project": "shop", "event": title}, headers=admin_headers)
    ).status_code == 201
    assert await hub.outbox.run_once(now_utc()) == 1
    [message] = smtp.messages
    assert message["Subject"] == "[shop] Evil Bcc: victim@evil.com" and message["Bcc"] is None
    assert smtp.envelopes == [("hub@example.com", ["oncall@example.com"])]


async def test_a_title_holding_an_encoded_word_is_shown_as_written(client, hub, admin_headers, smtp):
    """The subject was parsed as if it came off the wire: an RFC 2047 encoded word in a title was decoded, and one
    carrying line breaks wrote headers and a body of the sender's choosing into the email (a phishing page from the
    hub's own address, from any GitHub issue title). A title is text: shown as written, control characters dropped."""
    await email_rule(client, admin_headers)
    forged = b"x\r\nBcc: victim@evil.com\r\nContent-Type: text/html\r\n\r\n<h1>Reset your password</h1>"
    title = f"=?utf-8?b?{base64.b64encode(forged).decode()}?= and =?utf-8?q?Caf=C3=A9?="
    for event in (title, "Bell\x07 and escape\x1b[31m"):
        response = await client.post("/api/v1/events", json={"project": "shop", "event": event}, headers=admin_headers)
        assert response.status_code == 201
    assert await hub.outbox.run_once(now_utc()) == 2
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == sorted([f"[shop] {title}", "[shop] Bell and escape [31m"])
    for message, raw in zip(smtp.messages, smtp.raw, strict=True):
        assert message["Bcc"] is None and message.get_content_type() == "multipart/alternative"
        assert raw.isascii() and b"Reset your password" not in raw
        assert not any(0 < byte < 32 and byte not in (9, 10, 13) for byte in raw.split(b"\r\n\r\n")[0])
    assert smtp.envelopes == [("hub@example.com", ["oncall@example.com"])] * 2


async def test_quiet_hours_digest_is_one_email(client, hub, admin_headers, smtp):
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    await email_rule(client, admin_headers, quiet_hours=quiet)
    for name in ("one", "two", "three"):
        await client.post("/api/v1/events", json={"project": "shop", "event": name}, headers=admin_headers)
    assert await hub.outbox.run_once(now_utc()) == 0
    assert await hub.outbox.run_once(now + timedelta(hours=1, minutes=1)) == 1
    [digest] = smtp.messages
    assert digest["Subject"] == "[shop] 3 notifications while you were away"
    body = digest.get_body(("plain",)).get_content()
    assert all(name in body for name in ("one", "two", "three"))


async def test_the_subject_says_a_warning_or_critical_and_tags_read_as_the_api_spells_them(
    client, hub, admin_headers, smtp
):
    """A warning looked like any other email in an inbox (only `Importance: high` marked a critical), and a tag
    `true` read `True`, as Python spells it."""
    await email_rule(client, admin_headers)
    for severity in ("info", "warning", "critical"):
        event = {"project": "shop", "event": f"Disk {severity}", "severity": severity, "tags": {"trial": True}}
        await client.post("/api/v1/events", json=event, headers=admin_headers)
    assert await hub.outbox.run_once(now_utc()) == 3
    by_subject = {m["Subject"]: m for m in smtp.messages}
    assert sorted(by_subject) == ["[shop] Critical: Disk critical", "[shop] Disk info", "[shop] Warning: Disk warning"]
    text = by_subject["[shop] Disk info"].get_body(("plain",)).get_content()
    assert "#trial: true\n" in text.replace("\r\n", "\n")


async def test_the_emails_of_one_timeline_are_one_conversation(client, hub, admin_headers, smtp):
    """A deploy's steps arrived as unrelated emails: nothing told a mail client they belong together."""
    await email_rule(client, admin_headers)
    for event in (
        {"project": "shop", "event": "Deploy v2 started", "context_id": "deploy-v2"},
        {"project": "shop", "event": "Deploy v2 failed", "context_id": "deploy-v2", "severity": "critical"},
        {"project": "shop", "event": "Deploy v3 started", "context_id": "deploy-v3"},
        {"project": "shop", "event": "Disk full"},
    ):
        assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
    assert await hub.outbox.run_once(now_utc()) == 4
    by_title = {m["Subject"].split("] ", 1)[1]: m for m in smtp.messages}
    started, failed = by_title["Deploy v2 started"], by_title["Critical: Deploy v2 failed"]
    assert started["References"] == failed["References"] == started["In-Reply-To"] == failed["In-Reply-To"]
    assert re.fullmatch(r"<thread\.[0-9a-f]{32}@example\.com>", started["References"])
    assert by_title["Deploy v3 started"]["References"] not in (None, started["References"])
    assert by_title["Disk full"]["References"] is None and by_title["Disk full"]["In-Reply-To"] is None


async def test_a_digest_line_says_when_and_how_severe(client, hub, admin_headers, smtp):
    """Each line was only a title: the warning held overnight read like the info events around it."""
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    await email_rule(client, admin_headers, quiet_hours=quiet)
    sent_at = (now - timedelta(seconds=30)).replace(microsecond=0)  # older ones are backfills, which never notify
    when = f"{sent_at:%a %H:%M} UTC"
    for name, severity in (("Backup done", "info"), ("Disk at 85%", "warning")):
        event = {"project": "shop", "event": name, "severity": severity, "timestamp": sent_at.isoformat()}
        await client.post("/api/v1/events", json=event, headers=admin_headers)
    assert await hub.outbox.run_once(now + timedelta(hours=1, minutes=1)) == 1
    [digest] = smtp.messages
    text = digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    assert f"- {when} · Backup done (shop/general) " in text
    assert f"- {when} · Warning · Disk at 85% (shop/general) " in text
    assert f"<li>{when} · Warning · <a href=" in html


async def stamp(hub, event_id: str, created_at: datetime) -> None:
    """Move a stored event to another date: an event posted with an old timestamp is a backfill, which never
    notifies, and the zones' abbreviations must be seen in winter and in summer whatever the day the tests run."""
    async with hub.db.writer.begin() as conn:
        await conn.execute(
            update(schema.events).where(schema.events.c.id == int(event_id)).values(created_at=created_at)
        )


WINTER = datetime(2026, 1, 12, 3, 12, tzinfo=UTC)  # a Monday; Berlin is on CET (+01:00)
SUMMER = datetime(2026, 7, 13, 3, 12, tzinfo=UTC)  # a Monday; Berlin is on CEST (+02:00)


@pytest.mark.parametrize(
    ("zone", "at", "shown"),
    [
        ("Europe/Berlin", WINTER, "2026-01-12 04:12:00 CET"),
        ("Europe/Berlin", SUMMER, "2026-07-13 05:12:00 CEST"),
        ("America/Sao_Paulo", WINTER, "2026-01-12 00:12:00 UTC-03"),  # tzdata's abbreviation is a bare `-03`
    ],
)
async def test_a_hub_user_reads_the_events_time_on_their_own_clock_and_a_bare_address_in_utc(
    client, hub, admin_headers, smtp, zone, at, shown
):
    """Times were UTC only: a person in Berlin reading `03:12 UTC` had to do arithmetic, and the offset changes with
    daylight saving time. A bare address belongs to nobody whose zone is known."""
    user = {"email": "ada@example.com", "name": "Ada", "timezone": zone}
    assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    targets = [{"user": "ada@example.com", "via": "email"}, {"email": "oncall@example.com"}]
    assert (
        await client.put("/api/v1/routes/mail", json={"name": "mail", "targets": targets}, headers=admin_headers)
    ).is_success
    event = (
        await client.post("/api/v1/events", json={"project": "shop", "event": "Disk full"}, headers=admin_headers)
    ).json()
    await stamp(hub, event["id"], at)
    assert await hub.outbox.run_once(now_utc()) == 2
    by_address = {message["To"]: message for message in smtp.messages}
    for address, when in (("ada@example.com", shown), ("oncall@example.com", f"{at:%Y-%m-%d %H:%M:%S} UTC")):
        text = by_address[address].get_body(("plain",)).get_content()
        html = by_address[address].get_body(("html",)).get_content()
        assert f"When: {when}" in text.splitlines()
        assert f"<th align=left>When</th><td>{when}</td>" in html


async def test_a_digest_lists_each_time_on_the_users_clock_of_its_date_as_the_zone_is_when_sent(
    client, hub, admin_headers, smtp
):
    """One digest, two dates: each line has the offset of its own date (CET, CEST), in the zone the person has when
    the digest goes out (they moved to Berlin while it was held)."""
    user = (
        await client.post(
            "/api/v1/users", json={"email": "ada@example.com", "name": "Ada", "timezone": "UTC"}, headers=admin_headers
        )
    ).json()
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    rule = {"name": "mail", "targets": [{"user": "ada@example.com", "via": "email"}], "quiet_hours": quiet}
    assert (await client.put("/api/v1/routes/mail", json=rule, headers=admin_headers)).is_success
    for name, severity, at in (("Backup done", "info", WINTER), ("Disk at 85%", "warning", SUMMER)):
        event = {"project": "shop", "event": name, "severity": severity}
        await stamp(hub, (await client.post("/api/v1/events", json=event, headers=admin_headers)).json()["id"], at)
    assert await hub.outbox.run_once(now_utc()) == 0
    moved = await client.patch(f"/api/v1/users/{user['id']}", json={"timezone": "Europe/Berlin"}, headers=admin_headers)
    assert moved.status_code == 200
    assert await hub.outbox.run_once(now + timedelta(hours=1, minutes=1)) == 1
    [digest] = smtp.messages
    text = digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    assert "- Mon 04:12 CET · Backup done (shop/general) " in text
    assert "- Mon 05:12 CEST · Warning · Disk at 85% (shop/general) " in text
    assert "<li>Mon 04:12 CET · <a href=" in html and "<li>Mon 05:12 CEST · Warning · <a href=" in html


def test_every_try_of_a_delivery_has_one_message_id():
    """A new Message-ID on each try: a resend after the server took the email but its answer was lost arrived as a
    second email, which mail clients could not tell was the same."""
    from hub_plugins.email.render import build

    from hub.outbox.notifier import Message

    def message_id(delivery: str, to: str = "ada@example.com") -> str:
        message = Message(
            id=delivery, title="Disk full", body="", url="/", severity="info", project="shop", channel="c", event=None
        )
        mail = build(message, sender="hub <hub@example.com>", to=to, unsubscribe="https://hub/settings", zone=UTC)
        return mail["Message-ID"]

    assert message_id("7") == message_id("7") and message_id("7").endswith("@example.com>")
    assert len({message_id("7"), message_id("8"), message_id("7", "bob@example.com")}) == 3


def test_a_zone_this_machine_no_longer_has_reads_utc():
    """A user's zone is checked when set, but tzdata can lose it under a running hub: the email still goes, in UTC."""
    from hub_plugins.email.render import reader_zone

    assert reader_zone("Europe/Atlantis") is UTC and reader_zone(None) is UTC
    assert str(reader_zone("Europe/Berlin")) == "Europe/Berlin"


async def test_the_html_part_is_styled_for_a_phone_with_the_severity_in_words_and_a_button_to_the_event(
    client, hub, admin_headers, smtp
):
    """It was unstyled markup: no viewport (a phone showed it zoomed out), nothing to set a page apart, and "Open in
    hub" a link among the action links."""
    await email_rule(client, admin_headers)
    event = {"project": "shop", "event": "Checkout down", "severity": "critical"}
    stored = (await client.post("/api/v1/events", json=event, headers=admin_headers)).json()
    assert await hub.outbox.run_once(now_utc()) == 1
    html = smtp.messages[0].get_body(("html",)).get_content()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<style>" in html and "prefers-color-scheme: dark" in html
    assert '<p class="severity severity-critical">Critical</p><h2>Checkout down</h2>' in html
    link = f"https://hub.example.com/events/{stored['id']}"
    assert f'<p class="links"><a class="button" href="{link}">Open in hub</a></p>' in html
    assert_only_safe_markup(html)


async def test_the_html_part_keeps_the_descriptions_lines(client, hub, admin_headers, smtp):
    """HTML folds line breaks into spaces: a description of several lines (a failing step and its log, a list) came
    out as one run-on line in the HTML part while the text part kept its lines."""
    await email_rule(client, admin_headers)
    description = "Step 1 <build> failed\nStep 2 skipped\n\n- retry & see\r\n- logs"
    body = {"project": "shop", "event": "Deploy failed", "description": description}
    assert (await client.post("/api/v1/events", json=body, headers=admin_headers)).status_code == 201
    assert await hub.outbox.run_once(now_utc()) == 1
    [message] = smtp.messages
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert description.replace("\r\n", "\n") in text
    html = message.get_body(("html",)).get_content()
    assert "<p>Step 1 &lt;build&gt; failed<br>Step 2 skipped<br><br>- retry &amp; see<br>- logs</p>" in html


class Tags(HTMLParser):
    """Every tag and attribute of an HTML part, to check that nothing but the hub's own markup is in it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


MARKUP = {"html", "body", "h2", "h3", "h4", "h5", "h6", "p", "br", "strong", "em", "s", "code", "pre", "ul", "ol"}
MARKUP |= {"li", "blockquote", "a", "table", "tr", "th", "td", "small", "head", "meta", "style"}


def assert_only_safe_markup(html: str) -> None:
    for tag, attrs in Tags(html).tags:
        assert tag in MARKUP, tag
        assert set(attrs) <= {"href", "align", "class", "charset", "name", "content"}, (tag, attrs)
        assert re.match(r"(https?|mailto):", attrs.get("href") or "https:"), attrs


async def test_a_markdown_description_is_rendered_in_html_and_kept_as_written_in_text(client, hub, admin_headers, smtp):
    """A markdown description (`parser: "markdown"`, as the web app renders it) showed in the email as escaped
    source, `**Pro**` and all. A text description with the same characters stays text."""
    await email_rule(client, admin_headers)
    description = (
        "# Upgrade\n**Pro** plan, *yearly* ~~monthly~~ `x<y` & co\nsecond line\n\n"
        "- [Invoice](https://example.com/i?a=1&b=2)\n- two\n\n1. first\n\n> quoted\n\n```sh\necho <hi>\n```"
    )
    for parser in ("markdown", "text"):
        body = {"project": "shop", "event": parser, "description": description, "parser": parser}
        assert (await client.post("/api/v1/events", json=body, headers=admin_headers)).status_code == 201
    assert await hub.outbox.run_once(now_utc()) == 2
    parts = {
        m["Subject"]: tuple(m.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))
        for m in smtp.messages
    }
    text, html = parts["[shop] markdown"]
    assert description in text  # the plain part keeps the source, readable as it is
    assert (
        "<h3>Upgrade</h3>\n<p><strong>Pro</strong> plan, <em>yearly</em> <s>monthly</s> <code>x&lt;y</code> &amp; co"
        '<br>\nsecond line</p>\n<ul>\n<li><a href="https://example.com/i?a=1&amp;b=2">Invoice</a></li>\n'
        "<li>two</li>\n</ul>\n<ol>\n<li>first</li>\n</ol>\n<blockquote>\n<p>quoted</p>\n</blockquote>\n"
        '<pre><code class="language-sh">echo &lt;hi&gt;\n</code></pre>'
    ) in html
    assert_only_safe_markup(html)
    text, html = parts["[shop] text"]
    assert description in text.replace("\r\n", "\n")
    assert (
        "<p># Upgrade<br>**Pro** plan, *yearly* ~~monthly~~ `x&lt;y` &amp; co<br>second line<br><br>- [Invoice]" in html
    )
    assert "<strong>" not in html and "<h3>" not in html


async def test_markdown_cannot_put_html_scripts_unsafe_links_or_remote_images_in_an_email(
    client, hub, admin_headers, smtp
):
    """Raw HTML is text, a `javascript:` or `data:` link is its label alone, and an image is not loaded (a tracking
    pixel would tell the sender who read the alert, and when): its alt text links to it."""
    await email_rule(client, admin_headers)
    description = (
        "<script>alert(1)</script> <img src=https://t.example/open.gif> <a href=javascript:alert(2)>a</a>\n"
        "[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=) [entity](java&#115;cript:x)\n"
        "![pixel](https://t.example/p.gif?u=ada) ![](https://t.example/q.gif) ![bad](javascript:x)\n"
        '[![logo](https://t.example/l.png)](https://example.com) [q](https://e.com/"onclick="x) [m](mailto:a@b.c)\n'
        '```" onload="x\n</code><script>y</script>\n```'
    )
    body = {"project": "shop", "event": "Sneaky", "description": description, "parser": "markdown"}
    assert (await client.post("/api/v1/events", json=body, headers=admin_headers)).status_code == 201
    assert await hub.outbox.run_once(now_utc()) == 1
    [message] = smtp.messages
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert_only_safe_markup(html)
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    # The image's URL is text like any other: a link to itself, shown, not loaded.
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src="
        '<a href="https://t.example/open.gif">https://t.example/open.gif</a>&gt;'
    ) in html
    assert "<br>\nclick data entity<br>" in html
    assert (
        '<a href="https://t.example/p.gif?u=ada">pixel</a> <a href="https://t.example/q.gif">https://t.example/q.gif</a>'
        in html
    )
    assert 'bad<br>\n<a href="https://example.com">logo</a> <a href="https://e.com/%22onclick=%22x">q</a>' in html
    assert '<a href="mailto:a@b.c">m</a>' in html and "&lt;/code&gt;&lt;script&gt;y&lt;/script&gt;" in html


async def test_a_url_in_a_markdown_description_is_a_link_in_the_email(client, hub, admin_headers, smtp):
    """Pasted bare, or in `<...>`, a URL was text in the email's HTML; in the web app it is a link."""
    await email_rule(client, admin_headers)
    description = "Logs: https://example.com/logs/1. Owner: <ops@example.com>, `https://example.com/code`"
    body = {"project": "shop", "event": "Linked", "description": description, "parser": "markdown"}
    assert (await client.post("/api/v1/events", json=body, headers=admin_headers)).status_code == 201
    assert await hub.outbox.run_once(now_utc()) == 1
    [message] = smtp.messages
    html = message.get_body(("html",)).get_content()
    assert (
        '<p>Logs: <a href="https://example.com/logs/1">https://example.com/logs/1</a>. '
        'Owner: <a href="mailto:ops@example.com">ops@example.com</a>, <code>https://example.com/code</code></p>'
    ) in html
    assert description in message.get_body(("plain",)).get_content()  # the text part keeps the source


MARKDOWN_PIECES = st.sampled_from(
    [*"*_`[]()!<>&#\"' |\n", "**", "~~", "```", "- ", "1. ", "> ", "a", "é", "<script>", "<img src=x>", "&#115;"]
) | st.sampled_from(["https://x.y/", "javascript:", "mailto:a@b", "data:", "//x.y", "onerror="])


@examples(max_examples=300, deadline=None)
@given(st.lists(MARKDOWN_PIECES, max_size=60).map("".join))
def test_any_markdown_becomes_html_with_only_the_hubs_markup_and_safe_links(source):
    from hub_plugins.email.render import _markdown_html

    assert_only_safe_markup(_markdown_html(source))


async def test_a_digest_longer_than_its_list_says_how_many_more(client, hub, admin_headers, smtp):
    """A digest lists 50 notifications: the 5 beyond them were left out without a word, under a subject counting 55."""
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    await email_rule(client, admin_headers, quiet_hours=quiet)
    events = [{"project": "shop", "event": f"held {i}"} for i in range(55)]
    assert (await client.post("/api/v1/events/batch", json={"events": events}, headers=admin_headers)).is_success
    assert await hub.outbox.run_once(now + timedelta(hours=1, minutes=1)) == 1
    [digest] = smtp.messages
    assert digest["Subject"] == "[shop] 55 notifications while you were away"
    text = digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    assert text.count(" UTC · held ") == 50 and html.count("<li>") == 50
    assert "…and 5 more: https://hub.example.com/" in text
    assert '…and 5 more: <a href="https://hub.example.com/">open the hub</a>' in html


async def test_smtp_4xx_retries_and_5xx_fails(client, hub, admin_headers, smtp):
    await email_rule(client, admin_headers)
    smtp.refuse = ["451 try later"]
    await client.post("/api/v1/events", json={"project": "shop", "event": "a"}, headers=admin_headers)
    now = now_utc()
    await hub.outbox.run_once(now)
    [pending] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert pending["state"] == "pending" and pending["last_status"] == 451
    await hub.outbox.run_once(now + timedelta(hours=1))
    assert len(smtp.messages) == 1

    smtp.refuse = ["554 no such mailbox"]
    await client.post("/api/v1/events", json={"project": "shop", "event": "b"}, headers=admin_headers)
    await hub.outbox.run_once(now_utc())
    failed = (await client.get("/api/v1/deliveries?state=failed", headers=admin_headers)).json()["items"]
    assert [d["last_status"] for d in failed] == [554]


@pytest.mark.parametrize(
    ("smtp", "outcome"), [({}, "delivered"), ({"enable_SMTPUTF8": False}, "failed")], indirect=["smtp"]
)
async def test_an_address_in_non_ascii_letters_fails_at_once_on_a_server_without_smtputf8(
    client, hub, admin_headers, smtp, outcome
):
    """A relay that does not offer SMTPUTF8 can never take that address: the email is not retried for a day."""
    rule = {"name": "mail", "targets": [{"email": "jürgen@example.com"}, {"email": "ops@example.com"}]}
    assert (await client.put("/api/v1/routes/mail", json=rule, headers=admin_headers)).status_code == 200
    await client.post("/api/v1/events", json={"project": "shop", "event": "a"}, headers=admin_headers)
    await hub.outbox.run_once(now_utc())
    deliveries = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    states = {d["address"]: (d["state"], d["last_error"]) for d in deliveries}
    assert states["ops@example.com"] == ("delivered", None)
    state, error = states["jürgen@example.com"]
    assert state == outcome
    if outcome == "failed":
        assert "SMTPUTF8" in error
        assert [to for _, to in smtp.envelopes] == [["ops@example.com"]]
    else:
        assert sorted(to for _, [to] in smtp.envelopes) == ["jürgen@example.com", "ops@example.com"]


async def test_a_slow_mail_server_holds_only_the_sending_slots_its_connections_can_use(
    client, hub, admin_headers, smtp, settings
):
    """Emails wait for one of the mail server's turns (as many as `outbound.max_connections_per_host`) before they
    take a sending slot: a backlog to a slow server leaves the other slots free, and a Slack page claimed after it
    goes out at once."""
    settings.delivery.concurrency = 4
    settings.outbound.max_connections_per_host = 2
    await hub.outbound.aclose()
    hub.outbound = OutboundClient(allow=["127.0.0.1"], max_connections_per_host=2)
    smtp.delay = 0.4
    emails_before_page: list[int] = []

    def slack(received: Received):
        emails_before_page.append(len(smtp.messages))
        return 200, {}, b"ok"

    with LoopbackServer(slack) as server:
        await email_rule(client, admin_headers)
        for i in range(8):
            await client.post("/api/v1/events", json={"project": "shop", "event": f"slow {i}"}, headers=admin_headers)
        rule = {"name": "mail", "targets": [{"slack": server.url}]}
        assert (await client.put("/api/v1/routes/mail", json=rule, headers=admin_headers)).status_code == 200
        await client.post("/api/v1/events", json={"project": "shop", "event": "page"}, headers=admin_headers)
        assert await hub.outbox.run_once(now_utc()) == 9
    # Four rounds of two emails; with every slot open to email, the page waited for the first four to be sent. Now
    # it goes with the first round (a busy machine may let that round end first).
    [emails_sent] = emails_before_page
    assert emails_sent <= 2
    assert smtp.most_in_hand == 2 and len(smtp.messages) == 8


def _certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1, as a private relay would have; returns (cert, key) paths."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _Logins:
    """aiosmtpd authenticator: accepts one user, records who logged in."""

    def __init__(self) -> None:
        self.users: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"hub", b"s3cret")
        if ok:
            self.users.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers a failure with 535


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_starttls_and_tls_with_login(tmp_path, security):
    """The relay's certificate is verified (trusted through `ca_file`), and credentials go only over TLS."""
    import ssl

    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, logins, port = Inbox(), _Logins(), free_port()
    if security == "tls":
        # TLS from the first byte. (aiosmtpd only counts a STARTTLS upgrade for `auth_require_tls`.)
        options = {"ssl_context": context, "auth_require_tls": False}
    else:
        options = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=logins, **options)
    controller.start()
    try:
        delivered = await _send_one(tmp_path / "trusting.db", port, security, ca_file=str(cert))
        refused = await _send_one(tmp_path / "default.db", port, security, ca_file="")
    finally:
        controller.stop()
    assert delivered["state"] == "delivered", delivered["last_error"]
    # Without `ca_file` the private certificate is not trusted: nothing is sent, the delivery is retried.
    assert refused["state"] == "pending" and "certificate" in (refused["last_error"] or "").lower()
    [message] = inbox.messages
    assert message["Subject"] == "[ops] Disk almost full"
    assert logins.users == ["hub"]


async def test_a_refused_login_is_tried_again_not_failed_for_good(tmp_path):
    """A wrong password is the hub's configuration, not the email's: once it is mended, the email still goes."""
    import ssl

    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, logins, port = Inbox(), _Logins(), free_port()
    options = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=logins, **options)
    controller.start()
    try:
        refused = await _send_one(tmp_path / "hub.db", port, "starttls", ca_file=str(cert), password="wrong")
    finally:
        controller.stop()
    assert refused["state"] == "pending", refused
    assert refused["last_status"] == 535, refused["last_error"]
    assert "refused the hub's login (check email.username and password)" in refused["last_error"]
    assert "wrong" not in refused["last_error"]
    assert inbox.messages == [] and logins.users == []


async def _send_one(db, port: int, security: str, ca_file: str, password: str = "s3cret") -> dict:
    from hub.config import load_settings
    from hub.core import Hub
    from hub.models import EventIn
    from hub.outbox.log import get_delivery

    plugins = (
        f'{{email = {{host = "127.0.0.1", port = {port}, security = "{security}", username = "hub", '
        f'password = "{password}", ca_file = "{ca_file}", from_address = "hub@example.com"}}}}'
    )
    settings = load_settings(
        environ={
            "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
            "HUB_SERVER_RUN_JOBS": "false",
            "HUB_PLUGINS": plugins,
            "HUB_ROUTES": '[{name = "mail", targets = [{email = "oncall@example.com"}]}]',
        }
    )
    hub = Hub(settings)
    await hub.start()
    try:
        await hub.context.ingest([EventIn(event="Disk almost full")], project="ops", source="test")
        assert await hub.outbox.run_once(now_utc()) == 1
        async with hub.db.reader.connect() as conn:
            return msgspec.to_builtins(await get_delivery(conn, 1))
    finally:
        await hub.stop()


async def test_a_mail_server_that_stops_answering_gets_one_email_at_a_time(tmp_path):
    """After emails time out, the next round sends one to see whether the server is back and retries the others
    later at once, instead of holding a sending slot for a timeout each."""
    import asyncio

    from hub.config import load_settings
    from hub.core import Hub
    from hub.models import EventIn

    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)  # accepted, never greeted

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = load_settings(
        environ={
            "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
            "HUB_SERVER_RUN_JOBS": "false",
            "HUB_DELIVERY_CONCURRENCY": "2",
            "HUB_PLUGINS": f'{{email = {{host = "127.0.0.1", port = {port}, security = "none", '
            "timeout_seconds = 0.5}}",
            "HUB_ROUTES": '[{name = "mail", targets = [{email = "oncall@example.com"}]}]',
        }
    )
    hub = Hub(settings)
    await hub.start()
    try:
        for i in range(6):
            await hub.context.ingest([EventIn(event=f"Disk almost full {i}")], project="ops", source="test")
        assert await hub.outbox.run_once(now_utc()) == 6
        # Two sending slots: the first two time out, then one probe at a time; the others are refused at once.
        assert len(connections) == 3
        assert await hub.outbox.run_once(now_utc() + timedelta(hours=1)) == 6
        # Counted, not timed: each timeout is a connection the server accepted and never greeted.
        assert len(connections) == 4, "one timeout (the probe), not one per pair of emails"
        async with hub.db.reader.connect() as conn:
            errors = [row.last_error for row in await conn.execute(text("SELECT last_error FROM deliveries"))]
    finally:
        await hub.stop()
        server.close()
        for writer in connections:
            writer.close()
    refused = [e for e in errors if "not sent: the mail server 127.0.0.1" in e]
    assert len(refused) == 5 and all("did not answer a request" in e for e in refused)  # the probe's is a timeout
