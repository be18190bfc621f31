import { startSandbox, type RunningSandbox, type SandboxOptions } from "@tributary/provider-sandbox";

/**
 * Starts the provider sandbox in-process on a free loopback port, for tests of payment-routing
 * adapters and reconciliation parsers: the real wire protocols and bill formats, never a stub.
 * The caller stops it with `stop()`.
 */
export async function providerSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  return startSandbox({ port: 0, ...options });
}
