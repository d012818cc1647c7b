"""The feed in a real browser: sign in, live events, the "N new" pill, filters, search, a context, the
permalink, and another project's events staying out of sight."""

from __future__ import annotations

import re
import time

import httpx
import msgspec
from playwright.sync_api import expect

from hub.accounts import set_password
from hub.people.models import UserIn
from tests.web.conftest import PASSWORD


def test_sign_in_and_events_arrive_live(context, web_hub, sign_in) -> None:
    web_hub.post(project="shop", channel="orders", event="Order #1001 placed", icon="🛒")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    expect(page.locator(".card", has_text="Order #1001 placed")).to_be_visible()
    expect(page.locator(".live")).not_to_have_class(re.compile("live-off"))
    web_hub.post(project="shop", channel="orders", event="Order #1002 placed while watching")
    expect(page.locator(".card").first).to_contain_text("Order #1002 placed while watching")  # no reload


def test_pill_counts_new_events_while_scrolled_down(context, web_hub, sign_in) -> None:
    for n in range(30):
        web_hub.post(project="bulk", channel="noise", event=f"Background job {n} finished")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=bulk")
    expect(page.locator(".card")).to_have_count(30)
    page.mouse.wheel(0, 5000)
    page.wait_for_function("() => window.scrollY > 500")  # a function: see test_offline.py
    for n in range(3):
        web_hub.post(project="bulk", channel="noise", event=f"Arrived while scrolled {n}")
    pill = page.locator(".pill")
    expect(pill).to_have_text("3 new")
    pill.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".card").first).to_be_focused()  # not the top of the page: the first new card
    titles = page.locator(".card-title").all_inner_texts()[:4]
    assert titles == [*(f"Arrived while scrolled {n}" for n in (2, 1, 0)), "Background job 29 finished"]


def test_infinite_scroll_loads_older_pages(context, web_hub, sign_in) -> None:
    for n in range(35):
        web_hub.post(project="history", event=f"Old event {n:02d}")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=history")
    expect(page.locator(".card")).to_have_count(30)
    page.locator(".sentinel").scroll_into_view_if_needed()
    expect(page.locator(".card")).to_have_count(35)
    expect(page.locator(".card").last).to_contain_text("Old event 00")


def test_a_tall_screen_keeps_loading_until_it_is_full(browser, web_hub, sign_in) -> None:
    for n in range(51):
        web_hub.post(project="tall", event=f"Tall event {n:02d}")
    context = browser.new_context(viewport={"width": 1920, "height": 3600}, base_url=web_hub.url)
    try:
        page = context.new_page()
        sign_in(page, "ada@example.com")
        page.goto("/?project=tall")
        expect(page.locator(".card")).to_have_count(51)
        expect(page.locator(".feed-status")).to_contain_text("You're all caught up.")
        expect(page.locator(".card").last).to_contain_text("Tall event 00")
    finally:
        context.close()


def test_filters_search_and_a_context(context, web_hub, sign_in) -> None:
    web_hub.post(project="shop", channel="deploys", event="Release r3.7", tags={"env": "production"}, context_id="r37")
    web_hub.post(project="shop", channel="deploys", event="Migrations applied", context_id="r37")
    web_hub.post(project="shop", channel="deploys", event="Release r3.7 to staging", tags={"env": "staging"})
    web_hub.post(project="shop", channel="signups", event="Newsletter signup", description="zebra-crossing campaign")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=shop")

    production = page.locator(".card", has_text="Release r3.7").filter(has_not_text="staging")
    production.locator(".chip", has_text="production").click()
    expect(page).to_have_url(re.compile(r"tag=env%3Aproduction"))
    expect(page.locator(".card")).to_have_count(1)

    page.goto("/?project=shop")
    page.fill(".search-input", "zebra")
    expect(page).to_have_url(re.compile(r"q=zebra"))
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card")).to_contain_text("Newsletter signup")
    expect(page.locator(".search-input")).to_be_focused()
    # A pause after a space (the search runs 300 ms after the last key) kept the words apart: "zebracrossing".
    page.fill(".search-input", "")
    page.locator(".search-input").press_sequentially("zebra ")
    expect(page).to_have_url(re.compile(r"q=zebra\+$"))
    page.locator(".search-input").press_sequentially("crossing")
    expect(page).to_have_url(re.compile(r"q=zebra\+crossing"))
    expect(page.locator(".search-input")).to_have_value("zebra crossing")
    expect(page.locator(".card")).to_contain_text("Newsletter signup")

    page.goto("/?project=shop&channel=deploys")
    card = page.locator(".card", has_text="Release r3.7").filter(has_not_text="staging")
    card.get_by_role("button", name="Show timeline").click()
    expect(card.locator(".timeline")).to_contain_text("Migrations applied")
    expect(card.locator(".context")).not_to_contain_text("No follow-up events")  # not above the follow-ups
    expect(card.locator(".context-head")).to_be_focused()  # the button is gone: not the top of the page
    card.locator(".card-title a").click()
    expect(page).to_have_url(re.compile(r"/events/\d+$"))
    expect(page.locator(".timeline")).to_contain_text("Migrations applied")
    expect(page.locator(".context")).not_to_contain_text("No follow-up events")


def test_a_long_timeline_loads_its_later_events_on_demand(context, web_hub, sign_in, monkeypatch) -> None:
    monkeypatch.setattr("hub.db.events.MAX_CHILDREN", 2)  # the API's page of children, 500 in use
    card = web_hub.post(project="shop", channel="deploys", event="Long rollout", context_id="long-rollout")
    for n in range(1, 5):
        web_hub.post(project="shop", channel="deploys", event=f"Rollout step {n}", context_id="long-rollout")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto(f"/events/{card['id']}")
    steps = page.locator(".timeline .tl-item")
    expect(steps).to_have_count(2)
    page.get_by_role("button", name="Show later events").click()
    expect(steps).to_have_count(4)
    expect(steps.last).to_contain_text("Rollout step 4")
    expect(page.get_by_role("button", name="Show later events")).to_have_count(0)


def test_severity_and_test_mode_toggles(context, web_hub, sign_in) -> None:
    web_hub.post(project="ops", event="Disk almost full", severity="critical")
    web_hub.post(project="ops", event="Cache warmed")
    web_hub.post(project="ops", event="Checkout tried in test mode", test=True)
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=ops")
    expect(page.locator(".card")).to_have_count(2)
    page.get_by_role("button", name="Critical").click()
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card")).to_contain_text("Disk almost full")
    page.goto("/?project=ops")
    expect(page.locator("main h1")).to_have_text("ops")
    page.locator(".switch").click()
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card")).to_contain_text("Checkout tried in test mode")
    expect(page.locator("main h1")).to_have_text("Test events in ops")  # not the small switch alone
    expect(page).to_have_title("Test events in ops · hub")


def test_critical_lists_a_timelines_failed_step_with_a_way_to_its_timeline(context, web_hub, sign_in) -> None:
    started = web_hub.post(project="rollouts", event="Deploy started", context_id="deploy-12")
    web_hub.post(project="rollouts", event="Deploy failed", severity="critical", context_id="deploy-12")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=rollouts")
    expect(page.locator(".card")).to_have_count(1)  # the timeline's card only
    page.get_by_role("button", name="Critical").click()
    failed = page.locator(".card", has_text="Deploy failed")
    expect(page.locator(".card")).to_have_count(1)
    failed.get_by_role("link", name="in a timeline").click()
    expect(page).to_have_url(re.compile(f"/events/{started['id']}$"))
    expect(page.locator(".timeline .tl-item")).to_contain_text("Deploy failed")


def test_a_member_never_sees_another_projects_events(context, web_hub, sign_in) -> None:
    secret = web_hub.post(project="payroll", event="Salaries paid")
    visible = web_hub.post(project="shop", event="Visible to shop members")
    page = context.new_page()
    sign_in(page, "sam@example.com")
    expect(page.locator(".card", has_text="Visible to shop members")).to_be_visible()
    expect(page.locator(".card", has_text="Salaries paid")).to_have_count(0)
    expect(page.locator("#sidebar-projects")).not_to_contain_text("payroll")
    page.goto(f"/events/{secret['id']}")
    expect(page.locator(".empty-title")).to_have_text("Event not found")
    status = page.evaluate("fetch('/api/v1/events?project=payroll').then(r => r.status)")
    assert status == 403
    page.goto(f"/events/{visible['id']}")
    expect(page.locator(".card-title")).to_have_text("Visible to shop members")
    # Nor through the live stream: the payroll event never reaches the open feed, the shop one does.
    page.goto("/")
    expect(page.locator(".live")).not_to_have_class(re.compile("live-off"))
    expect(page.locator(".card").first).to_be_visible()
    web_hub.post(project="payroll", event="Bonus paid while sam watches")
    web_hub.post(project="shop", event="Shop event while sam watches")
    expect(page.locator(".card").first).to_contain_text("Shop event while sam watches")
    expect(page.locator(".card", has_text="Bonus paid")).to_have_count(0)
    live = page.evaluate(
        """() => new Promise((resolve) => {
            const source = new EventSource('/api/v1/stream?project=payroll');
            source.onerror = () => { source.close(); resolve('refused'); };
            source.onopen = () => { source.close(); resolve('opened'); };
        })"""
    )
    assert live == "refused"


def test_the_arrow_keys_walk_the_project_picker(context, web_hub, sign_in) -> None:
    for slug in ("pick-a", "pick-b", "pick-c"):
        web_hub.post(project=slug, event=f"First event of {slug}")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=pick-a")
    picker = page.get_by_label("Project")
    picker.focus()
    picker.press("ArrowDown")
    expect(page).to_have_url(re.compile(r"project=pick-b"))
    expect(picker).to_be_focused()  # the feed of pick-b is drawn, and the picker keeps the keyboard
    picker.press("ArrowDown")
    expect(page).to_have_url(re.compile(r"project=pick-c"))
    expect(page.locator(".card")).to_contain_text("First event of pick-c")
    expect(picker).to_be_focused()


def test_an_invalid_filter_says_so_and_links_to_the_feed_without_it(context, web_hub, sign_in) -> None:
    web_hub.post(project="refusals", event="Listed once the filter is gone")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=refusals&tag=BAD KEY:x")
    error = page.locator(".feed-status .error")
    expect(error).to_have_text("Invalid filter: `tag` keys are 1 to 64 characters of [a-z0-9_-]: 'BAD KEY' is not")
    expect(page.locator(".feed-status").get_by_role("button", name="Retry")).to_have_count(0)  # it cannot help
    expect(page.locator(".banner")).to_be_hidden()
    expect(page.locator(".live")).to_have_text("Not live")  # the hub is there: it refused the filter
    page.get_by_role("link", name="Show the feed without this filter").click()
    expect(page).to_have_url(re.compile(r"/\?project=refusals$"))
    expect(page.locator(".card")).to_have_text(re.compile("Listed once the filter is gone"))
    expect(page.locator(".live")).to_have_text("Live")


def test_a_feed_past_the_limit_of_live_streams_says_so_and_goes_live_once_another_closes(
    context, web_hub, sign_in
) -> None:
    """A person with more feeds open than `stream.max_per_caller` gets no stream for the next one, which said
    Offline, as if the hub could not be reached; and stayed not live after another feed was closed."""
    streams = web_hub.live.hub.streams
    saved, streams.limit = streams.limit, 1
    try:
        first = context.new_page()
        sign_in(first, "olga@example.com")
        expect(first.locator(".live")).to_have_text("Live")
        second = context.new_page()
        second.clock.install()
        second.goto("/")
        live = second.locator(".live")
        expect(live).to_have_text("Not live")
        expect(live).to_have_attribute("title", re.compile("^Too many live views of the hub are open for you"))
        expect(first.locator(".live")).to_have_text("Live")
        second.clock.fast_forward(31_000)
        expect(live).to_have_text("Not live")  # asked again: the first feed is still open
        first.close()
        # The hub notices the closed connection a moment later; asked before that, the feed waits 30 s more.
        deadline = time.monotonic() + 10
        while any(streams._held.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        second.clock.fast_forward(31_000)
        expect(live).to_have_text("Live")
        web_hub.post(project="payroll", event="Reached the feed that waited")
        expect(second.locator(".card", has_text="Reached the feed that waited")).to_be_visible()
    finally:
        streams.limit = saved


SET_VISIBILITY = """(state) => {
    Object.defineProperty(document, "visibilityState", { value: state, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_hidden_feed_gives_its_connection_back_and_carries_on_where_it_left_off(context, web_hub, sign_in) -> None:
    """Each open feed held one of the 6 connections a browser opens to a host over HTTP/1.1: with six tabs, a
    seventh never loaded, and timelines and action buttons in the open ones waited for good."""
    streams: list[str] = []
    context.on("request", lambda request: "/api/v1/stream" in request.url and streams.append(request.url))
    web_hub.post(project="tabs", event="Seen before hiding")
    page = context.new_page()
    page.clock.install()
    sign_in(page, "ada@example.com")
    expect(page.locator(".live")).to_have_text("Live")
    seen_id = page.locator(".card", has_text="Seen before hiding").get_attribute("data-id")
    page.evaluate(SET_VISIBILITY, "hidden")
    page.clock.fast_forward(11_000)
    expect(page.locator(".live")).to_have_text("Live")  # the word stays: nobody sees it meanwhile
    web_hub.post(project="tabs", event="Sent while hidden")
    page.wait_for_timeout(500)
    expect(page.locator(".card", has_text="Sent while hidden")).to_have_count(0)  # no stream to bring it

    page.evaluate(SET_VISIBILITY, "visible")
    expect(page.locator(".card", has_text="Sent while hidden")).to_have_count(1)
    expect(page.locator(".card", has_text="Seen before hiding")).to_have_count(1)
    expect(page.locator(".live")).to_have_text("Live")
    assert streams[-1].endswith(f"last_event_id={seen_id}"), streams


def test_a_feed_opened_in_a_background_tab_gives_its_connection_back_too(context, web_hub, sign_in) -> None:
    """No `visibilitychange` comes for a tab that starts hidden (a link opened in the background)."""
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.add_init_script('Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true })')
    page.clock.install()
    page.goto("/?project=background")
    expect(page.locator(".live")).to_have_text("Live")
    page.clock.fast_forward(11_000)
    web_hub.post(project="background", event="Sent while in the background")
    page.wait_for_timeout(500)
    expect(page.locator(".card", has_text="Sent while in the background")).to_have_count(0)
    page.evaluate(SET_VISIBILITY, "visible")
    expect(page.locator(".card", has_text="Sent while in the background")).to_have_count(1)


def test_a_stream_refused_once_then_accepted_starts_the_feed_again(browser, web_hub, sign_in) -> None:
    """A proxy's passing 502: EventSource gives up for good, and the feed said "Offline" until reloaded by hand."""
    context = browser.new_context(base_url=web_hub.url, service_workers="block")  # the page's own requests, routed
    try:
        streams: list[str] = []

        def first_refused(route) -> None:
            streams.append(route.request.url)
            if len(streams) == 1:
                route.fulfill(status=502, body="Bad Gateway")
            else:
                route.continue_()

        context.route("**/api/v1/stream*", first_refused)
        page = context.new_page()
        sign_in(page, "ada@example.com")
        expect(page.locator(".live")).to_have_text("Live")
        assert len(streams) >= 3  # refused, asked again (accepted), and the feed's new stream
        web_hub.post(project="restarted", event="Arrived on the new stream")
        expect(page.locator(".card", has_text="Arrived on the new stream")).to_be_visible()
    finally:
        context.close()


def test_a_long_description_is_clipped_in_the_feed_and_whole_on_its_page(phone, web_hub, sign_in) -> None:
    long = web_hub.post(project="clipped", event="Long report", description="All work and no play. " * 180)
    web_hub.post(project="clipped", event="Short note", description="Two lines at most.")
    page = phone.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=clipped")
    card = page.locator(".card", has_text="Long report")
    more = card.get_by_role("button", name=re.compile(r"^Show (more|less)$"))
    expect(more).to_have_text("Show more")
    expect(more).to_have_attribute("aria-expanded", "false")
    assert card.bounding_box()["height"] < 844 / 2  # about four lines of it, not 18 screens
    more.click()
    expect(more).to_have_attribute("aria-expanded", "true")
    expect(more).to_have_text("Show less")
    assert card.bounding_box()["height"] > 844
    short = page.locator(".card", has_text="Short note")
    expect(short.locator(".desc")).to_be_visible()
    expect(short.get_by_role("button", name="Show more")).to_have_count(0)  # nothing to show
    page.goto(f"/events/{long['id']}")
    expect(page.locator(".card-title")).to_have_text("Long report")
    assert page.locator(".card").bounding_box()["height"] > 844
    expect(page.get_by_role("button", name="Show more")).to_have_count(0)


def test_the_focused_search_box_has_one_focus_ring(context, web_hub, sign_in) -> None:
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.locator(".search-input").focus()
    rings = page.evaluate(
        """() => [".search", ".search-input"].map((s) => getComputedStyle(document.querySelector(s)).boxShadow)"""
    )
    assert rings[0] != "none" and rings[1] == "none", rings  # the box's ring, and none inside it


def test_a_timeline_step_shows_its_severity_in_words_and_its_tags(context, web_hub, sign_in) -> None:
    started = web_hub.post(project="steps", event="Rollout started", context_id="rollout-9")
    failed = {"severity": "critical", "tags": {"region": "eu"}, "context_id": "rollout-9"}
    web_hub.post(project="steps", event="Canary failed", **failed)
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto(f"/events/{started['id']}")
    step = page.locator(".timeline .tl-item", has_text="Canary failed")
    expect(step.locator(".badge")).to_have_text("critical")  # as on a card: not the dot's tint alone
    step.locator(".chip", has_text="eu").click()
    expect(page).to_have_url(re.compile(r"tag=region%3Aeu"))
    expect(page.locator(".card", has_text="Canary failed")).to_be_visible()


def test_a_long_project_slug_and_tag_key_never_push_the_feed_sideways_on_a_phone(phone, web_hub, sign_in) -> None:
    """The project picker is as wide as its longest option (515 px for a 64-character slug on a 390 px screen),
    and a 64-character tag key pushed its chip past the card's edge: the page scrolled sideways."""
    slug = "p" + "-long-project-name" * 3 + "-x" * 4
    key = "k" + "_a_very_long_tag_key" * 3
    web_hub.post(project=slug[:64], event="Tagged", tags={key[:64]: "value"})
    page = phone.new_page()
    sign_in(page, "ada@example.com")
    expect(page.locator(".card", has_text="Tagged")).to_be_visible()
    for path in ("/", f"/?project={slug[:64]}"):
        page.goto(path)
        expect(page.locator(".card", has_text="Tagged")).to_be_visible()
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, overflow)
        card = page.locator(".card", has_text="Tagged").bounding_box()
        chip = page.locator(".card", has_text="Tagged").locator(".chip", has_text="value").bounding_box()
        assert chip["x"] + chip["width"] <= card["x"] + card["width"], (chip, card)


def test_meta_separators_wrap_with_their_item_on_a_phone(phone, web_hub, sign_in) -> None:
    event = web_hub.post(
        project="shop",
        channel="checkout-and-payment-notifications-from-the-storefront",
        user_id="customer-7f3a9c2e-4b1d-4e8a-9f60-2c5d8e1b7a43@example.com",
        event="Long labels",
    )
    page = phone.new_page()
    sign_in(page, "ada@example.com")
    page.goto(f"/events/{event['id']}")
    expect(page.locator(".card-title")).to_have_text("Long labels")
    # Each "·" sits on a line of the item it introduces, never alone at the end of the line before.
    beside = page.evaluate(
        """() => [...document.querySelectorAll(".card-meta .sep")].map((sep) => {
            const dot = sep.getBoundingClientRect();
            const item = sep.nextElementSibling.getBoundingClientRect();
            const middle = (dot.top + dot.bottom) / 2;
            return middle > item.top && middle < item.bottom;
        })"""
    )
    assert beside == [True, True], beside


def test_a_long_channel_name_is_cut_short_and_every_channel_stays_in_sight(phone, web_hub, sign_in) -> None:
    long = "checkout-" + "x" * 55  # 64 characters, the longest a channel may have
    for channel in ("alerts", "billing", long, "zeta"):
        web_hub.post(project="channels", channel=channel, event=f"In {channel}")
    page = phone.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=channels")
    strip = page.get_by_role("navigation", name="Channels")
    expect(strip.locator(".chip")).to_have_count(5)  # All, and the four channels
    chip = strip.locator(".chip", has_text="checkout-")
    expect(chip).to_have_attribute("title", f"#{long}")
    assert chip.evaluate(
        "(c) => c.querySelector('.chip-label').scrollWidth > c.querySelector('.chip-label').clientWidth"
    )
    edge = strip.bounding_box()
    for box in (c.bounding_box() for c in strip.locator(".chip").all()):
        assert edge["x"] <= box["x"] and box["x"] + box["width"] <= edge["x"] + edge["width"] + 0.5, box


def test_an_empty_feed_tells_an_admin_how_to_send_and_others_whom_to_ask(browser, context, web_hub, sign_in) -> None:
    admin = context.new_page()
    sign_in(admin, "ada@example.com")
    admin.goto("/?project=nothing-sent-yet")
    expect(admin.locator(".feed-status .empty")).to_contain_text('hub send --project nothing-sent-yet --event "Hello"')

    async def outsider() -> None:
        data = {"email": "newcomer@example.com", "name": "Newcomer", "role": "viewer", "projects": []}
        user = await web_hub.live.hub.people.create_user(msgspec.convert(data, UserIn))
        await set_password(web_hub.live.hub.db, user.id, PASSWORD)

    web_hub.run(outsider())
    other = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=web_hub.url)
    try:
        page = other.new_page()
        sign_in(page, "newcomer@example.com")
        empty = page.locator(".feed-status .empty")
        expect(empty.locator(".empty-title")).to_have_text("You are not in any project yet")
        expect(empty).to_contain_text("Ask an admin")
        expect(empty).not_to_contain_text("hub send")  # they have no key to send with
    finally:
        other.close()


def test_a_single_insight_tile_keeps_a_tiles_width(context, web_hub, sign_in) -> None:
    web_hub.post(project="one-insight", event="Signed up")
    insight = {"project": "one-insight", "title": "Signups", "value": 42}
    headers = {"Authorization": f"Bearer {web_hub.key}"}
    assert httpx.post(f"{web_hub.url}/v1/insight", json=insight, headers=headers).status_code == 200
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=one-insight")
    tile = page.locator(".tile", has_text="Signups")
    expect(tile).to_contain_text("42")
    assert tile.bounding_box()["width"] < page.locator(".tiles").bounding_box()["width"] / 3  # not stretched across


def test_the_exact_time_names_its_time_zone(browser, web_hub, sign_in) -> None:
    event = web_hub.post(project="zones", event="When exactly?")
    context = browser.new_context(base_url=web_hub.url, locale="en-US", timezone_id="America/New_York")
    try:
        page = context.new_page()
        sign_in(page, "ada@example.com")
        page.goto(f"/events/{event['id']}")
        expect(page.locator(".card-head time")).to_have_attribute("title", re.compile(r"\d:\d\d:\d\d\s[AP]M E[SD]T$"))
    finally:
        context.close()
