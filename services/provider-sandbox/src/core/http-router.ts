import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { FaultInjector } from "./faults.js";

/** A request as the provider handlers see it: the raw body is kept because signatures cover it. */
export interface SandboxRequest {
  readonly method: string;
  readonly path: string;
  /** Path plus query string exactly as sent (WeChat signs this). */
  readonly pathAndQuery: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly bodyText: string;
}

/** A response to write. */
export interface SandboxResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

/** One route. `faults` makes it subject to that provider's API fault injection. */
export interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: (request: SandboxRequest, params: readonly string[]) => SandboxResponse | Promise<SandboxResponse>;
  readonly faults?: {
    readonly injector: FaultInjector;
    /** The provider's own answer when it fails internally. */
    readonly serverError: (request: SandboxRequest) => SandboxResponse;
  };
}

/** Reads a header that may repeat; the first value wins. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * A small node:http server over a route table. It applies the provider's API faults around the
 * handler: a timeout still runs the handler (the provider did the work, the merchant never hears),
 * a slow response runs it and waits, a server error answers without running it.
 */
export function createRouterServer(routes: readonly Route[], onError: (error: unknown) => void): Server {
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      onError(error);
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
      }
      res.end("sandbox internal error");
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const pathAndQuery = req.url ?? "/";
    const url = new URL(pathAndQuery, "http://sandbox.local");
    const request: SandboxRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      pathAndQuery,
      query: url.searchParams,
      headers: req.headers,
      body,
      bodyText: body.toString("utf8"),
    };
    for (const route of routes) {
      if (route.method !== request.method) continue;
      const match = route.pattern.exec(request.path);
      if (match === null) continue;
      const params = match.slice(1).map((p) => decodeURIComponent(p ?? ""));
      const fault = route.faults?.injector.apiFault() ?? { kind: "none" as const };
      if (fault.kind === "server_error" && route.faults !== undefined) {
        write(res, route.faults.serverError(request));
        return;
      }
      const response = await route.handler(request, params);
      if (fault.kind === "timeout") {
        await sleep(fault.timeoutMs);
        res.destroy();
        return;
      }
      if (fault.kind === "slow") {
        await sleep(fault.delayMs);
      }
      write(res, response);
      return;
    }
    write(res, { status: 404, headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "NOT_FOUND", message: `no route for ${request.method} ${request.path}` }) });
  }

  return server;
}

function write(res: ServerResponse, response: SandboxResponse): void {
  res.writeHead(response.status, { ...response.headers });
  res.end(response.body);
}
