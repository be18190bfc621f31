import { startTelemetry, type Telemetry } from "@tributary/telemetry";
import { ConfigError, readConfig } from "./config.js";
import { DependencyUnavailableError } from "./dependency-error.js";

/** A started service as its composition root sees it. */
export interface StartedService {
  /** One line for the operator, e.g. the addresses it serves on. */
  readonly description: string;
  stop(): Promise<void>;
}

/** Options of {@link runServiceMain}. */
export interface RunServiceMainOptions<S extends object> {
  readonly name: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The service's settings (envalid validators), read once before anything starts. */
  readonly specs: S;
  /**
   * Starts the service with its validated settings. Called after telemetry has started, so it
   * should import the service's modules dynamically: the global tracer and meter providers must
   * exist before any module creates instruments.
   */
  readonly start: (config: ReturnType<typeof readConfig<S>>, telemetry: Telemetry) => Promise<StartedService>;
}

const stopSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * The body of every service's `main.ts`: read and validate the settings (a bad one stops start-up
 * with one line naming the variable), start telemetry, start the service, and stop it in reverse
 * order on SIGINT/SIGTERM/SIGHUP — also when the signal arrives during start-up — then flush
 * telemetry and exit 0. An unreachable dependency or a bad setting prints `✗ <name>: <what to do>`
 * and exits 1; anything else prints its stack and exits 1.
 */
export async function runServiceMain<S extends object>(options: RunServiceMainOptions<S>): Promise<void> {
  let signalled: string | undefined;
  let service: StartedService | undefined;
  let telemetry: Telemetry | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> => {
    stopping ??= (async () => {
      console.log(`${options.name}: ${signal}, stopping`);
      // The service first (its last spans end), then telemetry, which flushes them.
      await service?.stop();
      await telemetry?.shutdown();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
    return stopping;
  };
  for (const signal of stopSignals) {
    process.once(signal, () => {
      signalled = signal;
      // During start-up the service is not there yet: stop once start() returns or fails.
      if (service !== undefined) void stop(signal);
    });
  }
  try {
    const config = readConfig(options.env, options.specs);
    telemetry = await startTelemetry({ serviceName: options.name, env: options.env });
    service = await options.start(config, telemetry);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DependencyUnavailableError) {
      console.error(`✗ ${options.name}: ${error.message}`);
    } else {
      console.error(`✗ ${options.name} failed to start:`, error);
    }
    await telemetry?.shutdown().catch(() => undefined);
    process.exit(1);
  }
  if (signalled !== undefined) {
    await stop(signalled);
    return;
  }
  console.log(`${options.name}: ${service.description}`);
}
