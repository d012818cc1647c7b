"""Handing one email to the SMTP server and classifying its answer (4xx try again, 5xx give up)."""

from __future__ import annotations

import aiosmtplib

from hub.pluginapi import HubContext, Message, Outcome, Recipient

from .render import build


class EmailNotifier:
    name = "email"

    async def send(self, hub: HubContext, recipient: Recipient, message: Message) -> Outcome:
        settings = hub.plugin_settings("email")
        mail = build(
            message,
            sender=settings.from_address,
            to=recipient.address,
            unsubscribe=f"{hub.public_url}/settings",  # the web app's page with the notification settings
        )
        try:
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
            result = "retry" if 400 <= exc.code < 500 else "failed"
            return Outcome(result, exc.code, exc.message[:500])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [e.code for e in exc.recipients]
            return Outcome(
                "retry" if all(400 <= c < 500 for c in codes) else "failed", codes[0] if codes else None, str(exc)[:500]
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Outcome("retry", detail=f"{type(exc).__name__}: {exc}"[:500])
        return Outcome("delivered", 250, reply[:500])
