import { describe, expect, it } from "vitest";
import { startHealthServer } from "./health-server.js";

const base = { checks: [], isStarted: () => true, isStopping: () => false };

describe("startHealthServer /metrics", () => {
  it("hands GET /metrics (with or without a query) to the metrics handler, and nothing else", async () => {
    const seen: string[] = [];
    const server = await startHealthServer({
      ...base,
      address: "127.0.0.1:0",
      metrics: (request, response) => {
        seen.push(request.url ?? "");
        response.writeHead(200, { "content-type": "text/plain" }).end("tributary_outbox_unpublished{state=\"pending\"} 3\n");
      },
    });
    try {
      const scrape = await fetch(`http://${server.address}/metrics`);
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toBe('tributary_outbox_unpublished{state="pending"} 3\n');
      expect((await fetch(`http://${server.address}/metrics?name[]=x`)).status).toBe(200);
      expect((await fetch(`http://${server.address}/metrics`, { method: "POST" })).status).toBe(404);
      expect((await fetch(`http://${server.address}/metricsx`)).status).toBe(404);
      expect((await fetch(`http://${server.address}/livez`)).status).toBe(200);
      expect(seen).toEqual(["/metrics", "/metrics?name[]=x"]);
    } finally {
      await server.close();
    }
  });

  it("answers 404 for /metrics without a handler, naming only the paths it has", async () => {
    const server = await startHealthServer({ ...base, address: "127.0.0.1:0" });
    try {
      const response = await fetch(`http://${server.address}/metrics`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: "not found: GET /livez, /readyz" });
    } finally {
      await server.close();
    }
  });
});
