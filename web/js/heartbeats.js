// Heartbeats: every check with its state, last and next ping, schedule in words and a sparkline of recent runs;
// for admins, its ping URL with snippets, and create / edit / pause.

import { api, query } from "./api.js";
import { confirmDialog, refocus } from "./actions.js";
import { copyButton } from "./copy.js";
import { fill, formError, guarded, h, icon, newestOnly, toast } from "./dom.js";
import { scheduleWords, seconds } from "./schedule.js";
import { isAdmin, state } from "./state.js";
import { duration, exact, relative } from "./time.js";

const STATE_WORDS = { new: "New", up: "Up", late: "Late", down: "Down", paused: "Paused", running: "Running" };

function stateOf(check) {
  return check.running && check.status !== "paused" && check.status !== "down" ? "running" : check.status;
}

function sparkline(pings) {
  const runs = pings.filter((p) => p.kind === "success" || p.kind === "fail").slice(0, 24).reverse();
  const width = 120;
  const height = 28;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  const failed = runs.filter((p) => p.kind === "fail").length;
  svg.setAttribute("aria-label", runs.length ? `${runs.length} recent runs, ${failed} failed` : "No runs yet");
  const longest = Math.max(1, ...runs.map((p) => p.duration || 0));
  const bar = width / 24;
  runs.forEach((ping, i) => {
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    const size = ping.duration ? Math.max(6, (ping.duration / longest) * height) : height * 0.55;
    rect.setAttribute("x", String(width - (runs.length - i) * bar + 1));
    rect.setAttribute("y", String(height - size));
    rect.setAttribute("width", String(bar - 2));
    rect.setAttribute("height", String(size));
    rect.setAttribute("rx", "1.5");
    rect.setAttribute("class", ping.kind === "fail" ? "spark-fail" : "spark-ok");
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${ping.kind === "fail" ? "Failed" : "OK"} ${exact(ping.created_at)}${ping.duration ? ` · ${duration(ping.duration)}` : ""}`;
    rect.append(title);
    svg.append(rect);
  });
  return svg;
}

function copyField(value, label) {
  const input = h("input.mono", { value, readOnly: true, "aria-label": label, onfocus: (e) => e.target.select() });
  return h("div.copy-field", {}, input, copyButton(value, { showIn: input }));
}

/** A crontab schedule that runs exactly every `period` seconds, or null when cron cannot say it. */
export function cronForPeriod(period) {
  if (period % 60) return null;
  const minutes = period / 60;
  if (minutes < 60) return 60 % minutes ? null : minutes === 1 ? "* * * * *" : `*/${minutes} * * * *`;
  if (minutes % 60) return null;
  const hours = minutes / 60;
  if (hours < 24) return 24 % hours ? null : hours === 1 ? "0 * * * *" : `0 */${hours} * * *`;
  if (hours === 24) return "0 0 * * *";
  return hours === 24 * 7 ? "0 0 * * 0" : null;
}

/** The crontab line for the check, and what to know about it. */
function crontab(check, curl) {
  const job = `/path/to/job.sh && ${curl}`;
  if (check.cron) {
    const zone = check.tz && check.tz !== "UTC" ? check.tz : "UTC";
    const [, , day, , weekday] = check.cron.trim().split(/\s+/);
    // No day name has an "l" in it: one in either day field is the `L` of "last".
    const extended = /[#l]/i.test(`${day ?? ""}${weekday ?? ""}`)
      ? " `L` and `#` are not read by every cron: check that yours reads them." : "";
    return [`${check.cron} ${job}`, `The check expects these times in ${zone}; cron uses the machine's time zone.${extended}`];
  }
  const every = cronForPeriod(check.period);
  if (every) return [`${every} ${job}`, null];
  return [`<schedule> ${job}`,
    `No crontab schedule runs exactly every ${seconds(check.period)}: use one that matches the check's period, or change the period.`];
}

/** A line to paste, under its title with its own Copy button (the group's name tells the Copy buttons apart). */
function snippet(id, title, text, hint = null) {
  const code = h("pre.code", {}, text);
  return h("div.snippet", { role: "group", "aria-labelledby": id },
    h("div.snippet-head", {}, h("div.snippet-title", { id }, title), copyButton(text, { showIn: code })),
    code,
    hint ? h("p.hint", {}, hint) : null);
}

/** The origin of a URL, or this page's for one that does not parse. (Not `URL.canParse`: Safari before 17, iOS 16
 * among them, has none, and the check's details were left empty there.) */
function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return location.origin;
  }
}

/** The hub builds ping URLs from `server.base_url`; say so when that is not the address this page is open at. */
function addressHint(pingUrl) {
  const origin = originOf(pingUrl);
  if (origin === location.origin) return null;
  return h("p.hint", {}, `The hub gives its address as ${origin} (server.base_url) but this page is open at ${location.origin}: jobs need an address they can reach.`);
}

function snippets(check) {
  // A GET would be kept but change nothing. An empty body rather than `-X POST`, which sends no Content-Length:
  // some proxies answer such a POST 411.
  const post = check.methods === "POST" ? '--data-raw "" ' : "";
  const curl = `curl -fsS -m 10 --retry 5 -o /dev/null ${post}${check.ping_url}`;
  const id = (name) => `snip-${name}-${check.unique_key}`;
  return h("div.snippets", {},
    h("div.snippet-title", {}, "Ping URL"), copyField(check.ping_url, "Ping URL"), addressHint(check.ping_url),
    snippet(id("curl"), "curl", curl),
    snippet(id("crontab"), "crontab", ...crontab(check, curl)),
    snippet(id("wrapper"), "wrapper", `hub run --url ${location.origin} --check ${check.uuid} -- /path/to/job.sh`));
}

let forms = 0;

/** Ids unique to one form, so with several forms open each label still points at its own input. */
function fieldIds(names) {
  forms += 1;
  return Object.fromEntries(names.map((name) => [name, `hb-${name}-${forms}`]));
}

/** The project of a new check: one of the `known` ones, offered as suggestions, or a new one, which the field then
 * says (a typo would otherwise put the check where nobody looks). A check cannot move, so editing shows it locked. */
function projectField(check, ids, known) {
  if (check) {
    const locked = h("input", { id: ids.project, value: check.project, disabled: true });
    return { input: locked, nodes: locked, value: () => check.project };
  }
  const input = h("input", {
    id: ids.project, required: true, list: ids.projects, autocomplete: "off", "aria-describedby": ids.projectNote,
    value: known.length === 1 ? known[0] : "", placeholder: known.length ? "pick one, or type a new one" : "a new project",
  });
  const note = h("p.hint", { id: ids.projectNote, "aria-live": "polite" });
  input.addEventListener("input", () => {
    const slug = input.value.trim();
    fill(note, slug && !known.includes(slug) ? [h("strong", {}, "New project:"), ` no event or check is in “${slug}” yet.`] : null);
  });
  const suggestions = h("datalist", { id: ids.projects }, known.map((slug) => h("option", { value: slug })));
  return { input, nodes: [input, suggestions, note], value: () => input.value.trim() };
}

// The API counts periods and grace times in seconds; the form shows them in the largest unit that says them whole.
const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

/** A number and its unit (a 30-second grace is "30 seconds", not "0.5" minutes); `seconds()` reads it back. */
function durationField(id, label, value) {
  const [, size] = UNITS.find(([, unitSize]) => value && value % unitSize === 0) ?? UNITS[2]; // none: minutes
  const amount = h("input", { id, type: "number", min: 0, step: "any", required: true, value: value / size });
  const unit = h("select", { "aria-label": `${label} unit` },
    UNITS.map(([name, unitSize]) => h("option", { value: unitSize, selected: unitSize === size }, name)));
  const plural = () => {
    for (const [i, [name]] of UNITS.entries()) unit.options[i].text = Number(amount.value) === 1 ? name : `${name}s`;
  };
  amount.addEventListener("input", plural);
  plural();
  return {
    amount,
    row: h("div.field", {}, h("label", { for: id }, label), h("div.duration", {}, amount, unit)),
    seconds: () => Math.round(Number(amount.value) * Number(unit.value)),
  };
}

function checkForm(check, onSaved, knownProjects = []) {
  const editing = !!check;
  const ids = fieldIds(["kind", "name", "project", "projects", "projectNote", "period", "cron", "tz", "grace", "manualResume", "postOnly"]);
  const kind = h("select", { id: ids.kind }, h("option", { value: "period", selected: !check?.cron }, "Every period"), h("option", { value: "cron", selected: !!check?.cron }, "Cron expression"));
  const name = h("input", { id: ids.name, required: true, value: check?.name || "", placeholder: "Nightly backup" });
  const project = projectField(check, ids, knownProjects);
  const period = durationField(ids.period, "Period", check?.period || 3600);
  const cron = h("input.mono", { id: ids.cron, value: check?.cron || "0 9 * * 1-5", placeholder: "0 9 * * 1-5" });
  const tz = h("input", { id: ids.tz, value: check?.tz || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" });
  const grace = durationField(ids.grace, "Grace", check ? check.grace : 300);
  const manualResume = h("input", { id: ids.manualResume, type: "checkbox", checked: !!check?.manual_resume });
  const postOnly = h("input", { id: ids.postOnly, type: "checkbox", checked: check?.methods === "POST" });
  const error = formError({
    name, project: project.input, period: period.amount, cron, tz, grace: grace.amount, manual_resume: manualResume, methods: postOnly,
  });
  const cronRows = [h("div.field", {}, h("label", { for: ids.cron }, "Cron"), cron), h("div.field", {}, h("label", { for: ids.tz }, "Time zone"), tz)];
  const sync = () => {
    period.row.hidden = kind.value !== "period";
    period.amount.disabled = period.row.hidden; // a hidden required field would block the form
    cronRows.forEach((row) => (row.hidden = kind.value !== "cron"));
  };
  kind.addEventListener("change", sync);
  sync();
  const form = h("form.panel.form-grid", {},
    h("div.field", {}, h("label", { for: ids.name }, "Name"), name),
    h("div.field", {}, h("label", { for: ids.project }, "Project"), project.nodes),
    h("div.field", {}, h("label", { for: ids.kind }, "Schedule"), kind),
    period.row, ...cronRows,
    grace.row,
    h("div.field.field-check", { title: "Pings to the paused check are kept but change nothing" },
      manualResume, h("label", { for: ids.manualResume }, "When paused, stay paused until resumed")),
    h("div.field.field-check", { title: "A chat app previewing the ping URL, or a browser opening it, sends GET: such requests are kept but change nothing" },
      postOnly, h("label", { for: ids.postOnly }, "Only POST requests count as pings")),
    error.line,
    h("div.row", {}, h("button.btn.btn-primary", { type: "submit" }, editing ? "Save" : "Create check")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value, grace: grace.seconds(), manual_resume: manualResume.checked, methods: postOnly.checked ? "POST" : "" };
    if (kind.value === "period") body.period = period.seconds();
    else Object.assign(body, { cron: cron.value, tz: tz.value });
    if (!editing) body.project = project.value();
    error.clear();
    try {
      await api(editing ? `/api/v1/checks/${check.unique_key}` : "/api/v1/checks", { method: editing ? "PATCH" : "POST", body });
      toast(editing ? "Check saved" : "Check created", "ok");
      onSaved();
    } catch (problem) {
      error.show(problem.message, problem.field);
    }
  });
  return form;
}

function downFor(since) {
  const ago = relative(since);
  return ago === "just now" ? "down since just now" : `down for ${ago.replace(" ago", "")}`;
}

function nextExpected(check) {
  if (check.status === "paused") return ["paused", null];
  if (check.status === "down") return check.down_since ? [downFor(check.down_since), check.down_since] : ["down", null];
  if (check.expected_at && new Date(check.expected_at) <= new Date()) return [`overdue ${relative(check.expected_at).replace(" ago", "")}`, check.expected_at];
  if (check.expected_at) return [relative(check.expected_at), check.expected_at];
  return ["on first ping", null];
}

function iconButton(name, label, onclick, extra = "") {
  return h(`button.btn-ghost.btn-icon${extra}`, { type: "button", "aria-label": label, title: label, onclick }, icon(name, 16));
}

function checkRow(check, reload) {
  const status = stateOf(check);
  const spark = h("div.spark-slot");
  api(`/api/v1/checks/${check.unique_key}/pings${query({ limit: 50 })}`).then((page) => fill(spark, sparkline(page.items))).catch(() => {});
  const details = h("div.check-details", { hidden: true });
  // Only admins are given a check's ping URL (the API leaves it out for the others) and may edit it.
  const toggle = check.ping_url ? iconButton("chevron", `Details of ${check.name}`, () => {
    details.hidden = !details.hidden;
    toggle.setAttribute("aria-expanded", String(!details.hidden));
    if (!details.hidden && !details.childElementCount) {
      details.append(snippets(check), h("div.snippet-title", {}, "Edit"), checkForm(check, reload));
    }
  }, ".check-toggle") : null;
  toggle?.setAttribute("aria-expanded", "false");
  // The list is drawn anew after a pause, a resume or a delete: focus goes back to this check's new button, or
  // (the check deleted) to the page's heading, not to the top of the document.
  const reloadHere = async () => {
    await reload();
    refocus(document.querySelector(`.check[data-key="${check.unique_key}"] .check-pause`), document.querySelector("h1"));
  };
  const paused = check.status === "paused";
  const adminButtons = isAdmin()
    ? [
        iconButton(paused ? "play" : "pause", `${paused ? "Resume" : "Pause"} ${check.name}`, guarded(async () => {
          await api(`/api/v1/checks/${check.unique_key}/${paused ? "resume" : "pause"}`, { method: "POST" });
        }, reloadHere), ".check-pause"),
        iconButton("trash", `Delete ${check.name}`, guarded(async () => {
          if (!(await confirmDialog(`Delete “${check.name}”?`, "Its pings and history go too.", "Delete", { danger: true }))) return;
          await api(`/api/v1/checks/${check.unique_key}`, { method: "DELETE" });
        }, reloadHere), ".danger"),
      ]
    : [];
  const [next, nextAt] = nextExpected(check);
  return h(`article.check.st-${status}`, { dataset: { key: check.unique_key } },
    h("div.check-main", {},
      h(`span.state.state-${status}`, {}, h("span.state-dot", { "aria-hidden": "true" }), STATE_WORDS[status]),
      h("div.check-text", {},
        h("h2.check-name", {}, check.name),
        h("div.check-meta", {}, h("span.sched", {}, scheduleWords(check)), check.grace ? ` · ${seconds(check.grace)} grace` : "", ` · ${check.project}`)),
      h("dl.check-facts", {},
        h("div", {}, h("dt", {}, "Last ping"), h("dd", { title: check.last_ping_at ? exact(check.last_ping_at) : "" }, check.last_ping_at ? relative(check.last_ping_at) : "never")),
        h("div", {}, h("dt", {}, status === "down" ? "Outage" : "Next"), h("dd", { title: nextAt ? exact(nextAt) : "" }, next))),
      spark,
      h("div.check-actions", {}, ...adminButtons, toggle)),
    details);
}

// Problems first: down, late, running, then the healthy ones, then the quiet ones.
const ORDER = { down: 0, late: 1, running: 2, up: 3, new: 4, paused: 5 };

export function heartbeatsPage(main) {
  const list = h("div.checks");
  const formSlot = h("div");
  const summary = h("div.summary", { "aria-label": "Checks by state" });
  // Projects a new check may go in: the hub's (those with events or people) and those checks are in already.
  let checkProjects = [];
  const knownProjects = () => [...new Set([...state.projects.map((p) => p.slug), ...checkProjects])].sort();
  const load = newestOnly(async (isNewest) => {
    try {
      const page = await api(`/api/v1/checks${query({ limit: 200 })}`);
      if (!isNewest()) return;
      checkProjects = page.items.map((check) => check.project);
      const counts = {};
      for (const check of page.items) counts[stateOf(check)] = (counts[stateOf(check)] || 0) + 1;
      fill(summary, Object.keys(ORDER).filter((k) => counts[k]).map((k) =>
        h(`span.summary-item.summary-${k}`, {}, h("span.state-dot", { "aria-hidden": "true" }), `${counts[k]} ${STATE_WORDS[k].toLowerCase()}`)));
      const items = [...page.items].sort((a, b) => ORDER[stateOf(a)] - ORDER[stateOf(b)] || a.name.localeCompare(b.name));
      fill(list, ...(items.length ? items.map((c) => checkRow(c, load)) : [h("div.empty", {},
        h("div.empty-icon", { "aria-hidden": "true" }, icon("heart", 26)), h("p.empty-title", {}, "No checks yet"),
        h("p.muted", {}, isAdmin() ? "Create one, then ping its URL from your cron job." : "Checks appear here once an admin creates them."))]));
    } catch (error) {
      if (isNewest()) fill(list, h("p.error", {}, error.status === 404 ? "The heartbeat plugin is not enabled on this hub." : error.message));
    }
  });
  fill(main, 
    h("header.page-head", {}, h("h1", { tabindex: "-1" }, "Heartbeats"),
      isAdmin() ? h("button.btn.btn-primary.btn-sm", { type: "button", onclick: () => {
        fill(formSlot, formSlot.childElementCount ? "" : checkForm(null, () => { fill(formSlot); load(); }, knownProjects()));
      } }, icon("plus", 14), "New check") : null),
    summary,
    formSlot,
    list,
  );
  list.append(h("p.loading", {}, "Loading checks…"));
  load();
  // Refresh states, unless someone is reading or editing a check, or is on one with the keyboard: the list drawn
  // again would drop their focus to the top of the page.
  const busy = () =>
    list.querySelector(".check-details:not([hidden])") || formSlot.childElementCount || list.contains(document.activeElement);
  const timer = setInterval(() => busy() || load(), 30_000);
  return () => clearInterval(timer);
}
