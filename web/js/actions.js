// Action buttons: links open; the others run through the hub with confirmation, an inputs form, a spinner,
// the outcome on the card and the run history. The hub decides who may run what; the UI only mirrors it.

import { api } from "./api.js";
import { fill, h, icon, newestOnly } from "./dom.js";
import { canRunActions } from "./state.js";
import { duration, relative, timeEl } from "./time.js";

export const runUrl = (eventId, key) => `/api/v1/events/${encodeURIComponent(eventId)}/actions/${encodeURIComponent(key)}`;
export const runsUrl = (eventId) => `/api/v1/events/${encodeURIComponent(eventId)}/runs`;

const OUTCOME_WORDS = { running: "Running", done: "Done", failed: "Failed", expired: "Expired", refused: "Not allowed" };

/** A modal confirmation built on <dialog>; resolves true when confirmed. A `danger` one (a delete) has a red
 * button and starts on Cancel, so a hasty Enter keeps what is there. */
export function confirmDialog(title, text, confirmLabel = "Run", { danger = false } = {}) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog.dialog",
      { "aria-label": title },
      h("form", { method: "dialog" },
        h("h2", {}, title),
        text ? h("p", {}, text) : null,
        h("div.dialog-buttons", {},
          h("button.btn", { value: "cancel", type: "submit", autofocus: danger }, "Cancel"),
          h(danger ? "button.btn.btn-danger" : "button.btn.btn-primary", { value: "ok", type: "submit", autofocus: !danger }, confirmLabel),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** What an input is called: its label, else its name in words ("notify_customer" → "Notify customer"). */
export function inputLabel(input) {
  if (input.label) return input.label;
  const words = input.name.replace(/_+/g, " ").replace(/([a-z\d])([A-Z])/g, "$1 $2").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Form fields for an action's declared inputs; `read()` returns the typed values. */
export function inputsForm(inputs) {
  const fields = inputs.map((input) => {
    const id = `in-${input.name}-${Math.random().toString(36).slice(2, 7)}`;
    const label = h("label", { for: id }, inputLabel(input));
    let control;
    if (input.type === "choice") {
      // Without a default nothing is picked for the person: an empty first option, which `required` refuses
      // and `read()` leaves out (the hub then takes the input as not given).
      const unset = input.default === undefined || input.default === null;
      control = h("select", { id, name: input.name, required: !!input.required },
        unset ? h("option", { value: "" }, "Choose…") : null,
        input.choices.map((c) => h("option", { value: c, selected: c === input.default }, c)));
    } else if (input.type === "bool") {
      control = h("input", { id, name: input.name, type: "checkbox", checked: input.default === true });
    } else {
      control = h("input", {
        id, name: input.name, type: input.type === "number" ? "number" : input.secret ? "password" : "text", step: "any",
        autocomplete: input.secret ? "off" : null,
        required: !!input.required, value: input.default ?? "",
      });
    }
    // A checkbox comes before its label, as checkboxes do everywhere else.
    const row = input.type === "bool" ? h("div.field.field-check", {}, control, label) : h("div.field", {}, label, control);
    return { input, control, row };
  });
  const read = () => {
    const values = {};
    for (const { input, control } of fields) {
      if (input.type === "bool") values[input.name] = control.checked;
      else if (control.value === "") continue;
      else values[input.name] = input.type === "number" ? Number(control.value) : control.value;
    }
    return values;
  };
  return { rows: fields.map((f) => f.row), read };
}

/** Focus the first of `nodes` still on the page and enabled, if the focus was lost: a button disabled while it
 * runs, or a form taken away, drops it to the body and the next Tab would start over at the top of the page. */
export function refocus(...nodes) {
  if (document.activeElement && document.activeElement !== document.body) return; // the person moved on
  nodes.find((node) => node?.isConnected && !node.disabled)?.focus();
}

/** The outcome of a run in words ("Done", "Failed", "Not allowed") with the target's message. */
export function outcomeLine(box, status, message) {
  const word = OUTCOME_WORDS[status] || status;
  fill(box, h(`span.outcome.outcome-${status}`, {}, word), message ? h("span.outcome-msg", {}, message) : null);
}

/** The inputs a run sent, as "Reason: fraud · Notify: yes" (the hub already shows a secret one as [hidden]). */
function sentInputs(values, declared = []) {
  const words = Object.entries(values || {}).map(([name, value]) => {
    const input = declared.find((i) => i.name === name) || { name };
    return `${inputLabel(input)}: ${value === true ? "yes" : value === false ? "no" : value}`;
  });
  return words.length ? h("div.run-inputs", {}, words.join(" · ")) : null;
}

/** Runs, newest first; `actions` maps action keys (or self-service names) to the actions, for the labels people
 * see on the buttons and in the forms. */
export function runsList(runs, actions = {}) {
  if (!runs.length) return h("p.muted.small", {}, "Not run yet.");
  return h("ul.runs", { "aria-label": "Runs" }, runs.map((run) => {
    const action = actions[run.action];
    const meta = [run.actor.email || run.actor.name];
    if (run.latency_ms !== undefined && run.latency_ms !== null) meta.push(duration(run.latency_ms / 1000));
    return h("li.run", {},
      h(`span.dot.dot-${run.status}`, { "aria-hidden": "true" }),
      h("div.run-body", {},
        h("div.run-line", {},
          h("span.run-label", {}, action?.label || run.action),
          h(`span.outcome.outcome-${run.status}`, {}, OUTCOME_WORDS[run.status] || run.status),
          run.message ? h("span.run-msg", {}, run.message) : null),
        sentInputs(run.inputs, action?.inputs),
        h("div.run-meta", {}, meta.join(" · "), run.created_at ? [" · ", timeEl(run.created_at)] : null)));
  }));
}

async function run(event, action, button, outcome, values, afterRun) {
  const original = button.textContent;
  button.disabled = true;
  button.classList.add("busy");
  button.setAttribute("aria-busy", "true");
  fill(outcome, h("span.spinner", { "aria-hidden": "true" }), h("span.muted", {}, `Running “${action.label}”…`));
  try {
    const result = await api(runUrl(event.id, action.key), { method: "POST", body: values ? { inputs: values } : {} });
    outcomeLine(outcome, result.status, result.message);
  } catch (error) {
    const status = error.status === 410 ? "expired" : error.status === 403 ? "refused" : "failed";
    outcomeLine(outcome, status, error.message);
  } finally {
    button.disabled = false;
    button.classList.remove("busy");
    button.removeAttribute("aria-busy");
    button.textContent = original;
    refocus(button, outcome);
    afterRun();
  }
}

/** The host an action calls or a link opens ("deploy.example.com"), for the person to see before they click. */
function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
}

function runButton(event, action, outcome, formSlot, afterRun) {
  const expired = action.expires_at && new Date(action.expires_at) < new Date();
  const allowed = canRunActions();
  const host = hostOf(action.url);
  const button = h("button.btn.btn-sm", {
    type: "button",
    disabled: expired || !allowed,
    title: expired ? `Expired ${relative(action.expires_at)}` : allowed ? `Calls ${host} through the hub` : "Viewers cannot run actions",
    dataset: { action: action.key },
  }, action.label);
  button.addEventListener("click", async () => {
    if (action.inputs?.length) {
      const form = inputsForm(action.inputs);
      const element = h("form.action-form", {},
        h("div.action-form-title", {}, action.label),
        form.rows,
        h("div.row", {},
          h("button.btn.btn-sm", { type: "button", onclick: () => {
            fill(formSlot);
            refocus(button);
          } }, "Cancel"),
          h("button.btn.btn-sm.btn-primary", { type: "submit" }, action.confirm ? "Continue" : "Run")));
      element.addEventListener("submit", async (e) => {
        e.preventDefault();
        if (action.confirm && !(await confirmDialog(`Run “${action.label}”?`, `The hub calls ${host} with your inputs.`))) return;
        const values = form.read();
        fill(formSlot);
        await run(event, action, button, outcome, values, afterRun);
      });
      fill(formSlot, element);
      element.querySelector("input,select")?.focus();
      return;
    }
    if (action.confirm && !(await confirmDialog(`Run “${action.label}”?`, `On event “${event.event}”, the hub calls ${host}.`))) return;
    await run(event, action, button, outcome, null, afterRun);
  });
  return button;
}

export function actionBar(event) {
  const actions = event.actions || [];
  if (!actions.length) return null;
  // Focusable from script only: where the focus goes when the button is gone.
  const outcome = h("div.outcome-line", { "aria-live": "polite", tabIndex: -1 });
  const formSlot = h("div");
  const history = h("div.runs-box");
  const byKey = Object.fromEntries(actions.map((action) => [action.key, action]));
  const isOpen = () => historyButton?.getAttribute("aria-expanded") === "true";
  const loadRuns = newestOnly(async (isNewest) => {
    let shown;
    try {
      shown = runsList(await api(runsUrl(event.id)), byKey);
    } catch (error) {
      shown = h("p.muted.small", {}, `Runs unavailable: ${error.message}`);
    }
    if (isOpen() && isNewest()) fill(history, shown); // unless it was closed or asked again meanwhile
  });
  const runnable = actions.some((a) => !a.external && a.key);
  const historyButton = runnable
    ? h("button.btn-ghost.btn-sm", { type: "button", "aria-expanded": "false", onclick: async (e) => {
        const toggle = e.currentTarget;
        if (toggle.getAttribute("aria-expanded") === "true") {
          toggle.setAttribute("aria-expanded", "false");
          fill(history);
          return;
        }
        toggle.setAttribute("aria-expanded", "true");
        fill(history, h("span.muted.small", {}, "Loading runs…"));
        await loadRuns();
      } }, "Runs")
    : null;
  // A run while the list is open shows up in it.
  const afterRun = () => isOpen() && loadRuns();
  const buttons = actions.map((action) =>
    action.external || !action.key
      ? h("a.btn.btn-sm", { href: action.url, target: "_blank", rel: "noopener noreferrer", title: `Opens ${hostOf(action.url)}` }, action.label, icon("external", 14))
      : runButton(event, action, outcome, formSlot, afterRun),
  );
  return h("div.actions", {}, h("div.action-buttons", {}, buttons, historyButton), formSlot, outcome, history);
}
