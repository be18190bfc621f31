/** Stop functions in start order; {@link stopAll} runs them once, in reverse. */
export class ShutdownList {
  private readonly stops: Array<() => Promise<void>> = [];
  private stopping: Promise<void> | undefined;

  push(stop: () => Promise<void>): void {
    this.stops.push(stop);
  }

  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      for (const stop of this.stops.reverse()) await stop().catch((error: unknown) => console.error(error));
    })();
    return this.stopping;
  }
}
