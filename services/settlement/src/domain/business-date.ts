/**
 * Business dates in Asia/Shanghai, the cut-off zone of the Chinese wallets. China has kept UTC+8
 * without daylight saving since 1991, so the zone is a fixed offset and needs no tz database.
 */
const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The business date ("YYYY-MM-DD") an instant falls on with a 00:00 Asia/Shanghai cut-off. */
export function shanghaiBusinessDate(at: Date): string {
  return new Date(at.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/** Whether text is a real calendar date "YYYY-MM-DD" (2026-02-30 is not). */
export function isBusinessDate(text: string): boolean {
  const match = DATE_PATTERN.exec(text);
  if (match === null) return false;
  return new Date(`${text}T00:00:00.000Z`).toISOString().slice(0, 10) === text;
}

/** The instant a business date starts (00:00 Asia/Shanghai) and the cut-off that ends it. */
export function shanghaiDayBounds(businessDate: string): { readonly start: Date; readonly cutoff: Date } {
  if (!isBusinessDate(businessDate)) throw new RangeError(`not a business date: ${JSON.stringify(businessDate)}`);
  const startMs = Date.parse(`${businessDate}T00:00:00.000Z`) - SHANGHAI_OFFSET_MS;
  return { start: new Date(startMs), cutoff: new Date(startMs + DAY_MS) };
}

/** `businessDate` plus `days` calendar days (T+1 settlement, reserve release dates). */
export function addDays(businessDate: string, days: number): string {
  if (!isBusinessDate(businessDate)) throw new RangeError(`not a business date: ${JSON.stringify(businessDate)}`);
  return new Date(Date.parse(`${businessDate}T00:00:00.000Z`) + days * DAY_MS).toISOString().slice(0, 10);
}
