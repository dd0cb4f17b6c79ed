/**
 * Token buckets: what one earbud may make the bridge do per unit of time (utterances sent to the
 * voice service, log lines), so that a faulty or hostile earbud costs a bounded share.
 */
import type { LogLevel, Logger } from './types';

/** Up to `burst` at once, refilled at `perSecond`; time from `now()` (ms). */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  constructor(
    readonly burst: number,
    readonly perSecond: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
  }

  /** Take one token if there is one. */
  take(): boolean {
    const t = this.now();
    if (this.last !== undefined) {
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    }
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface LogLimit {
  /** Lines at once, and lines a second after that (debug lines have their own bucket of the same size). */
  burst: number;
  perSecond: number;
  now: () => number;
}

/**
 * A logger that passes at most `burst` lines at once and `perSecond` after that; the first line let
 * through after some were dropped is preceded by a warning that says how many.
 */
export function rateLimitedLogger(inner: Logger, limit: LogLimit): Logger {
  const buckets = {
    debug: new TokenBucket(limit.burst, limit.perSecond, limit.now),
    other: new TokenBucket(limit.burst, limit.perSecond, limit.now),
  };
  let dropped = 0;
  let droppedFields: Record<string, unknown> | undefined;
  return {
    log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
      if (!(level === 'debug' ? buckets.debug : buckets.other).take()) {
        dropped++;
        droppedFields = fields;
        return;
      }
      if (dropped > 0) {
        const n = dropped;
        dropped = 0;
        const device = droppedFields?.device;
        inner.log('warn', `${n} log line(s) dropped: over ${limit.perSecond} a second`, {
          ...(device === undefined ? {} : { device }),
          dropped: n,
        });
      }
      inner.log(level, message, fields);
    },
  };
}
