// Times: relative in the feed ("5m ago"), exact on hover, and durations in words.

const UNITS = [
  ["y", 365 * 86400],
  ["mo", 30 * 86400],
  ["d", 86400],
  ["h", 3600],
  ["m", 60],
];

export function relative(iso, now = Date.now()) {
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  const future = seconds < 0;
  const abs = Math.abs(seconds);
  if (abs < 45) return future ? "in a moment" : "just now";
  for (const [unit, size] of UNITS) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      return future ? `in ${n}${unit}` : `${n}${unit} ago`;
    }
  }
  return future ? "in 1m" : "1m ago";
}

/** The date and time with the zone they are in ("long" is the time style that names it: 3:04:05 PM EDT). */
export function exact(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "long" });
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1).replace(/\.0$/, "")} h`;
  return `${(seconds / 86400).toFixed(1).replace(/\.0$/, "")} days`;
}

/** A <time> element showing relative time, refreshed by `tick()`. */
export function timeEl(iso) {
  const node = document.createElement("time");
  node.dateTime = iso;
  node.title = exact(iso);
  node.textContent = relative(iso);
  return node;
}

setInterval(() => {
  for (const node of document.querySelectorAll("time[datetime]")) node.textContent = relative(node.dateTime);
}, 30_000);
