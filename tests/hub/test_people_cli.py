"""`hub users`, `hub teams`, `hub actions secret` and `hub routes list` from the shell, against the same database
the API reads, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import sys

import msgspec
import pytest

from hub import cli
from hub.people.models import SubscriptionIn
from hub.sessions import token_id


@pytest.fixture
def shell(settings, monkeypatch, capsys):
    monkeypatch.setenv("HUB_CONFIG", "")
    monkeypatch.setenv("HUB_DATABASE_URL", settings.database.url)
    monkeypatch.setenv(
        "HUB_ROUTES", '[{name = "ops-pages", match = {min_severity = "critical"}, targets = [{team = "ops"}]}]'
    )

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_users_and_teams_from_the_shell(shell):
    code, out, err = shell(
        "users", "add", "Ada@Example.com", "--name", "Ada", "--timezone", "Europe/Berlin", "--quiet", "22:00-07:00",
        "--project", "shop", "--no-password",
    )  # fmt: skip
    assert code == 0, err
    ada_id = out.strip()
    assert shell("users", "add", "bob@example.com", "--role", "viewer", "--no-password")[0] == 0
    assert shell("users", "add", "ada@example.com", "--no-password")[0] == 1  # already exists: not bad usage

    assert shell("teams", "add", "ops", "--name", "Operations", "--member", "ada@example.com")[0] == 0
    assert shell("teams", "add-member", "ops", "bob@example.com")[0] == 0
    code, out, _ = shell("teams", "list", "--json")
    [ops] = json.loads(out)
    assert ops["slug"] == "ops" and ops["members"] == ["ada@example.com", "bob@example.com"]

    code, out, _ = shell("users", "list", "--json")
    users = {u["email"]: u for u in json.loads(out)}
    ada = users["ada@example.com"]
    assert ada["id"] == ada_id and ada["timezone"] == "Europe/Berlin" and ada["projects"] == ["shop"]
    assert ada["quiet_hours"] == {"start": "22:00", "end": "07:00"} and ada["teams"] == ["ops"]
    assert users["bob@example.com"]["role"] == "viewer"

    assert shell("users", "update", "ada@example.com", "--quiet", "", "--timezone", "UTC")[0] == 0
    ada = {u["email"]: u for u in json.loads(shell("users", "list", "--json")[1])}["ada@example.com"]
    assert ada["quiet_hours"] is None and ada["timezone"] == "UTC"
    code, _, err = shell("users", "update", "ada@example.com", "--timezone", "Mars/Olympus")
    assert code == 2 and "zone" in err.lower()
    code, _, err = shell("users", "update", "ada@example.com", "--timezone", "localtime")  # the server's zone
    assert (code, err) == (2, "hub: `timezone` must be an IANA time zone name such as Europe/Berlin, not 'localtime'\n")

    assert shell("teams", "remove-member", "ops", "bob@example.com")[0] == 0
    assert shell("users", "remove", "bob@example.com")[0] == 0
    assert shell("users", "remove", "bob@example.com")[0] != 0
    assert shell("teams", "remove", "ops") == (
        1,
        "",
        "hub: routing rule ops-pages sends to team ops; change it first\n",
    )
    assert [t["slug"] for t in json.loads(shell("teams", "list", "--json")[1])] == ["ops"]


def test_action_secret_shown_and_rotated_from_the_shell(shell):
    assert shell("keys", "create", "--project", "shop")[0] == 0  # the key makes the project
    code, out, _ = shell("actions", "secret", "shop")
    assert code == 0 and out.strip().startswith("whsec_")
    first = out.strip()
    assert shell("actions", "secret", "shop")[1].strip() == first  # kept, not remade
    code, out, err = shell("actions", "secret", "shop", "--rotate")
    assert code == 0 and out.strip().startswith("whsec_") and out.strip() != first
    assert "previous secret also signs until" in err
    assert shell("actions", "secret", "shop")[1].strip() == out.strip()


def test_no_action_secret_for_a_project_the_hub_does_not_know(shell):
    """It made the project, so a typo left behind a project that no event would ever fill."""
    assert shell("actions", "secret", "shpo") == (1, "", "hub: no project shpo\n")
    assert shell("actions", "secret", "shpo", "--rotate") == (1, "", "hub: no project shpo\n")  # none was made


def test_routes_list_shows_config_and_stored_rules_in_order(shell):
    code, out, err = shell("routes", "list")
    assert code == 0, err
    assert out.splitlines() == ["ops-pages\tconfig\tteam ops (push)"]


def test_the_password_hint_names_the_command_people_type(shell, monkeypatch):
    """Run through `./run`, the hint said `hub users password ...`, a command its users have no `hub` for."""
    monkeypatch.setenv("HUB_COMMAND_NAME", "./run")
    code, _, err = shell("users", "add", "ada@example.com", "--no-password")
    assert code == 0 and "set a password with  ./run users password ada@example.com" in err


def test_a_pattern_is_shown_as_people_write_it(shell):
    """It read '^[^@\\\\s]+@...\\\\Z': Python's repr of the pattern, every backslash doubled, and `\\Z` for `$`."""
    code, _, err = shell("users", "add", "not-an-address", "--no-password")
    assert code == 2 and "regex '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'" in err, err


@pytest.mark.parametrize(
    ("quiet", "rule"),
    [("nonsense", "look like 22:00-07:00"), ("25:00-07:00", "regex"), ("22:00-22:00", "must differ")],
)
def test_bad_quiet_hours_name_the_option(shell, quiet, rule):
    """It said "at `$.start`", a field of the API's body that no option of the command is called."""
    code, out, err = shell("users", "add", "ada@example.com", "--no-password", "--quiet", quiet)
    assert (code, out) == (2, "") and err.startswith("hub: --quiet") and rule in err, err


def test_a_password_reset_removes_every_push_device_of_the_user(shell, live_hub, monkeypatch):
    """An admin resetting a stolen password: a device registered with the stolen session, or by an admin, no longer
    gets the person's notifications (the person turns them on again after signing in)."""
    assert shell("users", "add", "ada@example.com", "--no-password")[0] == 0
    people = live_hub.hub.people

    def device(name: str) -> SubscriptionIn:
        return msgspec.convert(
            {"endpoint": f"https://push.example.com/{name}", "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22}},
            SubscriptionIn,
        )

    async def register_devices() -> None:
        ada = await people.get_user("ada@example.com")
        assert ada is not None
        stolen = await live_hub.hub.sessions.create(ada.id, "a thief's browser")
        assert await people.add_subscription(ada.id, device("thiefs-phone"), token_id(stolen)) is not None
        assert await people.add_subscription(ada.id, device("desk")) is not None

    live_hub.run(register_devices())
    monkeypatch.setattr(sys, "stdin", io.StringIO("a brand new passphrase\n"))
    assert shell("users", "password", "ada@example.com", "--password-stdin")[0] == 0
    assert live_hub.run(people.list_subscriptions("ada@example.com")) == []
