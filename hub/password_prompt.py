"""Reading a new password on the command line: from stdin (`--password-stdin`, for scripts) or a prompt."""

from __future__ import annotations

import getpass
import sys

from hub.passwords import check_strength


def read_new_password(from_stdin: bool) -> str | None:
    """The password to set, or None when there is no terminal to ask on (and none was piped in)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password for the web app (at least 10 characters): ")
        if getpass.getpass("Again: ") != password:
            raise ValueError("the two passwords differ")
    else:
        return None
    check_strength(password)
    return password
