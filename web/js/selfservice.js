// Self-service actions: standalone actions from the hub's config, each with its form and recent runs.

import { api } from "./api.js";
import { confirmDialog, inputsForm, outcomeLine, refocus, runsList } from "./actions.js";
import { fill, h, icon } from "./dom.js";
import { canRunActions, isAdmin, state } from "./state.js";

const base = (action) => `/api/v1/actions/${encodeURIComponent(action.name)}/runs?project=${encodeURIComponent(action.project)}`;

function actionPanel(action) {
  const form = inputsForm(action.inputs || []);
  const outcome = h("div.outcome-line", { "aria-live": "polite", tabIndex: -1 });
  const runs = h("div.runs-box");
  const loadRuns = () => api(base(action)).then((r) => fill(runs, runsList(r, { [action.name]: action }))).catch(() => {});
  const submit = h("button.btn.btn-primary.btn-sm", { type: "submit", disabled: !canRunActions() }, "Run");
  const element = h("form.panel.action-panel", {},
    h("div.action-head", {}, h("h2", {}, action.label),
      h("span.badge", {}, action.project), action.teams?.length ? h("span.badge", {}, `teams: ${action.teams.join(", ")}`) : null),
    action.description ? h("p.muted", {}, action.description) : null,
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
      const result = await api(base(action), { method: "POST", body: { inputs: form.read() } });
      outcomeLine(outcome, result.status, result.message);
    } catch (error) {
      outcomeLine(outcome, error.status === 403 ? "refused" : "failed", error.message);
    } finally {
      submit.disabled = !canRunActions();
      refocus(submit, outcome);
      loadRuns();
    }
  });
  loadRuns();
  return element;
}

/** Nothing to show: an admin can declare actions; anyone else can only ask an admin, for access or for an action. */
function noActions() {
  const next = isAdmin()
    ? ["Declare them in the config file under ", h("code", {}, "[[self_service_actions]]"), "."]
    : state.projects.length
      ? "None of your projects has any. Ask an admin if you need one."
      : "You are not in any project yet. Ask an admin for access to yours.";
  return h("div.empty", {},
    h("div.empty-icon", { "aria-hidden": "true" }, icon("bolt", 26)), h("p.empty-title", {}, "No self-service actions"),
    h("p.muted", {}, next));
}

export function selfServicePage(main) {
  const list = h("div.stack", {}, h("p.loading", {}, "Loading actions…"));
  fill(main, h("header.page-head", {}, h("h1", {}, "Actions")), list);
  api("/api/v1/actions")
    .then((actions) => fill(list, ...(actions.length ? actions.map(actionPanel) : [noActions()])))
    .catch((error) => fill(list, h("p.error", {}, error.message)));
}
