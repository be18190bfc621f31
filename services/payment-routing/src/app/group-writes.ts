/**
 * Group commit for independent single-statement writes: `write` runs for one batch at a time, and
 * every item that arrives while a batch is being written goes into the next one. The first item
 * is written at once (no timer, no added wait when the service is quiet); under load, one
 * statement carries everything that piled up behind the last. Each caller's promise settles with
 * its batch: resolved once its statement succeeded, rejected with the statement's error (nothing
 * of that batch was written — one statement — and the caller handles it as a failed write).
 */
export function groupWrites<T>(write: (items: readonly T[]) => Promise<void>): (item: T) => Promise<void> {
  let queued: Array<{ readonly item: T; readonly resolve: () => void; readonly reject: (error: unknown) => void }> = [];
  let writing = false;
  const drain = async (): Promise<void> => {
    writing = true;
    try {
      while (queued.length > 0) {
        const batch = queued;
        queued = [];
        try {
          await write(batch.map((entry) => entry.item));
          for (const entry of batch) entry.resolve();
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      writing = false;
    }
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      queued.push({ item, resolve, reject });
      if (!writing) void drain();
    });
}
