/**
 * Waiting on the wall clock (or for one macrotask turn), for tests that drive real I/O (sockets, D-Bus,
 * the simulated earbud's real-time clock). Tests of code that takes a scheduler run on virtual time
 * instead (TestScheduler, or VirtualTime in virtual-time.ts).
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One macrotask turn: every microtask queued so far (and those they queue) has run. */
export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Polls `cond` every `everyMs` (10) ms; rejects naming `what` when it has not held within `ms`. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 15000,
  everyMs = 10,
): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
