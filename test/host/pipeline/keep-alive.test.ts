import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { NEVER, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { FrameType, type Frame } from '@budlink/protocol';
import { keepAlive, KeepAliveTimeoutError } from '../../../host/src/pipeline/keep-alive';
import { scheduler } from './marbles';
import { settle } from '@budlink/test-support/wait';

const ping = (token: number): Frame => ({ type: FrameType.PING, stream: 0, seq: 0, token });
const pong = (token: number): Frame => ({ type: FrameType.PONG, stream: 0, seq: 0, token });
const other: Frame = { type: FrameType.STATE, stream: 0, seq: 0, state: 0, detail: 0 };

describe('pipeline/keep-alive', () => {
  it('pings every interval, answers device PINGs with PONG, and stops on completion', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('5ms a 9ms b 9ms |', { a: ping(77), b: other });
      const out = src.pipe(keepAlive({ intervalMs: 10, timeoutMs: 0 }));
      expectObservable(out).toBe('5ms x 4ms p 9ms q 4ms |', { x: pong(77), p: ping(1), q: ping(2) });
      expectSubscriptions(src.subscriptions).toBe('^ 24ms !');
    });
  });

  it('errors with KeepAliveTimeoutError when the device is silent too long; any frame resets it', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a 19ms a 29ms a', { a: other });
      const out = src.pipe(keepAlive({ intervalMs: 0, timeoutMs: 30 }));
      // Frames at 0, 20, 50; the last one is at 50 so silence ends the stream at 80.
      expectObservable(out).toBe('80ms #', undefined, new KeepAliveTimeoutError(30));
      expectSubscriptions(src.subscriptions).toBe('^ 79ms !');
    });
  });

  it('releases its timers and the source when unsubscribed', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot<Frame>('----------');
      expectObservable(src.pipe(keepAlive({ intervalMs: 3, timeoutMs: 100 })), '^ 6ms !').toBe(
        '3ms p 2ms q',
        {
          p: ping(1),
          q: ping(2),
        },
      );
      expectSubscriptions(src.subscriptions).toBe('^ 6ms !');
    });
  });

  it('holds no finished PING actions over a long session (nothing grows with uptime)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const vts = new VirtualTimeScheduler(VirtualAction, 0);
    const sub = NEVER.pipe(keepAlive({ intervalMs: 100, timeoutMs: 0, scheduler: vts })).subscribe();
    const advanceTo = (ms: number): void => {
      vts.maxFrames = ms;
      vts.flush();
    };
    advanceTo(150); // the first PING went out; the action for the second one is queued
    const queued: object[] = vts.actions;
    expect(queued).to.have.length(1);
    const second = new WeakRef(queued[0] as object);
    advanceTo(100 * 500);
    gc();
    await settle();
    gc();
    expect(second.deref(), 'a finished PING action is still reachable').to.equal(undefined);
    sub.unsubscribe();
  });
});
