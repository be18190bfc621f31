/**
 * Runs deferred work (buyer payments, order expiry, notification retries) on real timers, and
 * cancels all of it on `stop()` so a stopped sandbox leaves nothing behind. Task errors are
 * reported to `onError`, never swallowed.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly onError: (error: unknown) => void) {}

  /** Runs `task` after `delayMs` (clamped to [0, 2^31-1]). */
  after(delayMs: number, task: () => void | Promise<void>): void {
    if (this.stopped) return;
    const delay = Math.min(Math.max(0, Math.floor(delayMs)), 2_147_483_647);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopped) return;
      const run = (async () => {
        try {
          await task();
        } catch (error) {
          this.onError(error);
        }
      })();
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** Cancels pending work and waits for tasks already running. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }
}
