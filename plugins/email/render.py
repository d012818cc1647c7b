"""A Message as an email: subject, a plain-text part and an HTML part carrying the same facts."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime, tzinfo
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from html import escape
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from hub.pluginapi import Message, markdown_parser, safe_link, tag_text, truncate

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

MAX_CONTENT = 4000
MAX_ITEMS = 50
_SEVERITY_WORDS = {"warning": "Warning", "critical": "Critical"}


def reader_zone(name: str | None) -> tzinfo:
    """The zone an email's times are in: the hub user's own, so that nobody reading it does arithmetic; UTC for a
    bare address (nobody's zone is known), or for a zone this machine no longer has (the user's was checked when
    set, but tzdata can change under a running hub)."""
    if name is None:
        return UTC
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return UTC


def _local(at: datetime, zone: tzinfo, pattern: str) -> str:
    """`at` on the reader's clock, then its zone's abbreviation for that date (CET in winter, CEST in summer). The
    zones whose abbreviation is a bare offset (America/Sao_Paulo's `-03`) read `UTC-03`."""
    local = at.astimezone(zone)
    name = f"{local:%Z}"
    return f"{local:{pattern}} {name if name[:1].isalpha() else 'UTC' + name}"


def _facts(message: Message, zone: tzinfo) -> list[tuple[str, str]]:
    facts = [("Project", message.project), ("Channel", message.channel), ("Severity", message.severity)]
    if message.event is not None:
        facts.append(("When", _local(message.event.created_at, zone, "%Y-%m-%d %H:%M:%S")))
        facts += [(f"#{k}", tag_text(v)) for k, v in message.event.tags.items()]
    if message.count > 1:
        facts.append(("Events", str(message.count)))
    return facts


def _content(message: Message) -> str | None:
    if message.event is None or message.event.content is None:
        return None
    text = msgspec.json.format(msgspec.json.encode(message.event.content), indent=2).decode()
    return truncate(text, MAX_CONTENT)


def _links(message: Message) -> list[tuple[str, str]]:
    links = [("Open in hub", message.url)]
    for action in message.actions:
        # Runnable actions run from the event's page in the hub; external ones are plain links.
        links.append((action.label, action.url if action.external else message.url))
    return links


def _more(message: Message) -> str:
    """What a digest leaves out of its list, said (its title counts them all)."""
    left = len(message.items) - MAX_ITEMS
    return f"…and {left} more" if left > 0 else ""


def _item_label(item: Message, zone: tzinfo) -> str:
    """When a held notification's event happened, and its severity unless info, ending in ` · ` (or nothing): a
    digest line is one of many, and a warning among them must stand out."""
    when = _local(item.event.created_at, zone, "%a %H:%M") if item.event is not None else ""
    return "".join(f"{part} · " for part in (when, _SEVERITY_WORDS.get(item.severity, "")) if part)


def text_body(message: Message, unsubscribe: str, zone: tzinfo) -> str:
    if message.is_digest:
        lines = [message.title, ""] + [
            f"- {_item_label(i, zone)}{i.title} ({i.project}/{i.channel}) {i.url}" for i in message.items[:MAX_ITEMS]
        ]
        if more := _more(message):
            lines.append(f"{more}: {message.url}")
    else:
        lines = [message.title, ""]
        if message.body:
            lines += [message.body, ""]
        lines += [f"{k}: {v}" for k, v in _facts(message, zone)]
        if content := _content(message):
            lines += ["", content]
        lines += [""] + [f"{label}: {url}" for label, url in _links(message)]
    lines += ["", f"Notification settings: {unsubscribe}"]
    return "\n".join(lines) + "\n"


@cache
def _markdown() -> MarkdownIt:
    return markdown_parser()


def _markdown_html(source: str) -> str:
    """The description rendered as the web app shows it, safe in an email: raw HTML stays text (markdown-it escapes
    every piece of text), a link goes nowhere but http(s) and mailto, and an image is not loaded (a tracking pixel
    would tell the sender who opened the alert, and when): its alt text is shown, linked to it."""
    md = _markdown()
    tokens = md.parse(source)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            # The email's title is an h2: `#` is an h3, as on the event's card in the web app.
            token.tag = f"h{min(int(token.tag[1:]) + 2, 6)}"
        elif token.children:
            token.children = _unload(token.children)
    return md.renderer.render(tokens, md.options, {})


def _unload(children: list[Token]) -> list[Token]:
    """Inline tokens with unsafe links unlinked (their label stays) and images turned into links to them."""
    from markdown_it.token import Token

    out: list[Token] = []
    in_link = unlinked = False  # links do not nest: the next link_close is the open one's
    for token in children:
        if token.type == "link_open":
            in_link, unlinked = True, not safe_link(str(token.attrGet("href") or ""))
            if unlinked:
                continue
        elif token.type == "link_close":
            in_link, was_unlinked, unlinked = False, unlinked, False
            if was_unlinked:
                continue
        elif token.type == "image":
            src = str(token.attrGet("src") or "")
            alt = "".join(t.content for t in token.children or [] if t.type in ("text", "code_inline"))
            if in_link or not safe_link(src):
                out.append(Token("text", "", 0, content=alt))
            else:
                out += [
                    Token("link_open", "a", 1, attrs={"href": src}),
                    Token("text", "", 0, content=alt or src),
                    Token("link_close", "a", -1),
                ]
            continue
        out.append(token)
    return out


# In the head, not inline: the parts below stay the plain markup the web app's renderer makes. Mail clients that
# drop a <style> (a few webmails) still show readable, unstyled HTML.
STYLE = """
body { margin: 0 auto; padding: 16px; max-width: 640px; color: #1d1d27; background: #ffffff;
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
h2 { font-size: 20px; line-height: 1.3; margin: 0 0 12px; }
.severity { display: inline-block; margin: 0 0 8px; padding: 2px 10px; border-radius: 999px; font-size: 13px;
  font-weight: 600; }
.severity-warning { background: #fef3c7; color: #92400e; }
.severity-critical { background: #fde8e8; color: #b42318; }
table { border-collapse: collapse; margin: 12px 0; }
th { padding: 2px 16px 2px 0; color: #5d5d6e; font-weight: 500; vertical-align: top; }
pre { padding: 12px; border-radius: 6px; background: #f3f3f7; font-size: 13px; white-space: pre-wrap; }
a { color: #5b4ee5; }
a.button { display: inline-block; padding: 8px 14px; border-radius: 6px; background: #5b4ee5; color: #ffffff;
  font-weight: 600; text-decoration: none; }
.links { margin: 16px 0; }
small { color: #5d5d6e; }
@media (prefers-color-scheme: dark) {
  body { color: #e9e9f0; background: #16161d; }
  th, small { color: #a4a4b8; }
  pre { background: #24242e; }
  a { color: #a59cff; }
  a.button { background: #6d62f0; color: #ffffff; }
}
"""


def html_body(message: Message, unsubscribe: str, zone: tzinfo) -> str:
    parts = []
    if severity := _SEVERITY_WORDS.get(message.severity):  # in words as well as colour
        parts.append(f'<p class="severity severity-{message.severity}">{severity}</p>')
    parts.append(f"<h2>{escape(message.title)}</h2>")
    if message.is_digest:
        parts.append("<ul>")
        for item in message.items[:MAX_ITEMS]:
            parts.append(
                f'<li>{escape(_item_label(item, zone))}<a href="{escape(item.url)}">{escape(item.title)}</a> '
                f"<small>{escape(item.project)}/{escape(item.channel)}</small></li>"
            )
        parts.append("</ul>")
        if more := _more(message):
            parts.append(f'<p>{more}: <a href="{escape(message.url)}">open the hub</a></p>')
    else:
        if message.body and message.is_markdown:
            parts.append(_markdown_html(message.body))
        elif message.body:
            # HTML folds line breaks into spaces; the text part keeps them, and so must this one.
            parts.append(f"<p>{'<br>'.join(escape(line) for line in message.body.splitlines())}</p>")
        rows = "".join(
            f"<tr><th align=left>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in _facts(message, zone)
        )
        parts.append(f"<table>{rows}</table>")
        if content := _content(message):
            parts.append(f"<pre>{escape(content, quote=False)}</pre>")
        (hub_label, hub_url), *others = _links(message)  # "Open in hub" first, as a button
        links = [f'<a class="button" href="{escape(hub_url)}">{escape(hub_label)}</a>']
        links += [f'<a href="{escape(url)}">{escape(label)}</a>' for label, url in others]
        parts.append(f'<p class="links">{" &nbsp; ".join(links)}</p>')
    parts.append(f'<p><small><a href="{escape(unsubscribe)}">Notification settings</a></small></p>')
    head = (
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style>"
    )
    return f"<!doctype html><html><head>{head}</head><body>" + "".join(parts) + "</body></html>"


def _set_subject(mail: EmailMessage, title: str) -> None:
    """The title on one line (a header cannot hold a line break) without control characters, cut to 200.

    Assigned as text, a header value is parsed as if it came off the wire: an RFC 2047 encoded word in it is
    decoded, and one carrying line breaks wrote headers and a body of its own into the email. A subject holding
    `=?` is therefore written as encoded words of its own, which a mail client decodes back to the title as typed.
    """
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in title)
    subject = truncate(" ".join(text.split()), 200) or ""
    if "=?" in subject:
        mail.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())
    else:
        mail["Subject"] = subject


def _thread(message: Message, domain: str) -> str | None:
    """A Message-ID for what this email belongs to, the event's timeline or its notification group, never sent
    itself: as `In-Reply-To` and `References` it makes mail clients show a deploy's steps, or an alert and its
    follow-ups, as one conversation (GitHub's notification emails do the same)."""
    if message.event is None:
        return None
    if message.event.context_id is not None:
        what = f"context\n{message.project}\n{message.event.context_id}"
    elif message.group_key is not None:
        what = f"group\n{message.project}\n{message.group_key}"
    else:
        return None
    return f"<thread.{hashlib.sha256(what.encode()).hexdigest()[:32]}@{domain}>"


def build(message: Message, *, sender: str, to: str, unsubscribe: str, zone: tzinfo) -> EmailMessage:
    """`zone`: the one every time in the email is shown in (the header `Date` aside, which mail clients convert)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    severity = _SEVERITY_WORDS.get(message.severity)  # a warning must not look like any other email in a list
    _set_subject(mail, f"[{message.project}] {severity + ': ' if severity else ''}{message.title}")
    mail["Date"] = format_datetime(datetime.now(UTC))  # +0000: UTC (-0000 would say "time zone unknown")
    # RFC 5322 (3.6.4): the id is unique worldwide when its right side is the sender's own domain; `@hub` is not.
    domain = mail["From"].addresses[0].domain
    domain = domain if domain.isascii() else "hub"
    # The same on every try of a delivery (a hub, by its settings page, a delivery, an address, and its events,
    # whose ids no other database repeats as delivery ids do): a resend after a lost answer to DATA is one email to
    # mail clients, which drop a repeated Message-ID.
    events = ",".join(m.event.id for m in message.items or [message] if m.event is not None)
    sent = f"{unsubscribe}\n{message.id}\n{to}\n{events}"
    mail["Message-ID"] = f"<delivery.{hashlib.sha256(sent.encode()).hexdigest()[:32]}@{domain}>"
    if (thread := _thread(message, domain)) is not None:
        mail["In-Reply-To"] = mail["References"] = thread
    mail["List-Unsubscribe"] = f"<{unsubscribe}>"
    mail["X-Hub-Delivery"] = message.id
    # RFC 3834: sent by a machine, so out-of-office responders do not answer it.
    mail["Auto-Submitted"] = "auto-generated"
    if message.severity == "critical":
        mail["Importance"] = "high"
    text, html = text_body(message, unsubscribe, zone), html_body(message, unsubscribe, zone)
    # Quoted-printable keeps the message 7-bit (an emoji, an accent) for mail servers without 8BITMIME.
    mail.set_content(text, cte=_transfer_encoding(text))
    mail.add_alternative(html, subtype="html", cte=_transfer_encoding(html))
    return mail


def _transfer_encoding(body: str) -> str | None:
    return None if body.isascii() else "quoted-printable"
