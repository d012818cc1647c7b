// Building DOM nodes. Strings always become text nodes, so data from events can never turn into markup.

const SAFE_URL = /^(https?:|mailto:)/i;

/** h("a.card", {href, onclick}, child, "text", [more]) — class shorthand after the tag name. */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const node = document.createElement(tag || "div");
  if (classes.length) node.className = classes.join(" ");
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className += (node.className ? " " : "") + value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "href") node.setAttribute("href", safeHref(value));
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Links from event data only ever point at http(s) or mailto; anything else (javascript:, data:) goes nowhere. */
export function safeHref(url) {
  const text = String(url);
  if (text.startsWith("/") && !text.startsWith("//")) return text;
  return SAFE_URL.test(text.trim()) ? text : "#";
}

/** Replace a node's children; like `h`, it flattens arrays and skips null, undefined and false. */
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h(`div.toast.toast-${kind}`, {}, message);
  box.append(item);
  setTimeout(() => item.remove(), 4000);
}

let formErrors = 0;

/** A form's error line, kept under its fields until the next try (a toast is gone after 4 s), and the field the
 * hub's answer names (`scopes[0]` is the `scopes` field of `fields`) marked invalid, tied to the line, and focused
 * unless the person has gone on to another form meanwhile. */
export function formError(fields = {}) {
  const line = h("p.form-error", { id: `form-error-${++formErrors}`, role: "alert", hidden: true });
  let marked = null;
  const unmark = () => {
    marked?.removeEventListener("input", unmark);
    marked?.removeAttribute("aria-invalid");
    marked?.removeAttribute("aria-errormessage");
    marked = null;
  };
  return {
    line,
    clear() {
      line.hidden = true;
      line.textContent = "";
      unmark();
    },
    show(message, field) {
      unmark();
      line.hidden = false;
      // Written in the next frame, so that a screen reader announces the same message again after another try.
      requestAnimationFrame(() => (line.textContent = message));
      const name = String(field ?? "").split(/[.[]/)[0];
      marked = Object.hasOwn(fields, name) ? fields[name] : null;
      if (!marked) return;
      marked.setAttribute("aria-invalid", "true");
      marked.setAttribute("aria-errormessage", line.id);
      marked.addEventListener("input", unmark);
      const form = line.closest("form");
      const away = document.activeElement && document.activeElement !== document.body && !form?.contains(document.activeElement);
      if (!away) marked.focus();
    },
  };
}

/** A button handler whose failure (the hub refusing, say) shows as an error toast instead of an uncaught
 * rejection; `after` runs either way, e.g. to reload a list that has changed under the person. */
export function guarded(handler, after) {
  return async (event) => {
    try {
      await handler(event);
    } catch (error) {
      toast(error.message, "error");
    } finally {
      after?.();
    }
  };
}

/** For a view that loads and draws itself again after each change: `work(isNewest, ...args)` draws only while
 * `isNewest()`, so a slow answer to an earlier load (the page's first) cannot draw over a later one (the list
 * after a change), which showed the list without what was just added. */
export function newestOnly(work) {
  let calls = 0;
  return (...args) => {
    const call = ++calls;
    return work(() => call === calls, ...args);
  };
}

/** An inline SVG icon from the sprite-free set below (paths are ours, never data). */
export function icon(name, size = 18) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "ico");
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

const ICONS = {
  feed: ["M4 6h16", "M4 12h16", "M4 18h10"],
  heart: ["M3 12h4l2-5 4 10 2-5h6"],
  bolt: ["M13 3 5 14h6l-1 7 8-11h-6z"],
  shield: ["M12 3 4 6v6c0 4.5 3.4 8 8 9 4.6-1 8-4.5 8-9V6z"],
  gear: ["M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z", "M19 12l2-1-1-3-2 .3-1.5-1.5.3-2-3-1-1 2h-2l-1-2-3 1 .3 2L5.8 7.3 4 7l-1 3 2 1v2l-2 1 1 3 2-.3 1.5 1.5-.3 2 3 1 1-2h2l1 2 3-1-.3-2 1.5-1.5 2 .3 1-3-2-1z"],
  search: ["M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z", "M20 20l-4-4"],
  x: ["M6 6l12 12", "M18 6 6 18"],
  copy: ["M9 9h10v10H9z", "M5 15V5h10"],
  link: ["M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1", "M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"],
  bell: ["M6 16V11a6 6 0 1 1 12 0v5l2 2H4z", "M10 20a2 2 0 0 0 4 0"],
  up: ["M12 19V5", "M6 11l6-6 6 6"],
  external: ["M14 4h6v6", "M20 4 10 14", "M18 14v6H4V6h6"],
  pause: ["M8 5v14", "M16 5v14"],
  play: ["M7 5v14l12-7z"],
  plus: ["M12 5v14", "M5 12h14"],
  out: ["M15 4h4v16h-4", "M10 8l-4 4 4 4", "M6 12h10"],
  filter: ["M4 5h16l-6 8v6l-4-2v-4z"],
  code: ["M8 7l-5 5 5 5", "M16 7l5 5-5 5"],
  chevron: ["M6 9l6 6 6-6"],
  trash: ["M4 7h16", "M10 11v6", "M14 11v6", "M6 7l1 13h10l1-13", "M9 7V4h6v3"],
};
