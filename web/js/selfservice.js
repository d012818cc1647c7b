// Self-service actions: standalone actions from the hub's config, each with its form and recent runs.

import { api } from "./api.js";
import { confirmDialog, inputsForm, runsList } from "./actions.js";
import { fill, h } from "./dom.js";
import { canRunActions } from "./state.js";

const base = (name) => `/api/v1/actions/${encodeURIComponent(name)}/runs`;

function actionPanel(action) {
  const form = inputsForm(action.inputs || []);
  const outcome = h("div.outcome-line", { "aria-live": "polite" });
  const runs = h("div.runs-box");
  const loadRuns = () => api(base(action.name)).then((r) => fill(runs, runsList(r))).catch(() => {});
  const submit = h("button.btn.btn-primary.btn-sm", { type: "submit", disabled: !canRunActions() }, "Run");
  const element = h("form.panel.action-panel", {},
    h("h2", {}, action.label),
    action.description ? h("p.muted", {}, action.description) : null,
    h("p.small.muted", {}, `Project ${action.project}`, action.teams?.length ? ` · teams: ${action.teams.join(", ")}` : ""),
    form.rows,
    h("div.row", {}, submit),
    outcome,
    h("div.snippet-title", {}, "Recent runs"),
    runs);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!(await confirmDialog(`Run “${action.label}”?`, action.description))) return;
    submit.disabled = true;
    fill(outcome, h("span.spinner", { "aria-hidden": "true" }), h("span.muted", {}, "Running…"));
    try {
      const result = await api(base(action.name), { method: "POST", body: { inputs: form.read() } });
      fill(outcome, h(`span.outcome.outcome-${result.status}`, {}, result.status), result.message ? h("span.outcome-msg", {}, result.message) : null);
    } catch (error) {
      fill(outcome, h("span.outcome.outcome-failed", {}, error.status === 403 ? "Not allowed" : "Failed"), h("span.outcome-msg", {}, error.message));
    } finally {
      submit.disabled = !canRunActions();
      loadRuns();
    }
  });
  loadRuns();
  return element;
}

export function selfServicePage(main) {
  const list = h("div.stack", {}, h("p.loading", {}, "Loading actions…"));
  fill(main, h("header.page-head", {}, h("h1", {}, "Actions")), list);
  api("/api/v1/actions")
    .then((actions) => fill(list, ...(actions.length ? actions.map(actionPanel) : [h("div.empty", {},
      h("div.empty-icon", { "aria-hidden": "true" }, "⚡"), h("p.empty-title", {}, "No self-service actions"),
      h("p.muted", {}, "Declare them in the config file under [[self_service_actions]].")) ])))
    .catch((error) => fill(list, h("p.error", {}, error.message)));
}
