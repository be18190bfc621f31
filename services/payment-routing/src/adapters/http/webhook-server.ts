import type { Tracer } from "@opentelemetry/api";
import type { ProviderId } from "@tributary/contracts";
import { createLogger, type Logger } from "@tributary/telemetry";
import Fastify, { LogController, type FastifyError, type FastifyRequest } from "fastify";
import type { Pool } from "pg";
import type { ProviderAdapter, RawNotification } from "../providers/provider-adapter.js";
import type { NotificationEffects } from "./notification-effects.js";
import { createNotificationGroupCommit, defaultWebhookTracer, handleNotification, type NotificationHandlerDeps } from "./notification-handler.js";
import { pruneWebhookNotifications } from "./notification-store.js";
import { DEFAULT_REPLAY_WINDOW_MS, DEFAULT_UNTIMED_RETENTION_MS, webhookPath } from "./webhook-decision.js";
import { WebhookMetrics } from "./webhook-metrics.js";

/** What the webhook server is built from; everything but the adapters, pool and effects has a default. */
export interface WebhookServerOptions {
  /** `host:port` to listen on, as the service kit's addresses; `127.0.0.1:0` (a free port) unless told. */
  readonly address?: string;
  /** One adapter per provider to serve; each gets `POST /webhooks/<provider>`. */
  readonly adapters: readonly ProviderAdapter[];
  /** The service's database (the `webhook_notifications` store and the lifecycle's tables). */
  readonly pool: Pool;
  /** The payment lifecycle, applied inside the transaction that stores the notification id. */
  readonly effects: NotificationEffects;
  /** The clock the replay window is held against; the system clock unless told. */
  readonly clock?: () => Date;
  /** How far a signed send time may be from our clock; 5 minutes unless told. */
  readonly replayWindowMs?: number;
  /** How long ids of providers without a signed send time (UnionPay) are kept; 30 days unless told. */
  readonly untimedRetentionMs?: number;
  /** How often this instance prunes the store; every minute unless told, `0` for never (call `prune()`). */
  readonly pruneIntervalMs?: number;
  /** The service's logger; one of its own (`payment-routing-webhooks`) unless told. */
  readonly logger?: Logger;
  /** Where the counts go; a fresh one on the global meter unless told. */
  readonly metrics?: WebhookMetrics;
  readonly tracer?: Tracer;
  /** Largest body accepted, in bytes; 1 MiB unless told (real notifications are a few KiB). */
  readonly bodyLimitBytes?: number;
  /**
   * Whether payment notifications arriving together share one transaction (group commit, see
   * `NotificationGroupCommit`); on unless told. Off, each has a transaction of its own.
   */
  readonly groupCommit?: boolean;
}

/** A running webhook server. */
export interface RunningWebhookServer {
  /** The bound `host:port` (the real port when `0` was asked for). */
  readonly address: string;
  readonly port: number;
  /** `http://host:port`, the base of every provider's notify URL. */
  readonly url: string;
  /** The counts of everything this server handled. */
  readonly metrics: WebhookMetrics;
  /** The notify URL to give a provider: `url` + `/webhooks/<provider>`. */
  notifyUrl(provider: ProviderId): string;
  /** Prunes the id store now; returns how many ids were deleted. */
  prune(): Promise<number>;
  /** Stops listening (in-flight requests finish first) and the prune timer. Leaves the pool open. */
  stop(): Promise<void>;
}

/** Content types providers post notifications with; each body is kept as the exact bytes received. */
const RAW_CONTENT_TYPES: readonly (string | RegExp)[] = ["application/json", "application/x-www-form-urlencoded", /^text\//];

/**
 * Starts the webhook HTTP server (fastify): one endpoint per provider, every body kept as raw
 * bytes (a signature covers bytes, never a re-serialised object), every notification handled by
 * {@link handleNotification} and answered the way its provider expects. Several instances may
 * serve the same endpoints on one database: the id store's primary key applies each notification
 * once. The store is pruned on a timer (unref'd, so it never keeps the process alive).
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningWebhookServer> {
  const logger = options.logger ?? createLogger({ serviceName: "payment-routing-webhooks" });
  const replayWindowMs = options.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
  const clock = options.clock ?? (() => new Date());
  const metrics = options.metrics ?? new WebhookMetrics();
  const adapters = new Map<ProviderId, ProviderAdapter>();
  for (const adapter of options.adapters) {
    if (adapters.has(adapter.provider)) throw new Error(`two adapters for ${adapter.provider}: one endpoint serves one adapter`);
    adapters.set(adapter.provider, adapter);
  }
  const deps: NotificationHandlerDeps = {
    adapters,
    pool: options.pool,
    effects: options.effects,
    clock,
    replayWindowMs,
    logger,
    metrics,
    tracer: options.tracer ?? defaultWebhookTracer(),
    ...(options.groupCommit === false ? {} : { groupCommit: createNotificationGroupCommit() }),
  };

  const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: options.bodyLimitBytes ?? 1_048_576 });
  // Replace fastify's JSON and form parsers: they would hand us an object, and the bytes a
  // signature covers would be gone. Anything else (no or another content type) is kept raw too,
  // so it reaches verification and is refused and counted there rather than by the framework.
  app.removeAllContentTypeParsers();
  const keepRaw = (_request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: Buffer) => void): void => done(null, body);
  for (const contentType of RAW_CONTENT_TYPES) app.addContentTypeParser(contentType, { parseAs: "buffer" }, keepRaw);
  app.addContentTypeParser("*", { parseAs: "buffer" }, keepRaw);

  // What fails outside handleNotification — a body over the limit, a request cut off, an
  // exception the handler did not expect — is still answered the provider's way, logged and
  // counted: a 4xx is refused (`unreadable_request`), anything else is a 503 so the provider retries.
  const providerByPath = new Map([...adapters.keys()].map((provider) => [webhookPath(provider), provider]));
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const provider = providerByPath.get(request.routeOptions.url ?? "");
    const adapter = provider === undefined ? undefined : adapters.get(provider);
    const clientError = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500;
    const status = clientError ? (error.statusCode ?? 400) : 503;
    if (provider !== undefined) {
      metrics.record(clientError ? { provider, outcome: "rejected", reason: "unreadable_request" } : { provider, outcome: "error", reason: "internal" });
    }
    if (clientError) logger.warn({ provider, err: error, status }, "webhook request refused before verification");
    else logger.error({ provider, err: error }, "webhook request failed unexpectedly; answered 503 so the provider retries");
    const refusal = adapter?.acknowledgement(false) ?? { status, headers: {}, body: "" };
    return reply.code(status).headers(refusal.headers).send(refusal.body);
  });

  for (const provider of adapters.keys()) {
    app.post(webhookPath(provider), async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const raw: RawNotification = { headers: flattenHeaders(request.headers), body };
      const handled = await handleNotification(deps, provider, raw);
      return reply.code(handled.reply.status).headers(handled.reply.headers).send(handled.reply.body);
    });
  }

  const prune = () => pruneWebhookNotifications(options.pool, { now: clock(), replayWindowMs, untimedRetentionMs: options.untimedRetentionMs ?? DEFAULT_UNTIMED_RETENTION_MS });
  const pruneIntervalMs = options.pruneIntervalMs ?? 60_000;
  let pruning: Promise<void> | undefined;
  const timer =
    pruneIntervalMs > 0
      ? setInterval(() => {
          if (pruning !== undefined) return; // the previous prune is still running
          pruning = prune()
            .then((deleted) => {
              if (deleted > 0) logger.debug({ deleted }, "webhook notification ids pruned");
            })
            .catch((error: unknown) => logger.warn({ err: error }, "pruning webhook notification ids failed; the next tick tries again"))
            .finally(() => {
              pruning = undefined;
            });
        }, pruneIntervalMs)
      : undefined;
  timer?.unref();

  const requested = options.address ?? "127.0.0.1:0";
  const colon = requested.lastIndexOf(":");
  const host = requested.slice(0, colon);
  const requestedPort = Number.parseInt(requested.slice(colon + 1), 10);
  if (colon <= 0 || !Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65_535) {
    if (timer !== undefined) clearInterval(timer);
    throw new Error(`webhook server address must be host:port, got ${JSON.stringify(requested)}`);
  }
  try {
    await app.listen({ host, port: requestedPort });
  } catch (error) {
    if (timer !== undefined) clearInterval(timer);
    throw error;
  }
  const bound = app.server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : requestedPort;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    address: `${host}:${port}`,
    port,
    url,
    metrics,
    notifyUrl: (provider) => `${url}${webhookPath(provider)}`,
    prune,
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      await app.close();
      await pruning;
    },
  };
}

/** Node's headers as the port wants them: lower-case names, repeated values joined with ", ". */
function flattenHeaders(headers: FastifyRequest["headers"]): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}
