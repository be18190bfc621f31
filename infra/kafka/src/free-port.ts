import { createServer, Socket, type Server } from "node:net";
import { LocalKafkaError } from "./local-kafka-error.js";

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Finds `count` distinct free loopback ports by listening on port 0 and reading what the
 * kernel gave. All listeners stay open until every port is chosen, so the ports differ from
 * each other; another process can still take one before the broker binds it, which the
 * launcher handles by retrying with fresh ports.
 */
export async function findFreePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let index = 0; index < count; index += 1) servers.push(await listen(0));
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("listen(0) gave no port");
      return address.port;
    });
  } finally {
    await Promise.all(servers.map(close));
  }
}

/**
 * Fails with `port_in_use` when a port the caller fixed is already taken on 127.0.0.1, before
 * any JVM starts, so the error names the port rather than a bind exception deep in a log.
 */
export async function assertPortFree(port: number, purpose: string): Promise<void> {
  try {
    await close(await listen(port));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new LocalKafkaError(
        "port_in_use",
        `Port 127.0.0.1:${port} (${purpose}) is already in use: stop what listens there, choose another port, or leave ports unset to pick free ones`,
      );
    }
    throw error;
  }
}

/** Resolves once something accepts a TCP connection on 127.0.0.1:`port`, or false on refusal. */
export function canConnect(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, "127.0.0.1", () => done(true));
  });
}
