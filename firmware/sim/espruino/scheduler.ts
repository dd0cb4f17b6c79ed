/**
 * Callbacks at points of the real interpreter's device clock (the link model's connection events),
 * run when that clock passes them: on a host timer armed for the earliest, or when an event stamped
 * later arrives first (`pump`).
 */

/** Timed callbacks in device time, run when the device clock passes them. */
export class DeviceScheduler {
  private q: { t: number; fn: (t: number) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly clock: () => number,
    private readonly delay: (t: number) => number,
  ) {}

  at(t: number, fn: (t: number) => void): void {
    let i = this.q.length;
    while (i > 0 && this.q[i - 1]!.t > t) i--;
    this.q.splice(i, 0, { t, fn });
    this.arm();
  }

  /** Run everything due by device time `upTo`. */
  pump(upTo: number): void {
    while (this.q.length > 0 && this.q[0]!.t <= upTo) {
      const e = this.q.shift()!;
      e.fn(e.t);
    }
  }

  clear(): void {
    this.q = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer || this.q.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.pump(this.clock());
        this.arm();
      },
      Math.max(0, this.delay(this.q[0]!.t)),
    );
  }
}
