const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The epoch-ms bounds [start, end) of one Asia/Shanghai day "YYYY-MM-DD", the providers' cut-off
 * (China has no daylight saving time, so a day is always 24 h at +08:00); undefined for a bad day.
 */
export function shanghaiDayBounds(day: string): { startMs: number; endMs: number } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (m === null) return undefined;
  const startMs = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - SHANGHAI_OFFSET_MS;
  if (shanghaiDay(startMs) !== day) return undefined;
  return { startMs, endMs: startMs + DAY_MS };
}

function boundsOf(day: string): { startMs: number; endMs: number } {
  const bounds = shanghaiDayBounds(day);
  if (bounds === undefined) throw new RangeError(`not a day: ${JSON.stringify(day)}`);
  return bounds;
}

/** The Asia/Shanghai day "YYYY-MM-DD" of an instant. */
export function shanghaiDay(ms: number): string {
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/** Asia/Shanghai wall-clock text "yyyy-MM-dd HH:mm:ss" of an instant. */
export function shanghaiWallClock(ms: number): string {
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19).replace("T", " ");
}

/** The day `days` after "YYYY-MM-DD" (negative for before). */
export function addDays(day: string, days: number): string {
  return shanghaiDay(boundsOf(day).startMs + days * DAY_MS);
}

/** The end of a day (its next day's 00:00 +08:00), epoch ms. */
export function dayEndMs(day: string): number {
  return boundsOf(day).endMs;
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((boundsOf(to).startMs - boundsOf(from).startMs) / DAY_MS);
}
