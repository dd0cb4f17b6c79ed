/**
 * The connections of one device session, one at a time: a new connection replaces the previous
 * one, its frames are decoded and dispatched, its link is kept alive (PING/PONG) and watched for its
 * HELLO; a silent link, a missing HELLO, a closed link or the end of its frames detaches it. A reply
 * cannot survive the link (the device's playback state is gone); an utterance can: the device keeps
 * its ring, and the gaps are NACKed after the reconnect.
 */
import { Subscription, share, type SchedulerLike, type Subject } from 'rxjs';
import type { Connection } from '@budlink/link';
import { deframe } from './deframe';
import type { Downlink } from './downlink';
import { errorText } from './error-text';
import type { Handshake } from './handshake';
import { keepAlive } from './keep-alive';
import type { ReplyController } from './reply-controller';
import type { SessionInput } from './session-state';
import type { DeviceLog } from './types';
import type { UplinkDispatch } from './uplink-dispatch';

export interface ConnectionLifecycleParts {
  downlink: Downlink;
  handshake: Handshake;
  dispatch: UplinkDispatch;
  replies: ReplyController;
  inputs: Subject<SessionInput>;
  /** PING period (0: none) and the silence after which the link is dropped (0: never). */
  keepAliveMs: number;
  keepAliveTimeoutMs: number;
  scheduler: SchedulerLike;
  log: DeviceLog;
}

export class ConnectionLifecycle {
  private current: Subscription | undefined;

  constructor(private readonly p: ConnectionLifecycleParts) {}

  /** `c` is the session's connection from now on. */
  attach(c: Connection): void {
    const p = this.p;
    const previous = p.downlink.connection;
    if (previous) this.detach(previous);
    p.downlink.attach(c);
    const cs = new Subscription();
    this.current = cs;
    // After WELCOME on this connection, nothing longer than the negotiated payload (PROTOCOL.md §2).
    const limit = (): number | undefined =>
      p.handshake.welcomed(c) ? p.handshake.negotiated?.payloadSize : undefined;
    const frames$ = c.frames$.pipe(
      deframe((error, bytes) => p.dispatch.badBytes(error, bytes), limit),
      share(),
    );
    const pings$ = frames$.pipe(
      keepAlive({ intervalMs: p.keepAliveMs, timeoutMs: p.keepAliveTimeoutMs, scheduler: p.scheduler }),
    );
    cs.add(
      pings$.subscribe({
        next: (ping) => p.downlink.send(ping),
        error: (e: unknown) => {
          p.log('warn', `${errorText(e)}: disconnecting`);
          this.drop(c);
        },
      }),
    );
    cs.add(frames$.subscribe({ next: (f) => p.dispatch.frame(f, c), complete: () => this.detach(c) }));
    cs.add(
      p.handshake.watch(c, {
        isCurrent: () => p.downlink.connection === c,
        deliver: (hello) => p.dispatch.frame(hello, c),
        timedOut: () => this.drop(c),
      }),
    );
    cs.add(c.closed$.subscribe(() => this.detach(c)));
  }

  /** Stop watching the connection's subscriptions (the session is closing). */
  close(): void {
    this.current?.unsubscribe();
  }

  private detach(c: Connection): void {
    if (!this.p.downlink.detach(c)) return;
    this.current?.unsubscribe();
    this.current = undefined;
    this.p.replies.end('aborted', 'link lost');
    this.p.inputs.next({ kind: 'disconnect' });
  }

  /** Disconnect `c` as 'dropped' (its owner reconnects) and detach it at once. */
  private drop(c: Connection): void {
    c.disconnect('dropped').catch(() => undefined);
    this.detach(c);
  }
}
