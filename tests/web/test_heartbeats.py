"""The heartbeats page in a real browser: the snippets under a check are ready to paste (the wrapper line runs
as shown, the crontab line matches the check's schedule), and two open forms keep their labels to themselves."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import httpx
from playwright.sync_api import expect

HUB_CLI = Path(sys.executable).with_name("hub")


def make_check(web_hub, name: str, project: str = "beats", **schedule) -> dict:
    response = httpx.post(
        f"{web_hub.url}/api/v1/checks",
        json={"name": name, "project": project, **schedule},
        headers={"Authorization": f"Bearer {web_hub.key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def open_snippets(page, name: str):
    row = page.locator(".check", has_text=name)
    row.get_by_role("button", name=f"Details of {name}").click()
    return row.locator(".snippets")


def test_the_snippets_match_the_check_and_the_wrapper_runs_as_shown(context, web_hub, sign_in) -> None:
    schedules = {
        "Every five minutes": ({"period": 300}, "*/5 * * * * /path/to/job.sh"),
        "Every two hours": ({"period": 7200}, "0 */2 * * * /path/to/job.sh"),
        "Once a day": ({"period": 86400}, "0 0 * * * /path/to/job.sh"),
        "Weekday mornings": ({"cron": "30 8 * * 1-5", "tz": "Europe/Berlin"}, "30 8 * * 1-5 /path/to/job.sh"),
        "Month end": ({"cron": "0 23 L * *"}, "0 23 L * * /path/to/job.sh"),
        "First Monday": ({"cron": "0 9 * * mon#1"}, "0 9 * * mon#1 /path/to/job.sh"),
    }
    checks = {name: make_check(web_hub, name, **spec) for name, (spec, _) in schedules.items()}
    odd = make_check(web_hub, "Every seven minutes", period=420)
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    for name, (_, line) in schedules.items():
        snippets = open_snippets(page, name)
        expect(snippets.locator("pre", has_text="/path/to/job.sh &&")).to_contain_text(line)
        expect(snippets).to_contain_text(checks[name]["ping_url"])
    expect(open_snippets(page, "Weekday mornings")).to_contain_text("in Europe/Berlin")
    expect(open_snippets(page, "Weekday mornings")).not_to_contain_text("not read by every cron")
    for name in ("Month end", "First Monday"):
        expect(open_snippets(page, name)).to_contain_text("`L` and `#` are not read by every cron")

    snippets = open_snippets(page, "Every seven minutes")
    expect(snippets).to_contain_text("No crontab schedule runs exactly every 7 minutes")
    expect(snippets).not_to_contain_text("*/5 * * * *")

    wrapper = snippets.locator("pre", has_text="hub run").inner_text()
    assert odd["uuid"] in wrapper
    command = shlex.split(wrapper.replace("/path/to/job.sh", "true"))
    assert command[0] == "hub"
    done = subprocess.run([str(HUB_CLI), *command[1:]], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    check = httpx.get(
        f"{web_hub.url}/api/v1/checks/{odd['uuid']}", headers={"Authorization": f"Bearer {web_hub.key}"}, timeout=10
    ).json()
    assert check["status"] == "up" and check["last_ping_at"]


def test_two_open_forms_keep_their_labels_to_themselves(context, web_hub, sign_in) -> None:
    make_check(web_hub, "Label owner", period=3600)
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    page.get_by_role("button", name="New check").click()
    row = page.locator(".check", has_text="Label owner")
    row.get_by_role("button", name="Details of Label owner").click()
    edit = row.locator("form")
    expect(edit.get_by_label("Name")).to_have_value("Label owner")
    edit.locator("label", has_text="Name").click()
    assert page.evaluate("document.activeElement.value") == "Label owner"
    duplicates = page.evaluate(
        "(() => { const ids = [...document.querySelectorAll('[id]')].map((n) => n.id);"
        " return ids.filter((id, i) => ids.indexOf(id) !== i); })()"
    )
    assert duplicates == []
    edit.get_by_label("Name").fill("Label owner, renamed")
    edit.get_by_label("When paused, stay paused until resumed").check()
    edit.get_by_role("button", name="Save").click()
    expect(page.locator(".check", has_text="Label owner, renamed")).to_be_visible()
    saved = httpx.get(f"{web_hub.url}/api/v1/checks", headers={"Authorization": f"Bearer {web_hub.key}"}, timeout=10)
    [check] = [c for c in saved.json()["items"] if c["name"] == "Label owner, renamed"]
    assert check["manual_resume"] is True


def test_a_refused_cron_expression_is_marked_in_the_form(context, web_hub, sign_in) -> None:
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    page.get_by_role("button", name="New check").click()
    form = page.locator("form", has=page.get_by_role("button", name="Create check"))
    form.get_by_label("Name").fill("Odd schedule")
    form.get_by_label("Project").fill("ops")
    form.get_by_label("Schedule").select_option("cron")
    form.get_by_label("Cron").fill("0 9 * * 1-9")
    form.get_by_role("button", name="Create check").click()
    expect(form.locator(".form-error")).to_contain_text("`1-9` is not a valid day-of-week term")
    expect(form.get_by_label("Cron")).to_be_focused()
    expect(form.get_by_label("Cron")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Cron").fill("0 9 * * 1-5")
    form.get_by_role("button", name="Create check").click()
    expect(page.locator(".check", has_text="Odd schedule")).to_be_visible()


def test_a_post_only_check_is_set_in_its_form_and_its_curl_line_posts(context, web_hub, sign_in) -> None:
    """Healthchecks' "Only POST requests count as pings": a chat app unfurling the ping URL sends GET, which must
    not say the job ran. The form sets it, and the curl line to paste then sends POST (with a Content-Length)."""
    made = make_check(web_hub, "Unfurled in chat", period=3600)
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    row = page.locator(".check", has_text="Unfurled in chat")
    open_snippets(page, "Unfurled in chat")
    assert "-X POST" not in row.get_by_role("group", name="curl").inner_text()
    row.locator("form").get_by_label("Only POST requests count as pings").check()
    row.locator("form").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Check saved")).to_be_visible()

    def saved() -> dict:
        url = f"{web_hub.url}/api/v1/checks/{made['uuid']}"
        return httpx.get(url, headers={"Authorization": f"Bearer {web_hub.key}"}, timeout=10).json()

    assert saved()["methods"] == "POST"
    ping = f"{web_hub.url}/ping/{made['uuid']}"  # its ping_url names server.base_url, not this test hub's port
    assert httpx.get(ping, timeout=10).text == "OK"  # taken, and kept as `ign`
    assert saved()["status"] == "new"
    curl = open_snippets(page, "Unfurled in chat").get_by_role("group", name="curl").locator("pre").inner_text()
    ping_url = made["ping_url"]
    assert curl == f'curl -fsS -m 10 --retry 5 -o /dev/null --data-raw "" {ping_url}'
    assert httpx.post(ping, timeout=10).text == "OK"
    assert saved()["status"] == "up"


def test_a_check_that_just_went_down_and_a_viewers_empty_page(context, web_hub, sign_in) -> None:
    check = make_check(web_hub, "Failed a moment ago", period=3600)
    assert httpx.post(f"{web_hub.url}/ping/{check['uuid']}/fail", timeout=10).status_code == 200
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    row = page.locator(".check", has_text="Failed a moment ago")
    expect(row.locator(".state")).to_have_text("Down")
    expect(row.locator(".check-facts")).to_contain_text("down since just now")

    context.clear_cookies()
    viewer = context.new_page()
    sign_in(viewer, "vic@example.com")  # sees the shop project, which has no checks
    viewer.goto("/heartbeats")
    expect(viewer.locator(".empty")).to_contain_text("No checks yet")
    expect(viewer.locator(".empty")).to_contain_text("once an admin creates them")
    expect(viewer.locator(".empty")).not_to_contain_text("Create one")


def test_a_member_sees_a_checks_state_and_runs_but_not_how_to_ping_it(context, web_hub, sign_in) -> None:
    """A ping URL changes a check's state: the API gives it to admins only, and the page offers no details without
    it, while the sparkline of runs (read by the check's `unique_key`) is there for everyone who may read."""
    check = make_check(web_hub, "Payroll export", project="payroll", period=3600)
    for outcome in ("", "/fail", ""):
        assert httpx.post(f"{web_hub.url}/ping/{check['uuid']}{outcome}", timeout=10).status_code == 200
    page = context.new_page()
    sign_in(page, "olga@example.com")  # a member of payroll
    page.goto("/heartbeats")
    row = page.locator(".check", has_text="Payroll export")
    expect(row.locator(".state")).to_have_text("Up")
    expect(row.locator(".spark-slot rect")).to_have_count(3)
    expect(row.locator(".spark-slot .spark-fail")).to_have_count(1)
    expect(row.get_by_role("button")).to_have_count(0)  # no details, no pause or delete
    assert check["uuid"] not in page.content()


def test_a_new_checks_project_is_picked_from_the_known_ones_or_said_to_be_new(context, web_hub, sign_in) -> None:
    make_check(web_hub, "Locked project", period=3600)
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    expect(page.locator(".check", has_text="Locked project")).to_be_visible()  # the checks' projects are known
    page.get_by_role("button", name="New check").click()
    form = page.locator("form", has=page.get_by_role("button", name="Create check"))
    project = form.get_by_label("Project")
    offered = project.evaluate("(n) => [...n.list.options].map((o) => o.value)")
    assert {"beats", "shop"} <= set(offered)
    project.fill("beatz")  # a typo
    expect(form.get_by_text("New project:")).to_be_visible()
    expect(project).to_have_accessible_description("New project: no event or check is in “beatz” yet.")
    project.fill("beats")
    expect(form.get_by_text("New project:")).to_have_count(0)
    form.get_by_label("Name").fill("Picked from the list")
    form.get_by_role("button", name="Create check").click()
    expect(page.locator(".check", has_text="Picked from the list")).to_contain_text("beats")

    # In the edit form the project cannot change, and it looks it.
    row = page.locator(".check", has_text="Locked project")
    row.get_by_role("button", name="Details of Locked project").click()
    locked = row.locator("form").get_by_label("Project")
    expect(locked).to_be_disabled()
    style = "(n) => { const s = getComputedStyle(n); return [s.cursor, s.backgroundColor, s.color]; }"
    cursor, background, colour = locked.evaluate(style)
    _, open_background, open_colour = row.locator("form").get_by_label("Name").evaluate(style)
    assert cursor == "not-allowed" and background != open_background and colour != open_colour


def test_last_ping_next_and_the_sparkline_line_up_as_columns(context, web_hub, sign_in) -> None:
    short = make_check(web_hub, "Col A", period=60)
    make_check(web_hub, "Col B, whose name is long enough to wrap in its column", period=86400, grace=30)
    down = make_check(web_hub, "Col C", period=3600)
    assert httpx.post(f"{web_hub.url}/ping/{short['uuid']}", timeout=10).status_code == 200
    assert httpx.post(f"{web_hub.url}/ping/{down['uuid']}/fail", timeout=10).status_code == 200
    page = context.new_page()  # 1280 wide
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    rows = page.locator(".check", has_text="Col ")
    expect(rows).to_have_count(3)
    expect(rows.locator(".spark")).to_have_count(3)
    lefts = rows.evaluate_all(
        """(rows) => rows.map((row) => [...row.querySelectorAll('.check-facts dt'), row.querySelector('.spark-slot')]
            .map((n) => Math.round(n.getBoundingClientRect().left)))"""
    )
    assert lefts[0] == lefts[1] == lefts[2], lefts


def test_period_and_grace_show_in_the_unit_that_fits(context, web_hub, sign_in) -> None:
    made = make_check(web_hub, "Units shown", period=86400, grace=30)
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    row = page.locator(".check", has_text="Units shown")
    row.get_by_role("button", name="Details of Units shown").click()
    form = row.locator("form")
    expect(form.get_by_label("Grace", exact=True)).to_have_value("30")  # not "0.5" minutes
    expect(form.get_by_label("Grace unit")).to_have_value("1")
    expect(form.get_by_label("Grace unit").locator("option:checked")).to_have_text("seconds")
    expect(form.get_by_label("Period", exact=True)).to_have_value("1")
    expect(form.get_by_label("Period unit").locator("option:checked")).to_have_text("day")
    form.get_by_label("Grace", exact=True).fill("2")
    form.get_by_label("Grace unit").select_option(label="minutes")
    form.get_by_label("Period", exact=True).fill("90")
    form.get_by_label("Period unit").select_option(label="seconds")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".check", has_text="Units shown")).to_contain_text("every 90 seconds")
    saved = httpx.get(
        f"{web_hub.url}/api/v1/checks/{made['uuid']}", headers={"Authorization": f"Bearer {web_hub.key}"}, timeout=10
    ).json()
    assert (saved["period"], saved["grace"]) == (90, 120)


def test_each_snippet_has_its_own_copy_button(context, web_hub, sign_in) -> None:
    make_check(web_hub, "Copy my lines", period=300)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    snippets = open_snippets(page, "Copy my lines")
    for name in ("curl", "crontab", "wrapper"):
        group = snippets.get_by_role("group", name=name)
        group.get_by_role("button", name="Copy").click()
        expect(group.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == group.locator("pre").inner_text()


def test_deleting_a_check_asks_with_a_red_button_and_starts_on_cancel(context, web_hub, sign_in) -> None:
    make_check(web_hub, "Delete me carefully", period=3600)
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    row = page.locator(".check", has_text="Delete me carefully")
    trash = row.get_by_role("button", name="Delete Delete me carefully")
    trash.click()
    dialog = page.locator("dialog")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    red = trash.evaluate("(n) => getComputedStyle(n).color")  # the trash icon's red
    assert dialog.get_by_role("button", name="Delete").evaluate("(n) => getComputedStyle(n).backgroundColor") == red
    page.keyboard.press("Enter")  # a hasty Enter keeps the check
    expect(dialog).to_have_count(0)
    expect(row).to_be_visible()
    trash.click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator(".check", has_text="Delete me carefully")).to_have_count(0)


def test_focus_stays_on_the_check_after_a_pause_or_a_resume_and_goes_to_the_heading_after_a_delete(
    context, web_hub, sign_in
) -> None:
    """The list is drawn anew after each: focus fell to the top of the page, and the next Tab started over."""
    make_check(web_hub, "Focus me", period=3600)
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    row = page.locator(".check", has_text="Focus me")
    row.get_by_role("button", name="Pause Focus me").click()
    expect(row.get_by_role("button", name="Resume Focus me")).to_be_focused()
    page.keyboard.press("Enter")  # the keyboard goes on from there
    expect(row.get_by_role("button", name="Pause Focus me")).to_be_focused()
    row.get_by_role("button", name="Delete Focus me").click()
    page.locator("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".check", has_text="Focus me")).to_have_count(0)
    expect(page.get_by_role("heading", name="Heartbeats", level=1)).to_be_focused()


def test_the_30_second_refresh_leaves_a_keyboard_user_on_their_check(context, web_hub, sign_in) -> None:
    """The list was drawn anew every 30 s: focus on a Pause button fell to the top of the page."""
    make_check(web_hub, "Keyboard user", period=3600)
    page = context.new_page()
    page.clock.install()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    pause = page.locator(".check", has_text="Keyboard user").get_by_role("button", name="Pause Keyboard user")
    pause.focus()
    page.clock.fast_forward(31_000)
    page.wait_for_timeout(300)
    expect(pause).to_be_focused()


def test_a_checks_details_show_in_a_browser_without_url_can_parse(context, web_hub, sign_in) -> None:
    """Safari before 17 (iOS 16 among the installed app's browsers) has no `URL.canParse`: the details threw, empty."""
    check = make_check(web_hub, "Nightly export", period=86400)
    page = context.new_page()
    page.add_init_script("delete URL.canParse")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    expect(open_snippets(page, "Nightly export")).to_contain_text(check["ping_url"])
    assert errors == []
