// Pretty-printed, coloured JSON built from text nodes (never parsed as HTML), inside a collapsible block.

import { copyButton } from "./copy.js";
import { append, h } from "./dom.js";

function render(value, indent) {
  const pad = "  ".repeat(indent + 1);
  const end = "  ".repeat(indent);
  if (value === null) return [h("span.j-null", {}, "null")];
  if (Array.isArray(value)) {
    if (!value.length) return ["[]"];
    const parts = ["[\n"];
    value.forEach((item, i) => parts.push(pad, ...render(item, indent + 1), i < value.length - 1 ? ",\n" : "\n"));
    return [...parts, end, "]"];
  }
  if (typeof value === "object") {
    const keys = Object.keys(value);
    if (!keys.length) return ["{}"];
    const parts = ["{\n"];
    keys.forEach((key, i) => {
      parts.push(pad, h("span.j-key", {}, JSON.stringify(key)), ": ", ...render(value[key], indent + 1));
      parts.push(i < keys.length - 1 ? ",\n" : "\n");
    });
    return [...parts, end, "}"];
  }
  if (typeof value === "string") return [h("span.j-str", {}, JSON.stringify(value))];
  if (typeof value === "boolean") return [h("span.j-bool", {}, String(value))];
  return [h("span.j-num", {}, String(value))];
}

export function jsonBlock(value, { open = false, label = "Content" } = {}) {
  const text = JSON.stringify(value);
  const size = text.length > 1024 ? `${(text.length / 1024).toFixed(1)} KB` : `${text.length} B`;
  const code = h("code", {}, render(value, 0));
  const details = h("details.json", { open });
  const showCode = () => {
    details.open = true;
    return code;
  };
  const copy = copyButton(() => JSON.stringify(value, null, 2), { showIn: showCode, spec: "button.btn-ghost.btn-xs", iconName: null });
  return append(details, [h("summary", {}, h("span", {}, label), h("span.muted", {}, size), copy), h("pre.json-body", {}, code)]);
}
