// Event icons: emoji pass through; `:shortcodes:` map to a few common emoji; otherwise the channel's initial.

const SHORTCODES = {
  rocket: "🚀", tada: "🎉", moneybag: "💰", money_with_wings: "💸", credit_card: "💳", fire: "🔥",
  warning: "⚠️", rotating_light: "🚨", white_check_mark: "✅", x: "❌", bug: "🐛", bell: "🔔",
  package: "📦", wave: "👋", bust_in_silhouette: "👤", lock: "🔒", key: "🔑", chart_with_upwards_trend: "📈",
  heartbeat: "💓", clock: "🕐", zap: "⚡", gear: "⚙️", email: "📧", star: "⭐", sparkles: "✨",
};

export function eventIcon(event) {
  const icon = event.icon;
  if (icon && icon.startsWith(":") && icon.endsWith(":")) return SHORTCODES[icon.slice(1, -1)] || "•";
  if (icon) return icon;
  return { critical: "🚨", warning: "⚠️" }[event.severity] || (event.channel || "?").slice(0, 1).toUpperCase();
}
