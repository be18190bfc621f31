/** One started part of a service and how to stop it. */
interface Component {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * The parts a service has started, stopped in reverse start order (gRPC before the consumers,
 * the consumers before the relay, the pool last), each once. `stop()` may be called from a
 * signal handler and from a failed start-up at the same time: the second call waits for the first.
 * A part that fails to stop is reported and the rest are still stopped.
 */
export class Lifecycle {
  readonly #components: Component[] = [];
  #stopped: Promise<void> | undefined;

  constructor(private readonly onStopError: (name: string, error: unknown) => void) {}

  /** Whether `stop()` has begun. */
  get stopping(): boolean {
    return this.#stopped !== undefined;
  }

  /** The names of the parts started so far, in start order. */
  get started(): readonly string[] {
    return this.#components.map((component) => component.name);
  }

  /** Records a part that has started. */
  add(name: string, stop: () => Promise<void>): void {
    if (this.#stopped !== undefined) throw new Error(`${name} started after the service began stopping`);
    this.#components.push({ name, stop });
  }

  /** Stops every part in reverse start order. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      for (const component of [...this.#components].reverse()) {
        try {
          await component.stop();
        } catch (error) {
          this.onStopError(component.name, error);
        }
      }
    })();
    return this.#stopped;
  }
}
