// Admin: deliveries (recent and dead letters, retry), routing rules, API keys and webhook sources.

import { api } from "./api.js";
import { confirmDialog, refocus } from "./actions.js";
import { copyButton } from "./copy.js";
import { fill, formError, guarded, h, newestOnly, toast } from "./dom.js";
import { isAdmin } from "./state.js";
import { relative } from "./time.js";

function table(columns, rows, empty) {
  if (!rows.length) return h("p.muted.small", {}, empty);
  return h("div.table-wrap", {}, h("table.table", {},
    h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
    // Each cell carries its column's name: on a phone the rows stack and show it (styles.css).
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([label, cell]) => h("td", { "data-label": label || null }, cell(row))))))));
}

function section(title, ...children) {
  return h("section.panel", {}, h("h2", { tabindex: "-1" }, title), ...children);
}

/** Where the keyboard goes on from once the button it was on is gone (a table drawn again, a box dismissed): the
 * heading of its section, not the top of the page. */
function backToHeading(node) {
  refocus(node.closest("section")?.querySelector("h2"));
}

/** `reload` for a row's button (Retry, Revoke, Delete), which drawing the table again takes away. */
function redrawn(reload, slot) {
  return async () => {
    await reload();
    backToHeading(slot);
  };
}

/** A box that stays until dismissed (or the page is left): the new key's secret, or a source's URL. */
function shownOnce(slot, label, value, note) {
  const code = h("code.mono.secret-value", {}, value);
  fill(slot, h("div.secret", { role: "status" },
    h("strong", {}, label),
    note ? h("p.small", {}, note) : null,
    code,
    h("div.row", {}, copyButton(value, { showIn: code }),
      h("button.btn-ghost.btn-sm", { type: "button", onclick: () => { fill(slot); backToHeading(slot); } }, "Dismiss"))));
}

const RETRYABLE = new Set(["failed", "dead"]);

function retryButton(delivery, reload) {
  return h("button.btn.btn-sm", { type: "button", onclick: guarded(async () => {
    await api(`/api/v1/deliveries/${encodeURIComponent(delivery.id)}/retry`, { method: "POST" });
    toast("Queued for another try", "ok");
  }, reload) }, "Retry");
}

/** Retry sits under the state and the tries under the time, so the table fits a laptop's width with nothing to
 * scroll to: the button and the error were off to the right. */
function deliveryColumns(reload) {
  return [
    ["State", (d) => h("div.cell-stack", {}, h(`span.badge.st-${d.state}`, {}, d.state), RETRYABLE.has(d.state) ? retryButton(d, reload) : null)],
    ["Via", (d) => `${d.notifier} · ${d.address}`],
    ["Event", (d) => h("a.delivery-event", { href: `/events/${d.event_id}`, title: d.event_title }, d.event_title)],
    ["Rule", (d) => h("span.nowrap", {}, d.rule)],
    ["When", (d) => h("div.cell-stack", {}, h("span.nowrap", {}, relative(d.finished_at || d.created_at)),
      h("span.muted.small.nowrap", {}, d.attempts === 1 ? "1 try" : `${d.attempts} tries`))],
    ["Last error", (d) => (d.last_error && d.state !== "delivered" ? h("span.delivery-error", {}, d.last_error) : "")],
  ];
}

function deliveries(slot) {
  const load = (state) => api(`/api/v1/deliveries${state ? "?state=dead" : ""}`).then((page) => page.items);
  const reload = newestOnly(async (isNewest) => {
    try {
      const [recent, dead] = await Promise.all([load(false), load(true)]);
      const columns = deliveryColumns(redrawn(reload, slot));
      if (isNewest()) fill(slot, h("h3", {}, "Dead letters"), table(columns, dead, "No dead letters."), h("h3", {}, "Recent"), table(columns, recent, "No deliveries yet."));
    } catch (error) {
      if (isNewest()) fill(slot, h("p.muted.small", {}, `Deliveries unavailable: ${error.message}`));
    }
  });
  reload();
}

/** The API leaves out fields at their defaults: `via` is "push" unless said, and only people targets have one. */
function targetText(target) {
  if (target.slack) return `Slack (${target.slack})`;
  if (target.email) return `email ${target.email}`;
  const who = target.team ? `team ${target.team}` : target.user || "everyone in the project";
  return `${who} (${target.via || "push"})`;
}

async function rules(slot) {
  try {
    const found = await api("/api/v1/routes");
    fill(slot, table([
      ["Rule", (r) => h("span", {}, r.rule.name, r.rule.enabled !== false ? "" : h("span.muted", {}, " (off)"))],
      ["Matches", (r) => h("code.mono", {}, JSON.stringify(r.rule.match))],
      ["Targets", (r) => r.rule.targets.map(targetText).join(", ")],
      ["From", (r) => r.origin],
    ], found, "No routing rules: events sent with notify go to everyone in their project."));
  } catch (error) {
    fill(slot, h("p.muted.small", {}, `Routing rules unavailable: ${error.message}`));
  }
}

// What a key may do (hub/auth.py): send events, read them, run actions, and everything (admin).
const SCOPES = [
  ["ingest", "send events"],
  ["read", "read events"],
  ["act", "run actions"],
  ["admin", "everything"],
];

/** A checkbox per scope, any number of them; a new key sends events unless told otherwise. */
function scopeChoices() {
  const boxes = SCOPES.map(([scope]) => h("input", { type: "checkbox", id: `key-scope-${scope}`, value: scope, defaultChecked: scope === "ingest" }));
  const fieldset = h("fieldset.field.scope-choices", {},
    h("legend", {}, "Scopes"),
    h("div.row", {}, SCOPES.map(([scope, what], i) =>
      h("label.field-check", { for: boxes[i].id, title: what }, boxes[i], scope))));
  return { fieldset, first: boxes[0], chosen: () => boxes.filter((box) => box.checked).map((box) => box.value) };
}

async function keys(slot) {
  const created = h("div");
  const name = h("input", { id: "key-name", required: true, placeholder: "deploy script" });
  const scopes = scopeChoices();
  const project = h("input", { id: "key-project", placeholder: "any project" });
  const error = formError({ name, scopes: scopes.first, project });
  const form = h("form.inline-form", {},
    h("div.field", {}, h("label", { for: "key-name" }, "Name"), name),
    scopes.fieldset,
    h("div.field", {}, h("label", { for: "key-project" }, "Project"), project),
    h("button.btn.btn-primary", { type: "submit" }, "Create key"),
    error.line);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.clear();
    if (!scopes.chosen().length) {
      error.show("Choose at least one scope.", "scopes");
      return;
    }
    try {
      const result = await api("/api/v1/keys", { method: "POST", body: { name: name.value, scopes: scopes.chosen(), project: project.value || null } });
      shownOnce(created, `Key “${result.info.name}”`, result.key, "Copy it now: it is shown only once.");
      form.reset();
      reload();
    } catch (problem) {
      error.show(problem.message, problem.field);
    }
  });
  const listSlot = h("div");
  const reload = newestOnly(async (isNewest) => {
    try {
      const list = await api("/api/v1/keys");
      if (isNewest()) fill(listSlot, keysTable(list, redrawn(reload, listSlot)));
    } catch (error) {
      if (isNewest()) fill(listSlot, h("p.muted.small", {}, `API keys unavailable: ${error.message}`)); // not "none yet"
    }
  });
  fill(slot, created, form, listSlot);
  reload();
}

function keysTable(list, reload) {
  return table([
    ["Name", (k) => k.name],
    ["Key", (k) => h("code.mono", {}, `${k.prefix}…`)],
    ["Scopes", (k) => k.scopes.join(", ")],
    ["Project", (k) => k.project || "all"],
    ["Last used", (k) => (k.last_used_at ? relative(k.last_used_at) : "never")],
    ["", (k) => (k.revoked_at ? h("span.muted", {}, "revoked") : h("button.btn-ghost.btn-sm.danger", { type: "button", onclick: guarded(async () => {
      if (!(await confirmDialog(`Revoke “${k.name}”?`, "Apps using it stop working within seconds.", "Revoke", { danger: true }))) return;
      await api(`/api/v1/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
    }, reload) }, "Revoke"))],
  ], list, "No API keys yet.");
}

async function sources(slot) {
  const created = h("div");
  const plugin = h("input", { id: "src-plugin", required: true, placeholder: "stripe" });
  const name = h("input", { id: "src-name", required: true, placeholder: "shop" });
  const project = h("input", { id: "src-project", required: true, placeholder: "shop" });
  const secret = h("input", { id: "src-secret", required: true, placeholder: "signing secret from the sender" });
  const error = formError({ plugin, name, project, secrets: secret });
  const form = h("form.inline-form", {},
    h("div.field", {}, h("label", { for: "src-plugin" }, "Type"), plugin),
    h("div.field", {}, h("label", { for: "src-name" }, "Name"), name),
    h("div.field", {}, h("label", { for: "src-project" }, "Project"), project),
    h("div.field", {}, h("label", { for: "src-secret" }, "Secret"), secret),
    h("button.btn.btn-primary", { type: "submit" }, "Add source"),
    error.line);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.clear();
    try {
      const result = await api("/api/v1/sources", { method: "POST", body: { plugin: plugin.value, name: name.value, project: project.value, secrets: [secret.value] } });
      shownOnce(created, "Point the sender at", result.url, `${result.plugin}/${result.name} is ready: paste this URL into the sender's webhook settings.`);
      form.reset();
      reload();
    } catch (problem) {
      error.show(problem.message, problem.field);
    }
  });
  const listSlot = h("div");
  const reload = newestOnly(async (isNewest) => {
    try {
      const list = await api("/api/v1/sources");
      if (isNewest()) fill(listSlot, sourcesTable(list, redrawn(reload, listSlot)));
    } catch (error) {
      if (isNewest()) fill(listSlot, h("p.muted.small", {}, `Webhook sources unavailable: ${error.message}`)); // not "none yet"
    }
  });
  fill(slot, created, form, listSlot);
  reload();
}

function sourcesTable(list, reload) {
  return table([
    ["Source", (s) => `${s.plugin}/${s.name}`],
    ["Project", (s) => s.project],
    ["URL", (s) => h("code.mono", {}, s.url)],
    ["Secrets", (s) => s.secret_hints.join(" ")],
    ["", (s) => (s.managed_by === "config" ? h("span.muted", {}, "config file") : h("button.btn-ghost.btn-sm.danger", { type: "button", onclick: guarded(async () => {
      if (!(await confirmDialog(`Delete ${s.plugin}/${s.name}?`, "Deliveries to its URL will be refused.", "Delete", { danger: true }))) return;
      await api(`/api/v1/sources/${encodeURIComponent(s.plugin)}/${encodeURIComponent(s.name)}`, { method: "DELETE" });
    }, reload) }, "Delete"))],
  ], list, "No webhook sources yet.");
}

export function adminPage(main) {
  if (!isAdmin()) {
    fill(main, h("div.empty", {}, h("p.empty-title", {}, "Admins only"), h("p.muted", {}, "Ask an admin for access.")));
    return;
  }
  const slots = [h("div"), h("div"), h("div"), h("div")];
  fill(main, 
    h("header.page-head", {}, h("h1", {}, "Admin")),
    section("Deliveries", slots[0]),
    section("Routing rules", slots[1]),
    section("API keys", slots[2]),
    section("Webhook sources", slots[3]),
  );
  deliveries(slots[0]);
  rules(slots[1]);
  keys(slots[2]);
  sources(slots[3]);
}
