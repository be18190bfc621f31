/**
 * The sandbox's only source of time. Domain code asks a {@link Clock}; it never calls
 * `Date.now()`, so tests can pin a bill day and a run can be replayed.
 */
export interface Clock {
  nowMs(): number;
}

/** The wall clock, for a sandbox that runs next to real services. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/**
 * A clock that starts at `startMs` and then runs at wall-clock speed, so a test can place its
 * payments on a chosen Asia/Shanghai day while timers still fire in real time.
 */
export function offsetClock(startMs: number, base: Clock = systemClock): Clock {
  const baseStart = base.nowMs();
  return { nowMs: () => startMs + (base.nowMs() - baseStart) };
}

/** A clock that only moves when told to: for pure unit tests of time-dependent rules. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

/** Creates a {@link ManualClock} standing at `startMs`. */
export function manualClock(startMs: number): ManualClock {
  let now = startMs;
  return {
    nowMs: () => now,
    advance: (ms) => {
      now += ms;
    },
    set: (ms) => {
      now = ms;
    },
  };
}
