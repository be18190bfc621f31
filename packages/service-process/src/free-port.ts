import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0), for a
 * service process that must be told its address before it starts. Another process may take it
 * in between; the service then fails to bind and says so.
 */
export async function freeLocalPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening, failed) => {
    server.once("error", failed);
    server.listen(0, "127.0.0.1", listening);
  });
  const address = server.address();
  await new Promise<void>((closed) => server.close(() => closed()));
  if (address === null || typeof address === "string") throw new Error("the kernel gave no TCP port");
  return address.port;
}
