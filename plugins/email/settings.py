"""The `[plugins.email]` table: where and how to hand mail over."""

from __future__ import annotations

from email.policy import default
from typing import Annotated, Literal

import msgspec


class EmailSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`security`: "starttls" (upgrade a plain connection, usually port 587), "tls" (TLS from the start,
    usually 465) or "none" (a local relay). `username`/`password`: SMTP AUTH, both or neither.
    `from_address`: the sender. `timeout_seconds`: per SMTP conversation. `ca_file`: a PEM bundle to trust
    instead of the system's (a relay with a private certificate authority); certificates are always verified."""

    host: str = "localhost"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: str = ""
    from_address: Annotated[str, msgspec.Meta(pattern=r"^.*<?[^@\s<>]+@[^@\s<>]+>?\Z")] = "hub <hub@localhost>"
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    ca_file: str = ""

    def __post_init__(self) -> None:
        # The From header's address is also the envelope sender: `Acme, Inc. <a@acme.com>` is two addresses, and
        # the server got `MAIL FROM:<Acme>`, refusing every email.
        addresses = default.header_factory("From", self.from_address).addresses
        if len(addresses) != 1 or not addresses[0].username or not addresses[0].domain:
            raise ValueError(
                f"`from_address` must be one address, as `Name <user@example.com>` (a name with a comma or other "
                f'punctuation in double quotes: `"Acme, Inc." <user@example.com>`), not {self.from_address!r}'
            )
        # One without the other logged in with an empty password (or none), and every email failed on it.
        if bool(self.username) != bool(self.password):
            raise ValueError("`username` and `password` are SMTP AUTH together: set both, or neither")
