/**
 * Operator: link liveness for one connection. Uplink frames in; frames to write out:
 *  - a PONG (same token) for every PING the device sends;
 *  - a PING every `intervalMs` (tokens count up from 1);
 *  - an error (KeepAliveTimeoutError) when the device has sent nothing at all for `timeoutMs`,
 *    so the caller can drop a link that BLE supervision has not noticed yet.
 * Any uplink frame counts as a sign of life. seq is left 0: the session's writer stamps it.
 */
import {
  Observable,
  asyncScheduler,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { FrameType, type Frame, type PingFrame } from '@budlink/protocol';

export class KeepAliveTimeoutError extends Error {
  constructor(readonly silentMs: number) {
    super(`device silent for ${silentMs} ms (keep-alive timeout)`);
    this.name = 'KeepAliveTimeoutError';
  }
}

export interface KeepAliveOptions {
  /** PING period; 0 = never ping (still answers the device's PINGs). */
  intervalMs: number;
  /** Silence after which the operator errors; 0 = never. */
  timeoutMs: number;
  scheduler?: SchedulerLike;
}

export function keepAlive(options: KeepAliveOptions): OperatorFunction<Frame, PingFrame> {
  const scheduler = options.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<PingFrame>((subscriber) => {
      let token = 0;
      let silence: Subscription | undefined;
      let ping: Subscription | undefined;

      const armSilence = (): void => {
        if (options.timeoutMs <= 0) return;
        silence?.unsubscribe();
        silence = scheduler.schedule(
          () => subscriber.error(new KeepAliveTimeoutError(options.timeoutMs)),
          options.timeoutMs,
        );
      };
      // A fresh action per PING rather than `this.schedule()` from inside the action: rxjs's
      // VirtualAction (virtual time: tests, the soak bench) chains every re-scheduled action to the
      // previous one, so an hour of PINGs would hold 1,800 actions until the session ends.
      const schedulePing = (): void => {
        ping = scheduler.schedule(() => {
          token = (token + 1) >>> 0;
          subscriber.next({ type: FrameType.PING, stream: 0, seq: 0, token });
          schedulePing();
        }, options.intervalMs);
      };
      if (options.intervalMs > 0) schedulePing();
      armSilence();

      const sub = source.subscribe({
        next: (frame) => {
          armSilence();
          if (frame.type === FrameType.PING) {
            subscriber.next({ type: FrameType.PONG, stream: 0, seq: 0, token: frame.token });
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      return () => {
        silence?.unsubscribe();
        ping?.unsubscribe();
        sub.unsubscribe();
      };
    });
}
