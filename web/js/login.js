// Sign-in with email and password; the hub answers with a fresh session cookie and a CSRF token.

import { api } from "./api.js";
import { formError, h } from "./dom.js";

export function loginPage(onSignedIn, { expired = false } = {}) {
  const error = formError();
  const email = h("input", { id: "email", name: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button.btn.btn-primary.btn-block", { type: "submit" }, "Sign in");
  const form = h("form.login-card", { "aria-labelledby": "login-title" },
    h("img.login-logo", { src: "/icons/icon.svg", alt: "", width: 48, height: 48 }),
    h("h1", { id: "login-title" }, "Sign in to hub"),
    expired ? h("p.notice", { role: "status" }, "Your session has ended. Sign in again to go on where you were.") : null,
    h("div.field", {}, h("label", { for: "email" }, "Email"), email),
    h("div.field", {}, h("label", { for: "password" }, "Password"), password),
    error.line,
    submit,
    h("p.muted.small", {}, "No account? An admin creates one with ", h("code", {}, "hub users create"), "."));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.clear();
    try {
      const session = await api("/api/v1/session", { method: "POST", body: { email: email.value, password: password.value } });
      await onSignedIn(session);
    } catch (problem) {
      error.show(problem.status === 401 ? "Wrong email or password." : problem.message);
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  document.body.classList.add("signed-out");
  document.getElementById("main").replaceChildren(h("div.login", {}, form));
  email.focus(); // `autofocus` does nothing when the page already had focus (a sign-in after a session ended)
}
