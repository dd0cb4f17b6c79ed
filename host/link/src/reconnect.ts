/**
 * Keeping a device connected: capped exponential backoff with jitter, on an injectable rxjs scheduler
 * (virtual time in tests).
 *
 * `persistentConnection(link, id, policy)` emits a fresh Connection after each loss. Retries follow a
 * failed attempt, a lost link ('remote', 'timeout', 'bluez-gone', 'error') or a link this side
 * dropped ('dropped': silent, or no HELLO); a 'local' disconnect completes the stream. The failure
 * count resets once a connection is up. Unsubscribing disconnects the current connection: the
 * subscriber owns it.
 */
import {
  EMPTY,
  Observable,
  asyncScheduler,
  concat,
  defer,
  from,
  of,
  throwError,
  timer,
  type ObservableInput,
  type SchedulerLike,
} from 'rxjs';
import { finalize, mergeMap, retry, switchMap, take, tap } from 'rxjs/operators';
import { RECONNECT_DEFAULTS } from './defaults';
import { LinkError, type Connection, type DisconnectReason, type Link } from './link';

export interface BackoffPolicy {
  /** Delay before the first retry (default RECONNECT_DEFAULTS, 250 ms). */
  initialDelayMs?: number;
  /** Upper bound of the delay (default 5000 ms). */
  maxDelayMs?: number;
  /** Growth per consecutive failure (default 2). */
  factor?: number;
  /** Fraction of the delay that is randomised, 0..1 (default 0.2): delay × (1 − jitter × random()). */
  jitter?: number;
  /** Give up (error) when this many consecutive attempts have failed (default: never). */
  maxAttempts?: number;
  /** Connect timeout passed to Link.connect. */
  connectTimeoutMs?: number;
  /** Random source in [0, 1) (default Math.random); inject for deterministic tests. */
  random?: () => number;
  /** Timer scheduler (default asyncScheduler); TestScheduler in tests. */
  scheduler?: SchedulerLike;
}

/** Why the stream retried: a lost link (carries the reason) or a failed connect attempt. */
export class LinkLost extends Error {
  constructor(readonly reason: DisconnectReason) {
    super(`link lost (${reason})`);
    this.name = 'LinkLost';
  }
}

/** Delay before retry number `attempt` (1-based): min(max, initial × factor^(attempt−1)), minus jitter. */
export function backoffDelay(attempt: number, policy: BackoffPolicy = {}): number {
  const initial = policy.initialDelayMs ?? RECONNECT_DEFAULTS.initialDelayMs;
  const max = policy.maxDelayMs ?? RECONNECT_DEFAULTS.maxDelayMs;
  const factor = policy.factor ?? RECONNECT_DEFAULTS.factor;
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? RECONNECT_DEFAULTS.jitter));
  const random = policy.random ?? Math.random;
  const base = Math.min(max, initial * Math.pow(factor, Math.max(0, attempt - 1)));
  return Math.round(base * (1 - jitter * random()));
}

/**
 * One connect attempt. Like defer(), but a Connection that arrives after the subscriber left (a
 * Promise cannot be cancelled) is disconnected instead of leaking.
 */
function attempt(connect: () => ObservableInput<Connection>): Observable<Connection> {
  return new Observable<Connection>((subscriber) => {
    const input = connect();
    if (!isPromiseLike(input)) return from(input).subscribe(subscriber);
    let live = true;
    input.then(
      (c) => {
        if (!live) {
          void c.disconnect().catch(() => undefined);
          return;
        }
        subscriber.next(c);
        subscriber.complete();
      },
      (e: unknown) => {
        if (live) subscriber.error(e);
      },
    );
    return () => {
      live = false;
    };
  });
}

function isPromiseLike<T>(x: ObservableInput<T>): x is PromiseLike<T> {
  return typeof (x as { then?: unknown }).then === 'function';
}

/**
 * The retry machinery over any connect function (a Promise or Observable of one Connection).
 * Emits each Connection; errors with the last failure once maxAttempts consecutive failures happened.
 */
export function reconnecting(
  connect: () => ObservableInput<Connection>,
  policy: BackoffPolicy = {},
): Observable<Connection> {
  const scheduler = policy.scheduler ?? asyncScheduler;
  return defer(() => {
    let current: Connection | undefined;
    return attempt(connect).pipe(
      take(1),
      tap((c) => {
        current = c;
      }),
      switchMap((c) =>
        concat(
          of(c),
          c.closed$.pipe(
            take(1),
            mergeMap((reason) => {
              if (current === c) current = undefined;
              return reason === 'local' ? EMPTY : throwError(() => new LinkLost(reason));
            }),
          ),
        ),
      ),
      retry({
        resetOnSuccess: true,
        delay: (err: unknown, count: number) => {
          // Programming errors are not link trouble: do not retry them.
          if (!(err instanceof LinkError) && !(err instanceof LinkLost)) return throwError(() => err);
          if (policy.maxAttempts !== undefined && count >= policy.maxAttempts) return throwError(() => err);
          return timer(backoffDelay(count, policy), scheduler);
        },
      }),
      finalize(() => {
        const c = current;
        current = undefined;
        if (c !== undefined) void c.disconnect().catch(() => undefined);
      }),
    );
  });
}

/** A connection to `deviceId` that comes back after every loss (see the module comment). */
export function persistentConnection(
  link: Link,
  deviceId: string,
  policy: BackoffPolicy = {},
): Observable<Connection> {
  const options = policy.connectTimeoutMs !== undefined ? { timeoutMs: policy.connectTimeoutMs } : undefined;
  return reconnecting(() => link.connect(deviceId, options), policy);
}
