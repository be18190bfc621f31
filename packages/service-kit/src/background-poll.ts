/** A read a service repeats in the background (its metrics' snapshots), stoppable. */
export interface BackgroundPoll {
  /** True once {@link stop} was called: a read that fails then need not say so. */
  readonly stopped: () => boolean;
  /** Reads now: waits for a read already running (it may have started before the caller's change), then reads again. */
  pollNow(): Promise<void>;
  /** Stops the timer and waits for a read in flight, at most `stopWaitMs` (a read stuck on an unreachable dependency must not hold up shutdown). */
  stop(): Promise<void>;
}

/**
 * Runs `read` now and then `intervalMs` after each read ends, never two at once, on an unref'd
 * timer (it keeps no process alive). `read` handles its own errors; one that throws still
 * schedules the next read.
 */
export function startBackgroundPoll(read: () => Promise<void>, options: { readonly intervalMs: number; readonly stopWaitMs: number }): BackgroundPoll {
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = (): Promise<void> => {
    inFlight ??= read().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void poll().catch(() => undefined).finally(schedule);
    }, options.intervalMs);
    timer.unref();
  };
  void poll().catch(() => undefined).finally(schedule);
  return {
    stopped: () => stopped,
    pollNow: async () => {
      await inFlight?.catch(() => undefined);
      await poll();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      let waited: NodeJS.Timeout | undefined;
      await Promise.race([inFlight?.catch(() => undefined), new Promise<void>((resolve) => (waited = setTimeout(resolve, options.stopWaitMs)))]);
      clearTimeout(waited);
    },
  };
}
