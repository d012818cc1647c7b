"""Handing one email to the SMTP server and classifying its answer (4xx try again, 5xx give up).

Two answers are classed by whose fault they are rather than by their code. A refused login (530, 534, 535, 538)
is the hub's configuration, not the email's: the email is tried again later, so it goes out once the password is
mended, instead of every email failing for good. A recipient's address in non-ASCII letters, which this server
cannot take (no SMTPUTF8), will never go through it: that email fails at once instead of being retried for a day.

Every email goes to one destination, the mail server: the outbox hands it at most
`outbound.max_connections_per_host` emails at once, the others waiting their turn without holding the sending
slots that notifications by push and Slack need. A server that times out or refuses the connection gets one
email at a time until it answers again; the others are retried later without waiting out a timeout each
(hub.breaker).
"""

from __future__ import annotations

import aiosmtplib

from hub.pluginapi import Destination, HubContext, Message, Outcome, Recipient

from .render import build, reader_zone

# Authentication required, application-specific password required, credentials invalid, encryption required.
LOGIN_REFUSED_CODES = frozenset({530, 534, 535, 538})


class EmailNotifier:
    name = "email"

    def __init__(self) -> None:
        self._servers: dict[tuple[str, int], Destination] = {}

    def destination(self, hub: HubContext, recipient: Recipient) -> Destination:
        """The mail server, whoever the email is for."""
        return self._server(hub)

    def _server(self, hub: HubContext) -> Destination:
        """One per configured server, with as many turns as a webhook host gets connections."""
        settings = hub.plugin_settings("email")
        key = (settings.host, settings.port)
        if key not in self._servers:
            limit = hub.settings.outbound.max_connections_per_host
            self._servers[key] = Destination(f"the mail server {settings.host}:{settings.port}", limit)
        return self._servers[key]

    async def send(self, hub: HubContext, recipient: Recipient, message: Message) -> Outcome:
        settings = hub.plugin_settings("email")
        breaker = self._server(hub).breaker
        if (refusal := breaker.refusal()) is not None:
            return Outcome("retry", detail=refusal)
        mail = build(
            message,
            sender=settings.from_address,
            to=recipient.address,
            unsubscribe=f"{hub.public_url}/settings",  # the web app's page with the notification settings
            zone=reader_zone(recipient.timezone),
        )
        try:
            with breaker.attempt():
                _, reply = await aiosmtplib.send(
                    mail,
                    hostname=settings.host,
                    port=settings.port,
                    username=settings.username or None,
                    password=settings.password or None,
                    use_tls=settings.security == "tls",
                    start_tls=settings.security == "starttls",
                    timeout=settings.timeout_seconds,
                    cert_bundle=settings.ca_file or None,
                )
        except aiosmtplib.SMTPResponseException as exc:
            breaker.answered()
            if exc.code in LOGIN_REFUSED_CODES:
                detail = f"the mail server refused the hub's login (check email.username and password): {exc.message}"
                return Outcome("retry", exc.code, detail[:500])
            result = "retry" if 400 <= exc.code < 500 else "failed"
            return Outcome(result, exc.code, exc.message[:500])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            breaker.answered()
            codes = [e.code for e in exc.recipients]
            return Outcome(
                "retry" if all(400 <= c < 500 for c in codes) else "failed", codes[0] if codes else None, str(exc)[:500]
            )
        except aiosmtplib.SMTPNotSupported as exc:
            breaker.answered()
            result = "retry" if recipient.address.isascii() else "failed"  # a sender's address is configuration
            return Outcome(result, detail=f"{type(exc).__name__}: {exc}"[:500])
        except (aiosmtplib.SMTPException, OSError) as exc:
            if _unanswered(exc):
                breaker.unanswered(f"{type(exc).__name__}: {exc}")
            return Outcome("retry", detail=f"{type(exc).__name__}: {exc}"[:500])
        breaker.answered()
        return Outcome("delivered", 250, reply[:500])


def _unanswered(exc: Exception) -> bool:
    """A timeout or a failed connection; not a server that answered and then hung up or broke the protocol."""
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | aiosmtplib.SMTPConnectError):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, aiosmtplib.SMTPException)
