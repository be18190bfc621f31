import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** One readiness check: a name and a probe that resolves when the dependency answers. */
export interface ReadinessCheck {
  readonly name: string;
  probe(): Promise<void>;
}

/** A running liveness/readiness endpoint. */
export interface HealthServer {
  /** `host:port` it listens on (the real port when asked for 0). */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Liveness and readiness over plain HTTP for orchestrators and load balancers (gRPC health serves
 * gRPC clients; a Kubernetes httpGet probe or a shell `curl` needs this):
 * - `GET /livez` → 200 while the process serves and is not stopping; 503 once stopping.
 * - `GET /readyz` → 200 when the service has finished starting and every check (the database, …)
 *   answers within `probeTimeoutMs`; otherwise 503. Both answer JSON with each check's state.
 * - `GET /metrics` → the Prometheus scrape, when a `metrics` handler is given (the service kit
 *   passes the process's telemetry): one port per service for probes and scrapes alike.
 */
export async function startHealthServer(options: {
  readonly address: string;
  readonly checks: readonly ReadinessCheck[];
  readonly isStarted: () => boolean;
  readonly isStopping: () => boolean;
  readonly probeTimeoutMs?: number;
  /** Answers `GET /metrics`; without it that path is 404. */
  readonly metrics?: (request: IncomingMessage, response: ServerResponse) => void;
}): Promise<HealthServer> {
  const timeoutMs = options.probeTimeoutMs ?? 2_000;
  const server: Server = createServer((request, response) => {
    const reply = (status: number, body: unknown): void => {
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (request.url === "/livez") {
      reply(options.isStopping() ? 503 : 200, { status: options.isStopping() ? "stopping" : "live" });
      return;
    }
    if (request.url === "/readyz") {
      void readiness(options, timeoutMs).then(
        (checks) => {
          const ready = options.isStarted() && !options.isStopping() && checks.every((check) => check.ok);
          reply(ready ? 200 : 503, {
            status: ready ? "ready" : options.isStopping() ? "stopping" : options.isStarted() ? "degraded" : "starting",
            checks,
          });
        },
        (error: unknown) => reply(503, { status: "error", error: String(error) }),
      );
      return;
    }
    const metrics = options.metrics;
    if (metrics !== undefined && request.method === "GET" && (request.url === "/metrics" || request.url?.startsWith("/metrics?") === true)) {
      metrics(request, response);
      return;
    }
    reply(404, { error: `not found: GET /livez, /readyz${metrics === undefined ? "" : " or /metrics"}` });
  });
  const colon = options.address.lastIndexOf(":");
  const host = options.address.slice(0, colon);
  const port = Number.parseInt(options.address.slice(colon + 1), 10);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const boundPort = typeof bound === "object" && bound !== null ? bound.port : port;
  return {
    address: `${host}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readiness(
  options: { readonly checks: readonly ReadinessCheck[] },
  timeoutMs: number,
): Promise<{ name: string; ok: boolean; error?: string }[]> {
  return Promise.all(
    options.checks.map(async (check) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check.probe(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return { name: check.name, ok: true };
      } catch (error) {
        return { name: check.name, ok: false, error: error instanceof Error ? error.message : String(error) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
