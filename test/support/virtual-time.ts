/**
 * Virtual time for code that takes an rxjs scheduler and a clock (runSession, the pipeline units,
 * the CLI scenario runner): timers run only when the test advances the clock, so nothing waits on
 * the wall clock and "nothing happened for 50 ms" is exact. Promise callbacks (link writes, async
 * verifiers) still run as microtasks: `settle()` lets every pending one run before the test looks.
 */
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { settle } from './wait';

export class VirtualTime {
  readonly scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);

  /** The virtual clock (ms), for `now` options. */
  readonly now = (): number => this.scheduler.frame;

  /** Let pending promise callbacks run, without moving the clock. */
  settle(): Promise<void> {
    return settle();
  }

  /** Move the clock `ms` forward, running each timer due on the way (and the promises it starts). */
  async advance(ms: number): Promise<void> {
    const target = this.scheduler.frame + ms;
    await settle();
    for (let due = this.nextDue(); due !== undefined && due <= target; due = this.nextDue()) {
      this.runUntil(due);
      await settle();
    }
    this.scheduler.frame = target;
  }

  /**
   * Run timers in order, settling promises after each, until `cond` holds; throws naming `what` when
   * it does not within `ms` of virtual time (or when nothing is left to run).
   */
  async until(what: string, cond: () => boolean, ms = 60000): Promise<void> {
    const deadline = this.scheduler.frame + ms;
    await settle();
    while (!cond()) {
      const due = this.nextDue();
      if (due === undefined || due > deadline) {
        throw new Error(
          `${what}: not by virtual ${deadline} ms (${due === undefined ? 'no timer left' : `next timer at ${due}`})`,
        );
      }
      this.runUntil(due);
      await settle();
    }
  }

  private nextDue(): number | undefined {
    return this.scheduler.actions[0]?.delay;
  }

  private runUntil(due: number): void {
    this.scheduler.maxFrames = due;
    this.scheduler.flush();
    this.scheduler.maxFrames = Infinity;
  }
}
