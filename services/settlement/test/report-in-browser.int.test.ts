/**
 * The HTML report in a real browser: a ledger of two providers × two business days × three
 * merchants (one with a Chinese name, one refund) is closed into batches in a database of its own,
 * the finance page is rendered from it and written to a file, and Debian's chromium (headless,
 * driven by playwright-core through its `executablePath`, installed by the testkit when missing)
 * opens it over file://. The page must load nothing else and log no error; each chart must have
 * drawn one mark per value, sized in proportion to the value (so an empty or wrong chart fails);
 * the amounts and totals the page shows must equal what the ledger's postings sum to and the
 * batches the day close returned. A full-page screenshot is kept in
 * `.tributary/artifacts/report-in-browser/` (git-ignored) beside the HTML.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ProviderId } from "@tributary/contracts";
import { newEventId } from "@tributary/events";
import { parseDecimal } from "@tributary/money";
import { ensureChromium } from "@tributary/testkit/chromium";
import { freshTestDatabase } from "@tributary/testkit/vitest";
import pg from "pg";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHtmlReport } from "../src/adapters/reports/html-report.js";
import { closeBusinessDay } from "../src/app/close-business-day.js";
import { recordCapture } from "../src/app/record-capture.js";
import { recordRefund } from "../src/app/record-refund.js";
import type { SettlementBatch } from "../src/domain/settlement-batch.js";
import { captureOf, inTransaction, testDeps } from "./ledger-test-env.js";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const artifactDir = join(repoRoot, ".tributary", "artifacts", "report-in-browser");
const DAYS = ["2025-11-03", "2025-11-04"] as const;
const suffix = newEventId().slice(-6);
const teaShop = `杭州茶叶店-${suffix}`;
const merchantB = `m-browser-b-${suffix}`;
const merchantC = `m-browser-c-${suffix}`;
/** What each provider captured for whom on each day (fen), at 09:00 + i hours Asia/Shanghai. */
const captures: readonly { provider: ProviderId; day: (typeof DAYS)[number]; merchant: string; amountMinor: bigint }[] = [
  { provider: "alipay", day: DAYS[0], merchant: teaShop, amountMinor: 120000n },
  { provider: "alipay", day: DAYS[0], merchant: merchantB, amountMinor: 45678n },
  { provider: "alipay", day: DAYS[0], merchant: teaShop, amountMinor: 3333n },
  { provider: "wechat_pay", day: DAYS[0], merchant: merchantB, amountMinor: 88800n },
  { provider: "wechat_pay", day: DAYS[0], merchant: merchantC, amountMinor: 10001n },
  { provider: "alipay", day: DAYS[1], merchant: merchantC, amountMinor: 250000n },
  { provider: "alipay", day: DAYS[1], merchant: teaShop, amountMinor: 7777n },
  { provider: "wechat_pay", day: DAYS[1], merchant: teaShop, amountMinor: 64200n },
  { provider: "wechat_pay", day: DAYS[1], merchant: merchantB, amountMinor: 999n },
];

let database: { readonly url: string; drop(): Promise<void> };
let pool: pg.Pool;
let browser: Browser;
let page: Page;
let htmlPath: string;
let batches: SettlementBatch[] = [];
const consoleErrors: string[] = [];
const requested: string[] = [];

/** Exact minor units of an amount the page shows. */
function minor(text: string | null | undefined): bigint {
  const parsed = parseDecimal((text ?? "").trim(), "CNY");
  if (!parsed.ok) throw new Error(`not an amount: ${JSON.stringify(text)}`);
  return parsed.value.amountMinor;
}

/** `part / whole` as a plain number, for comparing with pixel ratios (a ratio, not an amount). */
function ratio(part: bigint, whole: bigint): number {
  return Number((part * 1_000_000n) / whole) / 1_000_000;
}

beforeAll(async () => {
  database = await freshTestDatabase("tributary_settlement");
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  const deps = testDeps();
  let refunded = false;
  for (const [i, c] of captures.entries()) {
    const capture = captureOf(c.merchant, c.amountMinor, { provider: c.provider, at: new Date(`${c.day}T${String(9 + i).padStart(2, "0")}:00:00.000+08:00`) });
    await inTransaction(pool, (tx) => recordCapture(deps, tx, capture));
    if (!refunded) {
      refunded = true;
      const refund = await inTransaction(pool, (tx) =>
        recordRefund(deps, tx, { orderId: capture.orderId, paymentId: capture.paymentId, refundRef: "r1", amountMinor: 20000n, currency: "CNY", eventId: undefined, providerRefundId: `RF-${suffix}`, at: new Date(`${c.day}T20:00:00.000+08:00`) }),
      );
      if (!refund.ok) throw new Error(refund.error.message);
    }
  }
  for (const day of DAYS) {
    for (const provider of ["alipay", "wechat_pay"] as const) {
      const closed = await inTransaction(pool, (tx) => closeBusinessDay(deps, tx, { provider, businessDate: day }));
      if (!closed.ok) throw new Error(closed.error.message);
      batches.push(...closed.value.batches);
    }
  }
  batches = batches.filter((b) => b.currency === "CNY");

  mkdirSync(artifactDir, { recursive: true });
  htmlPath = join(artifactDir, `settlement-overview-${DAYS[0]}-${DAYS[1]}.html`);
  writeFileSync(htmlPath, await renderHtmlReport(pool, { fromDate: DAYS[0], toDate: DAYS[1] }));

  browser = await chromium.launch({ executablePath: await ensureChromium(), headless: true });
  page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(error.message));
  page.on("request", (request) => requested.push(request.url()));
  await page.goto(pathToFileURL(htmlPath).href, { waitUntil: "load" });
}, 420_000);

afterAll(async () => {
  await browser?.close();
  await pool?.end();
  await database?.drop();
});

/** What the ledger's postings say per provider and business day: gross, provider fees and platform fees, net of refunds. */
async function ledgerProviderDays(): Promise<{ provider: string; businessDate: string; grossMinor: bigint; feesMinor: bigint }[]> {
  const { rows } = await pool.query<{ provider: string; business_date: string; gross: string; provider_fees: string; platform_fees: string }>(
    `SELECT je.provider, to_char(je.business_date, 'YYYY-MM-DD') AS business_date,
            -coalesce(sum(lp.amount_minor) FILTER (WHERE lp.line_type = 'payment'), 0) AS gross,
            coalesce(sum(lp.amount_minor) FILTER (WHERE lp.line_type IN ('provider_fee', 'provider_fee_returned')), 0) AS provider_fees,
            -coalesce(sum(lp.amount_minor) FILTER (WHERE lp.account_id = 'platform_fee_revenue:CNY'), 0) AS platform_fees
       FROM journal_entry je JOIN ledger_posting lp USING (entry_id)
      WHERE je.phase = 'posted' AND NOT lp.pending AND je.currency = 'CNY'
      GROUP BY je.provider, je.business_date ORDER BY je.business_date, je.provider`,
  );
  return rows.map((r) => ({ provider: r.provider, businessDate: r.business_date, grossMinor: BigInt(r.gross), feesMinor: BigInt(r.provider_fees) + BigInt(r.platform_fees) }));
}

/** What each merchant's payable account moved (credit-negative, so the merchant's side is minus the sum). */
async function ledgerMerchantNets(): Promise<Map<string, bigint>> {
  const { rows } = await pool.query<{ merchant_id: string; net: string }>(
    `SELECT a.merchant_id, -sum(lp.amount_minor) AS net FROM ledger_posting lp JOIN ledger_account a USING (account_id)
      WHERE a.kind = 'merchant_payable' AND a.currency = 'CNY' AND NOT lp.pending GROUP BY a.merchant_id`,
  );
  return new Map(rows.map((r) => [r.merchant_id, BigInt(r.net)]));
}

/** One drawn data mark of a chart (ECharts tags them `ecmeta_ssr_type="chart"`), as the browser laid it out. */
interface Mark {
  readonly series: number;
  readonly index: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly stroke: string | null;
}

/** A value axis's label ("3,500") and the centre of its box: what maps amounts to pixels. */
interface Tick {
  readonly text: string;
  readonly cx: number;
  readonly cy: number;
}

/** A chart as the browser drew it: its SVG's box, its text, its data marks, the stroked lines that are not marks, and the value axis's labels. */
async function drawnChart(sectionId: string): Promise<{ width: number; height: number; text: string; marks: Mark[]; lines: { stroke: string; x: number; width: number }[]; ticks: Tick[] }> {
  // $eval fails when the section has no <svg>.
  return page.$eval(`#${sectionId} > svg`, (svg) => {
    const box = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll('[ecmeta_ssr_type="chart"]')].map((element) => {
      const rect = element.getBoundingClientRect();
      return {
        series: Number(element.getAttribute("ecmeta_series_index")),
        index: Number(element.getAttribute("ecmeta_data_index")),
        x: rect.x - box.x,
        y: rect.y - box.y,
        width: rect.width,
        height: rect.height,
        stroke: element.getAttribute("stroke"),
      };
    });
    const lines = [...svg.querySelectorAll('path[fill="none"]:not([ecmeta_ssr_type])')]
      .filter((element) => element.getAttribute("stroke") !== null)
      .map((element) => {
        const rect = element.getBoundingClientRect();
        return { stroke: element.getAttribute("stroke")!, x: rect.x - box.x, width: rect.width };
      });
    const ticks = [...svg.querySelectorAll("text")]
      .filter((element) => /^\d[\d,]*(\.\d+)?$/.test(element.textContent ?? ""))
      .map((element) => {
        const rect = element.getBoundingClientRect();
        return { text: element.textContent!, cx: rect.x - box.x + rect.width / 2, cy: rect.y - box.y + rect.height / 2 };
      });
    return { width: box.width, height: box.height, text: svg.textContent ?? "", marks, lines, ticks };
  });
}

/**
 * Checks that each mark is drawn to the scale of the value axis: the axis's lowest and highest
 * labels (CNY, read as the money package reads amounts) fix where an amount goes, and each mark's
 * position (a line's point) or length (a bar) must be within 1.5 px of its ledger amount's. A mark
 * of a wrong amount, a shifted series or a series plotted in fen instead of yuan all fail.
 */
function expectToScale(ticks: readonly Tick[], axis: "x" | "y", kind: "position" | "length", marks: readonly { readonly label: string; readonly amountMinor: bigint; readonly px: number }[]): void {
  const scale = ticks.map((t) => ({ minor: minor(t.text.replaceAll(",", "")), px: axis === "x" ? t.cx : t.cy })).sort((a, b) => (a.minor < b.minor ? -1 : 1));
  expect(scale.length, "the value axis has at least two labels").toBeGreaterThanOrEqual(2);
  const lo = scale[0]!;
  const hi = scale.at(-1)!;
  expect(hi.minor > lo.minor).toBe(true);
  for (const mark of marks) {
    const expected = kind === "position" ? lo.px + ratio(mark.amountMinor - lo.minor, hi.minor - lo.minor) * (hi.px - lo.px) : ratio(mark.amountMinor, hi.minor - lo.minor) * Math.abs(hi.px - lo.px);
    expect(Math.abs(mark.px - expected), `${mark.label}: ${mark.amountMinor} fen drawn at ${mark.px.toFixed(1)} px, expected ${expected.toFixed(1)}`).toBeLessThan(1.5);
  }
}

describe("HTML report in headless chromium", () => {
  it("loads offline: nothing fetched but the file itself, no console error", () => {
    expect(requested).toEqual([pathToFileURL(htmlPath).href]);
    expect(consoleErrors).toEqual([]);
  });

  it("shows per provider and day the gross and fees the ledger's postings sum to, and their totals", async () => {
    const ledger = await ledgerProviderDays();
    expect(ledger).toHaveLength(4);
    // The ledger and the batches agree (gross; fees = provider fees + platform fees, both net of refunds).
    for (const row of ledger) {
      const ofDay = batches.filter((b) => b.provider === row.provider && b.businessDate === row.businessDate);
      expect(ofDay.reduce((s, b) => s + b.grossMinor, 0n)).toBe(row.grossMinor);
      expect(ofDay.reduce((s, b) => s + b.providerFeesMinor + b.platformFeesMinor, 0n)).toBe(row.feesMinor);
    }
    const shown = await page.$$eval("#provider-days tbody tr", (rows) => rows.map((row) => [...row.querySelectorAll("td")].map((td) => td.textContent ?? "")));
    expect(shown.map(([date, provider, gross, fees]) => ({ provider, businessDate: date, grossMinor: minor(gross), feesMinor: minor(fees) }))).toEqual(ledger);
    expect(minor(await page.textContent('#provider-days [data-total="gross"]'))).toBe(ledger.reduce((s, r) => s + r.grossMinor, 0n));
    expect(minor(await page.textContent('#provider-days [data-total="fees"]'))).toBe(ledger.reduce((s, r) => s + r.feesMinor, 0n));
  });

  it("shows each merchant's net as its payable account moved, largest first, Chinese name intact, and the total", async () => {
    const ledger = await ledgerMerchantNets();
    expect([...ledger.keys()].sort()).toEqual([teaShop, merchantB, merchantC].sort());
    for (const [merchant, net] of ledger) {
      expect(batches.filter((b) => b.merchantId === merchant).reduce((s, b) => s + b.netMinor, 0n)).toBe(net);
    }
    const shown = await page.$$eval("#merchant-net tbody tr", (rows) => rows.map((row) => [...row.querySelectorAll("td")].map((td) => td.textContent ?? "")));
    const expected = [...ledger.entries()].sort(([a, x], [b, y]) => (x === y ? (a < b ? -1 : 1) : x > y ? -1 : 1));
    expect(shown.map(([merchant, net]) => [merchant, minor(net)])).toEqual(expected);
    expect(minor(await page.textContent('#merchant-net [data-total="net"]'))).toBe([...ledger.values()].reduce((s, n) => s + n, 0n));
    expect(await page.textContent("#merchant-net tfoot th")).toBe("total (3 merchants)");
  });

  it("draws the volume chart: a bar per provider and day, each as tall as its gross", async () => {
    const ledger = await ledgerProviderDays();
    const providers = [...new Set(ledger.map((r) => r.provider))];
    const chart = await drawnChart("chart-volume");
    expect(chart.width).toBe(900);
    expect(chart.height).toBe(360);
    for (const label of [...DAYS, ...providers]) expect(chart.text).toContain(label);
    const bars = chart.marks.filter((m) => m.width > 0 && m.height > 0);
    expect(bars).toHaveLength(ledger.length);
    expectToScale(
      chart.ticks,
      "y",
      "length",
      bars.map((bar) => ({
        label: `${providers[bar.series]} ${DAYS[bar.index]}`,
        amountMinor: ledger.find((r) => r.provider === providers[bar.series] && r.businessDate === DAYS[bar.index])!.grossMinor,
        px: bar.height,
      })),
    );
  });

  it("draws the fees chart: a line per provider through a point per day, each as high as its fees", async () => {
    const ledger = await ledgerProviderDays();
    const providers = [...new Set(ledger.map((r) => r.provider))];
    const chart = await drawnChart("chart-fees");
    expect(chart.height).toBe(360);
    const points = chart.marks;
    expect(points).toHaveLength(ledger.length);
    expectToScale(
      chart.ticks,
      "y",
      "position",
      points.map((p) => ({
        label: `${providers[p.series]} ${DAYS[p.index]}`,
        amountMinor: ledger.find((r) => r.provider === providers[p.series] && r.businessDate === DAYS[p.index])!.feesMinor,
        px: p.y + p.height / 2,
      })),
    );
    for (const series of providers.keys()) {
      const ofSeries = points.filter((p) => p.series === series);
      const span = Math.max(...ofSeries.map((p) => p.x + p.width / 2)) - Math.min(...ofSeries.map((p) => p.x + p.width / 2));
      const line = chart.lines.find((l) => l.stroke === ofSeries[0]!.stroke && l.width > span - 2);
      expect(line, `no line drawn for ${providers[series]}`).toBeDefined();
    }
  });

  it("draws the net chart: a bar per merchant, each as long as its net", async () => {
    const ledger = await ledgerMerchantNets();
    const chart = await drawnChart("chart-net");
    for (const merchant of ledger.keys()) expect(chart.text).toContain(merchant);
    const bars = chart.marks.filter((m) => m.width > 0 && m.height > 0);
    expect(bars).toHaveLength(ledger.size);
    // The category axis lists the merchants bottom-up, largest net on top.
    const bottomUp = [...ledger.entries()].sort(([a, x], [b, y]) => (x === y ? (a < b ? -1 : 1) : x > y ? -1 : 1)).reverse();
    expectToScale(chart.ticks, "x", "length", bars.map((bar) => ({ label: bottomUp[bar.index]![0], amountMinor: bottomUp[bar.index]![1], px: bar.width })));
  });

  it("saves a full-page screenshot as a test artefact", async () => {
    const pngPath = join(artifactDir, `settlement-overview-${DAYS[0]}-${DAYS[1]}.png`);
    rmSync(pngPath, { force: true });
    await page.screenshot({ path: pngPath, fullPage: true });
    const png = readFileSync(pngPath);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // IHDR: the page's width, and taller than the viewport (three charts and two tables).
    expect(png.readUInt32BE(16)).toBe(1000);
    expect(png.readUInt32BE(20)).toBeGreaterThan(800);
    expect(png.length).toBeGreaterThan(20_000);
  });
});
