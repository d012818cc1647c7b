// A small, safe markdown subset rendered straight to DOM nodes: every piece of text becomes a text node, so
// no markup in an event can ever be parsed as HTML. Supported: paragraphs, # headings, - and 1. lists,
// > quotes, ``` code blocks, **bold**, *italic*, `code`, ~~strike~~ and [links](https://...).

import { h } from "./dom.js";

const INLINE = /(\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|`([^`]+)`|~~([^~]+)~~|\[([^\]]+)\]\(([^)\s]+)\))/;

export function inline(text) {
  const out = [];
  let rest = text;
  while (rest) {
    const match = INLINE.exec(rest);
    if (!match) {
      out.push(rest);
      break;
    }
    if (match.index) out.push(rest.slice(0, match.index));
    const [, , bold1, bold2, em1, em2, code, strike, label, url] = match;
    if (bold1 || bold2) out.push(h("strong", {}, inline(bold1 || bold2)));
    else if (em1 || em2) out.push(h("em", {}, inline(em1 || em2)));
    else if (code) out.push(h("code", {}, code));
    else if (strike) out.push(h("s", {}, inline(strike)));
    else out.push(h("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow" }, label));
    rest = rest.slice(match.index + match[0].length);
  }
  return out;
}

export function markdown(source) {
  const root = h("div.md");
  const lines = String(source).replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
    } else if (line.startsWith("```")) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      i++;
      root.append(h("pre", {}, h("code", {}, code.join("\n"))));
    } else if (/^#{1,6}\s/.test(line)) {
      const level = Math.min(line.match(/^#+/)[0].length + 2, 6);
      root.append(h(`h${level}`, {}, inline(line.replace(/^#+\s*/, ""))));
      i++;
    } else if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = h(ordered ? "ol" : "ul");
      for (; i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i]); i++) {
        list.append(h("li", {}, inline(lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, ""))));
      }
      root.append(list);
    } else if (line.startsWith(">")) {
      const quote = [];
      for (; i < lines.length && lines[i].startsWith(">"); i++) quote.push(lines[i].replace(/^>\s?/, ""));
      root.append(h("blockquote", {}, inline(quote.join(" "))));
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() && !/^(```|#{1,6}\s|>|\s*([-*+]|\d+[.)])\s)/.test(lines[i]); i++) {
        para.push(lines[i]);
      }
      const p = h("p");
      para.forEach((text, n) => {
        if (n) p.append(h("br"));
        p.append(...inline(text).map((x) => (x instanceof Node ? x : document.createTextNode(x))));
      });
      root.append(p);
    }
  }
  return root;
}
