// Copying to the clipboard, honestly: the Clipboard API needs a secure context (HTTPS or localhost), so on a
// plain-http hub the text is copied the old way or, failing that, selected for the person to copy.

import { fill, h, icon } from "./dom.js";

async function clipboardWrite(text) {
  if (!navigator.clipboard?.writeText) return false;
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

function commandCopy(text) {
  const area = h("textarea.offscreen", { readOnly: true, "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

/** Select what `node` shows (an input's value or an element's text), so the person can copy it. */
export function selectText(node) {
  if (!node) return false;
  if (node.select) {
    node.focus();
    node.select();
    return true;
  }
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return true;
}

/** "copied", "selected" (the text is selected, the person copies it) or "failed". */
export async function copyText(text, showIn = null) {
  if ((await clipboardWrite(text)) || commandCopy(text)) return "copied";
  return selectText(showIn) ? "selected" : "failed";
}

/** A Copy button. `text` is a string or a function returning one; `showIn` (a node, or a function returning one)
 * is where the page shows it, selected for the person when the browser does not copy. */
export function copyButton(text, { label = "Copy", done = "Copied", showIn = null, spec = "button.btn.btn-sm", iconName = "copy" } = {}) {
  const words = { copied: done, selected: "Select and copy", failed: "Copy failed" };
  const glyph = () => (iconName ? icon(iconName, 14) : null);
  return h(spec, { type: "button", onclick: async (event) => {
    event.preventDefault();
    const button = event.currentTarget;
    const result = await copyText(typeof text === "function" ? text() : text, typeof showIn === "function" ? showIn() : showIn);
    fill(button, glyph(), words[result]);
    button.title = result === "copied" ? "" : "This browser did not copy it: copy it with the keyboard or the menu.";
  } }, glyph(), label);
}
