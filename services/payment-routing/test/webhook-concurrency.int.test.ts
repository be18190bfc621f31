import { PROVIDER_IDS, sandboxProviderName, type ProviderId } from "@tributary/contracts";
import { startSandbox, type RunningSandbox } from "@tributary/provider-sandbox";
import { testDatabaseUrl } from "@tributary/testkit/vitest";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhookServer, type RunningWebhookServer } from "../src/adapters/http/webhook-server.js";
import type { ProviderAdapter } from "../src/adapters/providers/provider-adapter.js";
import {
  adaptersFor,
  applicationsOf,
  capturingLogger,
  createPendingPayment,
  eventually,
  newId,
  notificationProxy,
  paymentStatus,
  postRaw,
  storedIds,
  testEffects,
} from "./webhook-support.js";

/*
 * Two instances of the webhook server — each with its own connection pool, as two processes
 * would have — on one database, receiving the same notification at the same moment: the id
 * store's primary key lets exactly one apply it; the other waits on the first's uncommitted row,
 * finds it once the first commits, and acknowledges without applying. The lifecycle here sleeps
 * inside the transaction so the two deliveries certainly overlap.
 */

describe("two webhook instances on one database, the same notification at once", () => {
  let sandbox: RunningSandbox;
  let adapters: Map<ProviderId, ProviderAdapter>;
  const pools: pg.Pool[] = [];
  const servers: RunningWebhookServer[] = [];
  let proxy: Awaited<ReturnType<typeof notificationProxy>>;
  const { logger } = capturingLogger();

  beforeAll(async () => {
    const schedule = Object.fromEntries(PROVIDER_IDS.map((id) => [sandboxProviderName(id), [0, 500, 500, 500]]));
    sandbox = await startSandbox({ port: 0, seed: 3_100, buyer: { mode: "manual" }, timing: { notifyScheduleMs: schedule } });
    adapters = adaptersFor(sandbox);
    for (let i = 0; i < 2; i += 1) {
      const pool = new pg.Pool({ connectionString: testDatabaseUrl("tributary_payment_routing"), max: 4 });
      pools.push(pool);
      const effects = await testEffects(pool, { holdSeconds: 0.2 });
      servers.push(await startWebhookServer({ adapters: [...adapters.values()], pool, effects, logger, pruneIntervalMs: 0 }));
    }
    // The provider's own deliveries are refused (and kept): the test fires their bytes itself.
    proxy = await notificationProxy(() => servers[0]!.url, () => "refuse");
  });

  afterAll(async () => {
    await proxy.stop();
    await sandbox.stop();
    for (const server of servers) await server.stop();
    for (const pool of pools) await pool.end();
  });

  it.each(PROVIDER_IDS)("%s: applied exactly once, both answered 'accepted', one counted applied and one duplicate", async (provider) => {
    const adapter = adapters.get(provider)!;
    const key = newId("K");
    const paymentId = await createPendingPayment(pools[0]!, adapter, proxy.notifyUrl(key, provider));
    expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
    const held = await eventually("the notification's bytes", () => proxy.seen.find((n) => n.key === key));
    const [a, b] = servers as [RunningWebhookServer, RunningWebhookServer];

    const answers = await Promise.all([postRaw(a.notifyUrl(provider), held.raw), postRaw(b.notifyUrl(provider), held.raw)]);

    const accepted = adapter.acknowledgement(true);
    for (const answer of answers) expect(answer).toMatchObject({ status: accepted.status, body: accepted.body });
    expect(await applicationsOf(pools[0]!, paymentId)).toMatchObject([{ provider, kind: "payment", status: "captured", outcome: "applied" }]);
    expect(await paymentStatus(pools[0]!, paymentId)).toBe("captured");
    expect(await storedIds(pools[0]!, paymentId)).toBe(1);
    expect(a.metrics.count(provider, "applied") + b.metrics.count(provider, "applied")).toBe(1);
    expect(a.metrics.count(provider, "duplicate") + b.metrics.count(provider, "duplicate")).toBe(1);
  });
});
