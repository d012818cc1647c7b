// A small, safe markdown subset rendered straight to DOM nodes: every piece of text becomes a text node, so
// no markup in an event can ever be parsed as HTML. Supported: paragraphs, # headings, - and 1. lists,
// > quotes, ``` code blocks, **bold**, *italic*, `code`, ~~strike~~, [links](https://...), autolinks
// (<https://...>, <mailto:...>, <ada@example.com>) and bare http(s) URLs. hub/markdown.py renders the same for
// email and Slack: tests/markdown_cases.py holds the cases both must agree on.

import { h, safeHref } from "./dom.js";

const MARKS = /\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|`([^`]+)`|~~([^~]+)~~|\[([^\]]+)\]\(([^)\s]+)\)/;
// CommonMark's autolinks, to where a link may go: <ftp://x> and <javascript:x> stay the text they are.
const AUTOLINK = /<((?:https?|mailto):[^<>\x00-\x20]*)>|<([a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)>/;
// A bare URL: http or https starting a word (startsWord), ://, then everything up to a space or an angle bracket,
// less the punctuation after it (withoutTrailing). hub/markdown.py has the same. No lookbehind for the word's
// start: Safari before 16.4 cannot parse one, and this module failing to load would stop the whole app.
const BARE_URL = /https?:\/\/[^\s<>]*/i;
const TRAILING = ".,:;!?*_~'\"\u2019\u201d"; // with the closing curly quotes
const INLINE = new RegExp(`${MARKS.source}|${AUTOLINK.source}|(${BARE_URL.source})`, "i");

/** Whether text[index] starts a word; the start of `text` does (what came before it was another piece). */
function startsWord(text, index) {
  return index === 0 || !/[a-z0-9]/i.test(text[index - 1]);
}

/** A link that opens in a new tab; one that may not (`javascript:`, `data:`) is its label alone: as a link to "#"
 * it looked like any other and opened a second copy of the app. */
function link(url, label) {
  if (safeHref(url) === "#") return h("span", {}, label);
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow" }, label);
}

/** A bare URL without the punctuation that ends the sentence around it rather than the address: .,:;!?, quotes and
 * emphasis marks, and a ")" that closes no "(" of the URL's own (Wikipedia's Foo_(bar) keeps its own). */
function withoutTrailing(candidate) {
  let end = candidate.length;
  let unclosed = candidate.split(")").length - candidate.split("(").length;
  while (end) {
    const last = candidate[end - 1];
    if (last === ")" && unclosed > 0) unclosed--;
    else if (!TRAILING.includes(last)) break;
    end--;
  }
  return candidate.slice(0, end);
}

/** The text a bare URL's match `candidate` stands for: a link to the URL, and how much of the text it takes (the
 * punctuation after it is left to the text that follows); the candidate as text when nothing follows `://`. */
function bareLink(candidate) {
  const url = withoutTrailing(candidate);
  return url.length > url.indexOf(":") + 3 ? [link(url, url), url.length] : [candidate, candidate.length];
}

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
    const [whole, bold1, bold2, em1, em2, code, strike, label, url, autolink, email, bare] = match;
    let taken = whole.length;
    if (bold1 || bold2) out.push(h("strong", {}, inline(bold1 || bold2)));
    else if (em1 || em2) out.push(h("em", {}, inline(em1 || em2)));
    else if (code) out.push(h("code", {}, code));
    else if (strike) out.push(h("s", {}, inline(strike)));
    else if (autolink) out.push(link(autolink, autolink));
    else if (email) out.push(link(`mailto:${email}`, email));
    else if (bare) {
      const [shown, length] = startsWord(rest, match.index) ? bareLink(bare) : [bare[0], 1]; // "xhttps://" is text
      out.push(shown);
      taken = length;
    } else out.push(link(url, label));
    rest = rest.slice(match.index + taken);
  }
  return out;
}

/** A description without a parser: its text as typed, with its bare http(s) URLs as links. */
export function linkified(text) {
  const out = [];
  let rest = String(text);
  for (let match = BARE_URL.exec(rest); match; match = BARE_URL.exec(rest)) {
    const [shown, length] = startsWord(rest, match.index) ? bareLink(match[0]) : [match[0][0], 1];
    if (match.index) out.push(rest.slice(0, match.index));
    out.push(shown);
    rest = rest.slice(match.index + length);
  }
  out.push(rest);
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
