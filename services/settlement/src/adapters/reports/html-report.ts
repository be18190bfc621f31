import type * as EChartsModule from "echarts";
import type { EChartsOption } from "echarts";
import { formatDecimal, money } from "@tributary/money";
import type { ProviderId } from "@tributary/contracts";
import type { Queryable } from "../db/pg-ledger.js";

/** One provider's day, summed over its batches (CNY). */
interface ProviderDay {
  readonly provider: ProviderId;
  readonly businessDate: string;
  readonly grossMinor: bigint;
  readonly feesMinor: bigint;
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** Major units as a chart coordinate: charts plot doubles; the tables beside them carry the exact text. */
function plotted(amountMinor: bigint): number {
  return Number(formatDecimal(money(amountMinor, "CNY")));
}

/** The ECharts module, imported by {@link renderHtmlReport} when it draws its charts. */
type ECharts = typeof EChartsModule;

/** A chart rendered to an SVG string on the server (ECharts SSR), so the page needs no script. */
function svgChart(echarts: ECharts, option: EChartsOption, width = 900, height = 360): string {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  try {
    chart.setOption({ animation: false, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/**
 * The finance overview as one self-contained HTML page for a range of business dates (CNY): volume
 * and fees by provider and day, and net per merchant, as server-rendered SVG from Apache ECharts —
 * no script, no external file, so it works offline — with the exact amounts in tables beside the
 * charts, each table ending with its total (the net one over every merchant of the range). Reads
 * the batches (a few rows per merchant, provider and day), not the entries. The charts' sections,
 * the tables and their total cells have ids and `data-total` attributes, so a browser test finds them.
 */
export async function renderHtmlReport(db: Queryable, range: { readonly fromDate: string; readonly toDate: string }): Promise<string> {
  const { rows: days } = await db.query<{ provider: ProviderId; business_date: string; gross: string; fees: string }>(
    `SELECT provider, to_char(business_date, 'YYYY-MM-DD') AS business_date, sum(gross_minor) AS gross, sum(provider_fees_minor + platform_fees_minor) AS fees
       FROM settlement_batch WHERE business_date BETWEEN $1::date AND $2::date AND currency = 'CNY'
      GROUP BY provider, business_date ORDER BY business_date, provider`,
    [range.fromDate, range.toDate],
  );
  const { rows: merchants } = await db.query<{ merchant_id: string; net: string }>(
    `SELECT merchant_id, sum(net_minor) AS net FROM settlement_batch
      WHERE business_date BETWEEN $1::date AND $2::date AND currency = 'CNY'
      GROUP BY merchant_id ORDER BY sum(net_minor) DESC, merchant_id LIMIT 30`,
    [range.fromDate, range.toDate],
  );
  // Over every merchant of the range, not only the 30 the chart and table show.
  const { rows: totals } = await db.query<{ net: string | null; merchants: string }>(
    `SELECT sum(net_minor) AS net, count(DISTINCT merchant_id) AS merchants FROM settlement_batch
      WHERE business_date BETWEEN $1::date AND $2::date AND currency = 'CNY'`,
    [range.fromDate, range.toDate],
  );
  const netTotalMinor = BigInt(totals[0]?.net ?? "0");
  const merchantCount = totals[0]?.merchants ?? "0";
  const providerDays: ProviderDay[] = days.map((d) => ({ provider: d.provider, businessDate: d.business_date, grossMinor: BigInt(d.gross), feesMinor: BigInt(d.fees) }));
  const dates = [...new Set(providerDays.map((d) => d.businessDate))];
  const providers = [...new Set(providerDays.map((d) => d.provider))];
  const valueOf = (provider: ProviderId, date: string, pick: (d: ProviderDay) => bigint): number => {
    const found = providerDays.find((d) => d.provider === provider && d.businessDate === date);
    return found === undefined ? 0 : plotted(pick(found));
  };
  // ECharts is loaded on the first HTML report, not with the package: once imported it holds
  // ~60 MB of resident code and heap, which the detail exports and the service, which never draw a
  // chart, would otherwise carry.
  const echarts = await import("echarts");
  const volume = svgChart(echarts, {
    title: { text: "Volume by provider and day (CNY)" },
    legend: { top: 44 },
    grid: { top: 84 },
    xAxis: { type: "category", data: dates },
    yAxis: { type: "value" },
    series: providers.map((p) => ({ name: p, type: "bar", stack: "gross", data: dates.map((date) => valueOf(p, date, (d) => d.grossMinor)) })),
  });
  const fees = svgChart(echarts, {
    title: { text: "Fees by provider and day (CNY)" },
    legend: { top: 44 },
    grid: { top: 84 },
    xAxis: { type: "category", data: dates },
    yAxis: { type: "value" },
    series: providers.map((p) => ({ name: p, type: "line", data: dates.map((date) => valueOf(p, date, (d) => d.feesMinor)) })),
  });
  const net = svgChart(
    echarts,
    {
      title: { text: "Net per merchant (CNY)" },
      grid: { left: 220 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: merchants.map((m) => m.merchant_id).reverse() },
      series: [{ type: "bar", data: merchants.map((m) => plotted(BigInt(m.net))).reverse() }],
    },
    900,
    Math.max(240, 40 + merchants.length * 24),
  );
  const cny = (minor: bigint): string => formatDecimal(money(minor, "CNY"));
  const dayRows = providerDays
    .map((d) => `<tr><td>${d.businessDate}</td><td>${escapeHtml(d.provider)}</td><td class="n">${cny(d.grossMinor)}</td><td class="n">${cny(d.feesMinor)}</td></tr>`)
    .join("\n");
  const merchantRows = merchants.map((m) => `<tr><td>${escapeHtml(m.merchant_id)}</td><td class="n">${cny(BigInt(m.net))}</td></tr>`).join("\n");
  const grossTotalMinor = providerDays.reduce((sum, d) => sum + d.grossMinor, 0n);
  const feesTotalMinor = providerDays.reduce((sum, d) => sum + d.feesMinor, 0n);
  const merchantsShown = merchants.length === Number(merchantCount) ? `${merchantCount} merchants` : `${merchantCount} merchants, top ${merchants.length} shown`;
  return `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Settlement ${range.fromDate} – ${range.toDate}</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:24px}table{border-collapse:collapse;margin:12px 0 32px}td,th{border:1px solid #ccc;padding:4px 8px}tfoot{font-weight:bold}td.n{text-align:right;font-variant-numeric:tabular-nums}</style>
</head><body>
<h1>Settlement ${range.fromDate} – ${range.toDate}</h1>
<section class="chart" id="chart-volume">${volume}</section>
<section class="chart" id="chart-fees">${fees}</section>
<table id="provider-days"><thead><tr><th>business date</th><th>provider</th><th>gross</th><th>fees</th></tr></thead><tbody>
${dayRows}
</tbody><tfoot><tr><th colspan="2">total</th><td class="n" data-total="gross">${cny(grossTotalMinor)}</td><td class="n" data-total="fees">${cny(feesTotalMinor)}</td></tr></tfoot></table>
<section class="chart" id="chart-net">${net}</section>
<table id="merchant-net"><thead><tr><th>merchant</th><th>net</th></tr></thead><tbody>
${merchantRows}
</tbody><tfoot><tr><th>total (${merchantsShown})</th><td class="n" data-total="net">${cny(netTotalMinor)}</td></tr></tfoot></table>
</body></html>
`;
}
