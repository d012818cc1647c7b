// Settings: the account (password change, sign out) and this user's push devices.

import { api, setCsrf } from "./api.js";
import { signOut } from "./session.js";
import { fill, formError, guarded, h, icon, newestOnly, toast } from "./dom.js";
import { deviceRemoved, PUSH, pushSupported, turnOnNotifications } from "./push.js";
import { state } from "./state.js";
import { relative } from "./time.js";

function passwordForm() {
  const current = h("input", { id: "pw-current", type: "password", autocomplete: "current-password", required: true });
  const next = h("input", { id: "pw-new", type: "password", autocomplete: "new-password", required: true, minLength: 10 });
  const error = formError({ current_password: current, new_password: next });
  const form = h("form.panel.form-grid", {},
    h("h2", {}, "Password"),
    // Whose password this is, for password managers (hidden: the account panel shows the email).
    h("input", { type: "email", name: "username", autocomplete: "username", value: state.user.email, hidden: true, readOnly: true }),
    h("div.field", {}, h("label", { for: "pw-current" }, "Current password"), current),
    h("div.field", {}, h("label", { for: "pw-new" }, "New password"), next, h("p.hint", {}, "At least 10 characters.")),
    error.line,
    h("div.row", {}, h("button.btn.btn-primary", { type: "submit" }, "Change password")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.clear();
    try {
      const session = await api("/api/v1/session/password", { method: "POST", body: { current_password: current.value, new_password: next.value } });
      setCsrf(session.csrf_token);
      form.reset();
      toast("Password changed. Other sessions were signed out.", "ok");
    } catch (problem) {
      error.show(problem.message, problem.field);
    }
  });
  return form;
}

/** Ask the hub to push a test notification to one device now, and say what its push service answered. */
async function sendTest(device, button) {
  button.disabled = true;
  try {
    const result = await api(`${PUSH.subscriptions}/${encodeURIComponent(device.id)}/test`, { method: "POST" });
    if (result.result === "delivered") toast("Test notification sent. It should appear on that device in a moment.", "ok");
    else toast(`The push service did not take it (${result.result}${result.detail ? `: ${result.detail}` : ""}).`, "error");
  } catch (error) {
    toast(error.message, "error");
  } finally {
    button.disabled = false;
  }
}

function devicesPanel() {
  const list = h("ul.list");
  const status = h("p.muted.small");
  const load = newestOnly(async (isNewest) => {
    try {
      const devices = await api(PUSH.subscriptions);
      if (isNewest()) fill(list, ...(devices.length ? devices.map((d) => h("li.list-row", {},
        h("div", {}, h("div", {}, d.user_agent || "Browser"), h("div.muted.small", {}, `added ${relative(d.created_at)}`)),
        h("div.row", {},
          h("button.btn.btn-sm", { type: "button", onclick: (e) => sendTest(d, e.currentTarget) }, icon("bell", 14), "Send test"),
          h("button.btn-ghost.btn-sm.danger", { type: "button", onclick: guarded(async () => {
            await api(`${PUSH.subscriptions}/${encodeURIComponent(d.id)}`, { method: "DELETE" });
            await deviceRemoved(d.endpoint);
          }, load) }, "Remove")))) : [h("li.muted.small", {}, "No devices yet.")]));
    } catch (error) {
      if (isNewest()) fill(list, h("li.muted.small", {}, `Devices unavailable: ${error.message}`));
    }
  });
  const button = h("button.btn.btn-primary", { type: "button", disabled: !pushSupported() }, icon("bell", 16), "Turn on notifications");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Asking the browser…";
    try {
      await turnOnNotifications();
      status.textContent = "Notifications are on for this device.";
      load();
    } catch (error) {
      status.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  if (!pushSupported()) status.textContent = "This browser cannot receive push notifications. On iPhone, add hub to the Home Screen first.";
  load();
  return h("section.panel", {}, h("h2", {}, "Notifications"), h("p.muted", {}, "Get a push notification on this device when an event is routed to you. Tap it to open the event; its buttons run the event's actions."), h("div.row", {}, button), status, list);
}

export function settingsPage(main) {
  fill(main, 
    h("header.page-head", {}, h("h1", {}, "Settings")),
    h("section.panel", {}, h("h2", {}, "Account"),
      h("dl.facts", {}, h("dt", {}, "Email"), h("dd", {}, state.user.email), h("dt", {}, "Role"), h("dd", {}, state.user.role)),
      h("div.row", {}, h("button.btn", { type: "button", onclick: signOut }, icon("out", 16), "Sign out"))),
    devicesPanel(),
    passwordForm(),
  );
}
