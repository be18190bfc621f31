/**
 * Asia/Shanghai wall-clock helpers. Every provider here cuts its day at 00:00 Beijing time
 * (UTC+8, no daylight saving), so a fixed offset is exact and needs no time-zone database.
 */
const OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The wall-clock fields of an instant in Asia/Shanghai. */
export interface ShanghaiParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

/** Splits an instant into Asia/Shanghai wall-clock fields. */
export function shanghaiParts(ms: number): ShanghaiParts {
  const d = new Date(ms + OFFSET_MS);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
  };
}

const p2 = (n: number): string => String(n).padStart(2, "0");

/**
 * Formats an instant in Asia/Shanghai with a small pattern language: yyyy MM dd HH mm ss SSS.
 * Providers each want a different shape ("yyyy-MM-dd HH:mm:ss", "yyyyMMddHHmmss", "MMddHHmmss").
 */
export function formatShanghai(ms: number, pattern: string): string {
  const p = shanghaiParts(ms);
  return pattern
    .replace("yyyy", String(p.year).padStart(4, "0"))
    .replace("yy", p2(p.year % 100))
    .replace("MM", p2(p.month))
    .replace("dd", p2(p.day))
    .replace("HH", p2(p.hour))
    .replace("mm", p2(p.minute))
    .replace("ss", p2(p.second))
    .replace("SSS", String(p.millisecond).padStart(3, "0"));
}

/** RFC 3339 with the +08:00 offset, as WeChat Pay writes `success_time` and `create_time`. */
export function rfc3339Shanghai(ms: number): string {
  return `${formatShanghai(ms, "yyyy-MM-ddTHH:mm:ss")}+08:00`;
}

/** The bill day ("YYYY-MM-DD") an instant belongs to under the 00:00 Asia/Shanghai cut-off. */
export function shanghaiDay(ms: number): string {
  return formatShanghai(ms, "yyyy-MM-dd");
}

/**
 * The half-open instant range [startMs, endMs) of an Asia/Shanghai day given as "YYYY-MM-DD";
 * undefined when the text is not such a date.
 */
export function shanghaiDayBounds(day: string): { startMs: number; endMs: number } | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (match === null) return undefined;
  const startUtc = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (Number.isNaN(startUtc) || shanghaiDay(startUtc - OFFSET_MS) !== day) return undefined;
  return { startMs: startUtc - OFFSET_MS, endMs: startUtc - OFFSET_MS + DAY_MS };
}

/** Parses "yyyy-MM-dd HH:mm:ss" read as Asia/Shanghai wall time; undefined when malformed. */
export function parseShanghaiDateTime(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - OFFSET_MS;
  return formatShanghai(ms, "yyyy-MM-dd HH:mm:ss") === text ? ms : undefined;
}
