"""`hub checks ...`: the same checks as the API, from the shell."""

from __future__ import annotations

import json

import pytest

from hub.cli import main


@pytest.fixture
def hub_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HUB_SERVER_RUN_JOBS", "false")

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_checks_commands(hub_cli):
    code, out, _ = hub_cli(
        "checks",
        "create",
        "--name",
        "Nightly backup",
        "--project",
        "ops",
        "--cron",
        "0 3 * * *",
        "--tz",
        "Europe/Berlin",
    )
    assert code == 0
    check = json.loads(out)
    assert (check["slug"], check["cron"], check["status"]) == ("nightly-backup", "0 3 * * *", "new")
    uuid = check["uuid"]

    code, out, _ = hub_cli("checks", "list")
    assert out.split("\t")[:3] == [uuid, "new", "ops/nightly-backup"]
    code, out, _ = hub_cli(
        "checks", "update", uuid, "--period", "3600", "--grace", "120", "--manual-resume", "true", "--methods", "POST"
    )
    updated = json.loads(out)
    assert (updated["period"], updated["cron"], updated["grace"]) == (3600, None, 120)
    assert (updated["manual_resume"], updated["methods"]) == (True, "POST")
    assert hub_cli("checks", "pause", uuid)[2].startswith("paused")
    assert json.loads(hub_cli("checks", "show", uuid)[1])["status"] == "paused"
    assert hub_cli("checks", "resume", uuid)[0] == 0
    keys = json.loads(hub_cli("checks", "keys", "ops")[1])
    assert keys["project"] == "ops" and keys["ping_key"] and keys["badge_key"]
    assert hub_cli("checks", "delete", uuid)[0] == 0
    code, _, err = hub_cli("checks", "show", uuid)
    assert code == 1 and "no check" in err


def test_list_by_project_ignores_case(hub_cli):
    """Projects are stored lower-case; `--project OPS` used to list nothing."""
    hub_cli("checks", "create", "--name", "Backup", "--project", "OPS")
    hub_cli("checks", "create", "--name", "Report", "--project", "web")
    for project in ("ops", "OPS", "Ops"):
        code, out, _ = hub_cli("checks", "list", "--project", project)
        assert code == 0 and [line.split("\t")[2] for line in out.splitlines()] == ["ops/backup"]


def test_keys_of_a_project_that_is_no_slug_are_refused(hub_cli):
    code, out, err = hub_cli("checks", "keys", "bad proj")
    assert code == 2 and "letters, digits" in err and out == ""


def test_bad_input_is_reported(hub_cli):
    """Bad input exits 2, as a bad option and every other command's bad input do (it was 1, as for a conflict)."""
    code, _, err = hub_cli(
        "checks", "create", "--name", "x", "--project", "ops", "--period", "60", "--cron", "* * * * *"
    )
    assert code == 2 and "give one, not both" in err
    code, _, err = hub_cli(
        "checks", "create", "--name", "x", "--project", "ops", "--cron", "0 0 * * *", "--tz", "Moon/Base"
    )
    assert code == 2 and "`tz`" in err
    code, out, _ = hub_cli("checks", "create", "--name", "x", "--project", "ops")
    uuid = json.loads(out)["uuid"]
    code, _, err = hub_cli("checks", "update", uuid, "--tz", "Moon/Base")
    assert code == 2 and "`tz`" in err
    code, _, err = hub_cli("checks", "create", "--name", "x", "--project", "ops")
    assert code == 1 and "already has a check with slug `x`" in err


@pytest.mark.parametrize(
    ("option", "shown"),
    [
        ("--slug", "'^[a-z0-9][a-z0-9_.-]{0,63}$' - at `$.slug`"),
        ("--name", "'^[^\\x00-\\x1f\\x7f-\\x9f]*$' - at `$.name`"),
    ],
)
def test_a_pattern_is_shown_as_people_write_it(hub_cli, option, shown):
    """These read '...{0,63}\\\\Z' and '^[^\\\\x00-\\\\x1f...': Python's repr of the pattern, not the pattern."""
    code, _, err = hub_cli("checks", "create", "--name", "x", "--project", "ops", option, "Bad\tSlug")
    assert code != 0 and shown in err, err
