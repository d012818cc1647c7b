// Schedules in words: "every 5 minutes", "every weekday at 09:00 Europe/Berlin"; unusual cron stays as written.

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

export function seconds(value) {
  if (value % 86400 === 0) return plural(value / 86400, "day");
  if (value % 3600 === 0) return plural(value / 3600, "hour");
  if (value % 60 === 0) return plural(value / 60, "minute");
  return plural(value, "second");
}

function plural(n, unit) {
  return n === 1 ? `1 ${unit}` : `${n} ${unit}s`;
}

function days(field) {
  if (field === "*") return "day";
  if (field === "1-5") return "weekday";
  if (field === "0,6" || field === "6,0" || field === "6-7" || field === "6,7") return "weekend day";
  const names = [];
  for (const part of field.split(",")) {
    const range = part.match(/^(\d)-(\d)$/);
    if (range) names.push(`${DAYS[+range[1] % 7]} to ${DAYS[+range[2] % 7]}`);
    else if (/^\d$/.test(part)) names.push(DAYS[+part % 7]);
    else return null;
  }
  return names.join(", ");
}

function cronWords(cron, tz) {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) return null;
  const [minute, hour, dom, month, dow] = fields;
  const zone = tz && tz !== "UTC" ? ` ${tz}` : " UTC";
  if (dom !== "*" || month !== "*") return null;
  const step = minute.match(/^\*\/(\d+)$/);
  if (step && hour === "*" && dow === "*") return `every ${plural(+step[1], "minute")}`;
  if (/^\d+$/.test(minute) && hour === "*" && dow === "*") return `every hour at :${minute.padStart(2, "0")}`;
  if (!/^\d+$/.test(minute)) return null;
  const hours = hour.split(",");
  if (!hours.every((x) => /^\d+$/.test(x))) return null;
  const on = days(dow);
  if (!on) return null;
  const times = hours.map((x) => `${x.padStart(2, "0")}:${minute.padStart(2, "0")}`).join(" and ");
  return `every ${on} at ${times}${zone}`;
}

export function scheduleWords(check) {
  if (check.cron) return cronWords(check.cron, check.tz) || `cron “${check.cron}” (${check.tz})`;
  return `every ${seconds(check.period)}`;
}
