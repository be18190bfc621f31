import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { FeeSchedule } from "@tributary/money";
import { FEE_SCHEDULES } from "./config/fee-schedules.js";
import type { BillDiscrepancy } from "./core/bill-discrepancies.js";
import { DEFAULT_BUYER, type BuyerBehaviour } from "./core/buyer-simulator.js";
import { systemClock, type Clock } from "./core/clock.js";
import { FaultInjector, type ProviderFaults } from "./core/faults.js";
import { createRouterServer, type Route, type SandboxResponse } from "./core/http-router.js";
import { loadOrCreateKeys, type SandboxKeys } from "./core/keys.js";
import { NotificationDispatcher, type DeliveryRecord } from "./core/notification-dispatcher.js";
import { createPrng, type Prng } from "./core/prng.js";
import { PaymentEngine, type SandboxContext, type SandboxTiming } from "./core/sandbox-context.js";
import { Scheduler } from "./core/scheduler.js";
import { SANDBOX_PROVIDER_NAMES, TransactionStore, type PaymentRecord, type SandboxProviderName } from "./core/store.js";
import { alipayRoutes } from "./providers/alipay/alipay-gateway.js";
import { hmacJsonRoutes } from "./providers/hmac-json/hmac-json-api.js";
import { unionpayRoutes } from "./providers/unionpay/unionpay-gateway.js";
import { wechatRoutes } from "./providers/wechat/wechat-api.js";
import type { WechatBillColumns } from "./providers/wechat/wechat-bill.js";
import type { UnionpayAdjustment } from "./providers/unionpay/unionpay-zm-file.js";

/** How to start a sandbox; every field has a default. */
export interface SandboxOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Seed for every random choice (buyers, faults, ids); the same seed replays the same run. */
  readonly seed?: number | string;
  /** Where keys live; defaults to the package's git-ignored `.keys/`. */
  readonly keysDir?: string;
  readonly clock?: Clock;
  readonly buyer?: Partial<BuyerBehaviour>;
  readonly faults?: Partial<Record<SandboxProviderName, ProviderFaults>>;
  readonly timing?: Partial<SandboxTiming>;
  readonly feeSchedules?: Partial<Record<SandboxProviderName, FeeSchedule>>;
  readonly discrepancies?: Partial<Record<SandboxProviderName, readonly BillDiscrepancy[]>>;
  readonly wechat?: { readonly billColumns?: WechatBillColumns };
  /** UnionPay adjustments (差错) to report in the ZME file of their day. */
  readonly unionpay?: { readonly adjustments?: readonly UnionpayAdjustment[] };
  /** Where background errors go; defaults to stderr. */
  readonly onError?: (error: unknown) => void;
}

/** What a merchant-side adapter needs to talk to each simulated provider. */
export interface ProviderCredentials {
  readonly alipay: {
    readonly gatewayUrl: string;
    /** Where the buyer's Alipay app submits an app payment's order string ({@link submitAlipayAppOrder}); not a merchant API. */
    readonly appPayUrl: string;
    readonly appId: string;
    readonly pid: string;
    readonly appPrivateKeyPem: string;
    readonly appPublicKeyPem: string;
    readonly alipayPublicKeyPem: string;
  };
  readonly wechat: {
    readonly baseUrl: string;
    readonly mchid: string;
    readonly appid: string;
    readonly merchantPrivateKeyPem: string;
    readonly merchantSerial: string;
    readonly platformPublicKeyPem: string;
    readonly platformSerial: string;
    readonly apiV3Key: string;
  };
  readonly unionpay: {
    readonly backTransUrl: string;
    readonly queryUrl: string;
    readonly fileTransferUrl: string;
    readonly merId: string;
    readonly merchantPrivateKeyPem: string;
    readonly merchantCertId: string;
    readonly platformPublicKeyPem: string;
    readonly platformCertId: string;
  };
  readonly jdpay: { readonly baseUrl: string; readonly merchantId: string; readonly secret: string };
  readonly ecny: { readonly baseUrl: string; readonly merchantId: string; readonly secret: string };
}

/** A running sandbox. */
export interface RunningSandbox {
  readonly url: string;
  readonly port: number;
  readonly providers: ProviderCredentials;
  /** Every notification attempt so far. */
  deliveries(): readonly DeliveryRecord[];
  /** What the sandbox processed for one provider (the truth a bill must match). */
  transactions(provider: SandboxProviderName): readonly PaymentRecord[];
  /** Makes the buyer of an order pay now; false when it is no longer payable. */
  pay(provider: SandboxProviderName, outTradeNo: string): boolean;
  stop(): Promise<void>;
}

/** The package's own `.keys/` folder (git-ignored). */
export const DEFAULT_KEYS_DIR = fileURLToPath(new URL("../.keys/", import.meta.url));

const DEFAULT_TIMING: SandboxTiming = { orderTtlMs: 2 * 60 * 60 * 1000, refundDelayMs: 1_000, billReadyAfterMs: 0, notifyScheduleMs: {} };

/**
 * Starts the sandbox on one HTTP port, serving every provider under its own path prefix, and
 * returns the credentials the merchant side needs. Used in-process by tests and by `main.ts`.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const onError = options.onError ?? ((error: unknown) => console.error("[provider-sandbox]", error));
  const keys: SandboxKeys = loadOrCreateKeys(options.keysDir ?? DEFAULT_KEYS_DIR);
  const clock = options.clock ?? systemClock;
  const root = createPrng(options.seed ?? 1);
  const prngs = new Map<SandboxProviderName, Prng>(SANDBOX_PROVIDER_NAMES.map((p) => [p, root.fork(p)]));
  const injectors = new Map<SandboxProviderName, FaultInjector>(
    SANDBOX_PROVIDER_NAMES.map((p) => [p, new FaultInjector(options.faults?.[p] ?? {}, root.fork(`faults:${p}`))]),
  );
  const scheduler = new Scheduler(onError);
  const store = new TransactionStore();
  const engine = new PaymentEngine({ ...DEFAULT_BUYER, ...options.buyer });
  let baseUrl = "";
  const context: SandboxContext = {
    store,
    clock,
    scheduler,
    notifier: new NotificationDispatcher(scheduler, clock),
    keys,
    timing: { ...DEFAULT_TIMING, ...options.timing },
    feeSchedules: { ...FEE_SCHEDULES, ...options.feeSchedules },
    prng: (p) => prngs.get(p) ?? root.fork(p),
    faults: (p) => injectors.get(p) ?? new FaultInjector({}, root.fork(`faults:${p}`)),
    baseUrl: () => baseUrl,
    engine,
  };
  engine.bind(context);
  const discrepancies = (p: SandboxProviderName): readonly BillDiscrepancy[] => options.discrepancies?.[p] ?? [];

  const json = (status: number, payload: unknown): SandboxResponse => ({
    status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
  });
  const controlRoutes: Route[] = [
    { method: "GET", pattern: /^\/health$/, handler: () => json(200, { status: "ok", providers: SANDBOX_PROVIDER_NAMES }) },
    { method: "GET", pattern: /^\/_sandbox\/keys$/, handler: () => json(200, publicKeys(keys)) },
    { method: "GET", pattern: /^\/_sandbox\/deliveries$/, handler: () => json(200, context.notifier.deliveries()) },
    {
      method: "GET",
      pattern: /^\/_sandbox\/transactions\/(\w+)$/,
      handler: (_r, [provider]) => json(200, store.list(provider as SandboxProviderName)),
    },
    {
      method: "POST",
      pattern: /^\/_sandbox\/buyer\/pay$/,
      handler: (request) => {
        const body = JSON.parse(request.bodyText || "{}") as { provider?: SandboxProviderName; outTradeNo?: string };
        const payment = store.byOutTrade(body.provider ?? "alipay", body.outTradeNo ?? "");
        return json(200, { paid: payment !== undefined && engine.pay(payment) });
      },
    },
  ];

  const routes: Route[] = [
    ...controlRoutes,
    ...alipayRoutes(context, { discrepancies: discrepancies("alipay") }),
    ...wechatRoutes(context, { billColumns: options.wechat?.billColumns ?? "current", discrepancies: discrepancies("wechat") }),
    ...unionpayRoutes(context, { discrepancies: discrepancies("unionpay"), adjustments: options.unionpay?.adjustments ?? [] }),
    ...hmacJsonRoutes(context, "jdpay", { discrepancies: discrepancies("jdpay") }),
    ...hmacJsonRoutes(context, "ecny", { discrepancies: discrepancies("ecny") }),
  ];
  const server = createRouterServer(routes, onError);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://${options.host ?? "127.0.0.1"}:${port}`;

  return {
    url: baseUrl,
    port,
    providers: {
      alipay: {
        gatewayUrl: `${baseUrl}/alipay/gateway.do`,
        appPayUrl: `${baseUrl}/alipay/app/pay`,
        appId: keys.alipay.appId,
        pid: keys.alipay.pid,
        appPrivateKeyPem: keys.alipay.app.privateKeyPem,
        appPublicKeyPem: keys.alipay.app.publicKeyPem,
        alipayPublicKeyPem: keys.alipay.alipay.publicKeyPem,
      },
      wechat: {
        baseUrl,
        mchid: keys.wechat.mchid,
        appid: keys.wechat.appid,
        merchantPrivateKeyPem: keys.wechat.merchant.privateKeyPem,
        merchantSerial: keys.wechat.merchantSerial,
        platformPublicKeyPem: keys.wechat.platform.publicKeyPem,
        platformSerial: keys.wechat.platformSerial,
        apiV3Key: keys.wechat.apiV3Key,
      },
      unionpay: {
        backTransUrl: `${baseUrl}/unionpay/gateway/api/backTransReq.do`,
        queryUrl: `${baseUrl}/unionpay/gateway/api/queryTrans.do`,
        fileTransferUrl: `${baseUrl}/unionpay/gateway/api/fileTransfer.do`,
        merId: keys.unionpay.merId,
        merchantPrivateKeyPem: keys.unionpay.merchant.privateKeyPem,
        merchantCertId: keys.unionpay.merchantCertId,
        platformPublicKeyPem: keys.unionpay.platform.publicKeyPem,
        platformCertId: keys.unionpay.platformCertId,
      },
      jdpay: { baseUrl: `${baseUrl}/jdpay/v1`, merchantId: keys.jdpay.merchantId, secret: keys.jdpay.secret },
      ecny: { baseUrl: `${baseUrl}/ecny/v1`, merchantId: keys.ecny.merchantId, secret: keys.ecny.secret },
    },
    deliveries: () => context.notifier.deliveries(),
    transactions: (provider) => store.list(provider),
    pay: (provider, outTradeNo) => {
      const payment = store.byOutTrade(provider, outTradeNo);
      return payment !== undefined && engine.pay(payment);
    },
    stop: async () => {
      await scheduler.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Public keys and ids only: what may be served over HTTP. */
function publicKeys(keys: SandboxKeys): object {
  return {
    alipay: { appId: keys.alipay.appId, pid: keys.alipay.pid, alipayPublicKeyPem: keys.alipay.alipay.publicKeyPem },
    wechat: {
      mchid: keys.wechat.mchid,
      appid: keys.wechat.appid,
      platformPublicKeyPem: keys.wechat.platform.publicKeyPem,
      platformSerial: keys.wechat.platformSerial,
    },
    unionpay: { merId: keys.unionpay.merId, platformPublicKeyPem: keys.unionpay.platform.publicKeyPem, platformCertId: keys.unionpay.platformCertId },
  };
}
