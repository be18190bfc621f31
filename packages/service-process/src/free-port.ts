import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Ports below this are left alone (well-known services, our own fixed defaults such as 5999). */
const lowestPickedPort = 20_000;

/** Ports this process has handed out, so two services it starts are never told the same one. */
const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that is free at the moment of the call, for a service process that
 * must be told its address before it starts.
 *
 * Port 0 would give the kernel's choice from its ephemeral range, the same range every outgoing
 * connection on the machine takes its source port from (each Kafka or Postgres client of a
 * neighbouring test): one of them could take the port between our check and the service's bind,
 * and the service then failed with EADDRINUSE. So on Linux the port is picked at random from
 * below the ephemeral range (20000 up to `ip_local_port_range`'s floor), where only listeners
 * live, and checked by binding it; elsewhere, or if the range leaves no room, the kernel's choice.
 * Another listener may still take it in between; {@link startOnFreshPorts} starts again then.
 */
export async function freeLocalPort(): Promise<number> {
  const ceiling = ephemeralFloor();
  if (ceiling !== undefined && ceiling - lowestPickedPort >= 1_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = lowestPickedPort + Math.floor(Math.random() * (ceiling - lowestPickedPort));
      if (handedOut.has(port)) continue;
      if ((await tryBind(port)) !== undefined) {
        handedOut.add(port);
        return port;
      }
    }
  }
  for (;;) {
    const port = await tryBind(0);
    if (port === undefined) throw new Error("the kernel gave no TCP port on 127.0.0.1");
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** The lowest port of the kernel's ephemeral range on Linux; undefined elsewhere. */
function ephemeralFloor(): number | undefined {
  try {
    const [floor] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const value = Number(floor);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Binds `port` (0: the kernel's choice) on 127.0.0.1 and closes it again; the port, or undefined if taken. */
async function tryBind(port: number): Promise<number | undefined> {
  const server = createServer();
  const bound = await new Promise<boolean>((listening) => {
    server.once("error", () => listening(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => listening(true));
  });
  if (!bound) return undefined;
  const address = server.address();
  await new Promise<void>((closed) => server.close(() => closed()));
  return address === null || typeof address === "string" ? undefined : address.port;
}
