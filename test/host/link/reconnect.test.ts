import { expect } from 'chai';
import { NEVER, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  LinkError,
  LinkLost,
  backoffDelay,
  reconnecting,
  type Connection,
  type DisconnectReason,
} from '@budlink/link';

function fakeConnection(
  name: string,
  closed$: Observable<DisconnectReason>,
): Connection & { disconnects: number } {
  const c = {
    device: { id: name, address: name, name },
    payloadSize: 20,
    frames$: NEVER,
    console$: NEVER,
    closed$,
    disconnects: 0,
    write: async () => undefined,
    disconnect: async () => {
      c.disconnects += 1;
    },
  };
  return c;
}

const ts = (): TestScheduler =>
  new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });

describe('ble reconnect: backoffDelay', () => {
  it('grows by the factor from the initial delay and stops at the cap', () => {
    const p = { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, p))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
  });
  it('takes up to the jitter fraction off, from the injected random source', () => {
    const p = { initialDelayMs: 1000, jitter: 0.2 };
    expect(backoffDelay(1, { ...p, random: () => 0 })).to.equal(1000);
    expect(backoffDelay(1, { ...p, random: () => 0.5 })).to.equal(900);
    expect(backoffDelay(1, { ...p, random: () => 0.999999 })).to.equal(800);
  });
});

describe('ble reconnect: reconnecting (virtual time)', () => {
  it('emits a new connection after each loss, waiting the initial delay', () => {
    ts().run(({ cold, expectObservable, expectSubscriptions }) => {
      const closedA = cold<DisconnectReason>('---r', { r: 'remote' });
      const a = fakeConnection('a', closedA);
      const b = fakeConnection('b', NEVER);
      const attempts = [cold('-x|', { x: a }), cold('-x|', { x: b })];
      let i = 0;
      const out = reconnecting(() => attempts[i++] as Observable<Connection>, {
        initialDelayMs: 10,
        jitter: 0,
      });
      // a at 1, lost at 4, retry at 14, b at 15.
      expectObservable(out, '^ 30ms !').toBe('-a 13ms b', { a, b });
      expectSubscriptions(closedA.subscriptions).toBe('-^--!');
    });
  });

  it('backs off exponentially up to the cap and gives up after maxAttempts failures', () => {
    ts().run(({ cold, expectObservable }) => {
      const err = new LinkError('timeout', 'no answer');
      const out = reconnecting(() => cold<Connection>('#', undefined, err), {
        initialDelayMs: 10,
        factor: 2,
        maxDelayMs: 25,
        jitter: 0,
        maxAttempts: 4,
      });
      // attempts at 0, 10, 30, 55; the 4th failure is final.
      expectObservable(out).toBe('55ms #', undefined, err);
    });
  });

  it('resets the failure count once a connection is up', () => {
    ts().run(({ cold, expectObservable }) => {
      const err = new LinkError('timeout', 'no answer');
      const a = fakeConnection('a', cold<DisconnectReason>('--r', { r: 'remote' }));
      const b = fakeConnection('b', NEVER);
      const attempts = [
        cold<Connection>('#', undefined, err),
        cold<Connection>('#', undefined, err),
        cold('x', { x: a }),
        cold('x', { x: b }),
      ];
      let i = 0;
      const out = reconnecting(() => attempts[i++] as Observable<Connection>, {
        initialDelayMs: 10,
        factor: 3,
        jitter: 0,
      });
      // fail 0, retry 10 fails, retry 10+30=40: a; lost 42; first retry again after 10: b at 52.
      expectObservable(out, '^ 60ms !').toBe('40ms a 11ms b', { a, b });
    });
  });

  it('completes on a local disconnect', () => {
    ts().run(({ cold, expectObservable }) => {
      const a = fakeConnection('a', cold<DisconnectReason>('--l|', { l: 'local' }));
      expectObservable(reconnecting(() => cold('-x|', { x: a }), { initialDelayMs: 10 })).toBe('-a-|', { a });
    });
  });

  it('does not retry errors that are not link errors', () => {
    ts().run(({ cold, expectObservable }) => {
      const bug = new TypeError('bug');
      expectObservable(
        reconnecting(() => cold<Connection>('-#', undefined, bug), { initialDelayMs: 10 }),
      ).toBe('-#', undefined, bug);
    });
  });

  it('unsubscribing disconnects the connection it handed out and releases closed$', () => {
    let a: ReturnType<typeof fakeConnection> | undefined;
    ts().run(({ cold, expectObservable, expectSubscriptions }) => {
      const closed = cold<DisconnectReason>('');
      const conn = fakeConnection('a', closed);
      a = conn;
      expectObservable(
        reconnecting(() => cold('-x', { x: conn }), { initialDelayMs: 10 }),
        '^---!',
      ).toBe('-a', {
        a: conn,
      });
      expectSubscriptions(closed.subscriptions).toBe('-^--!');
    });
    expect(a?.disconnects).to.equal(1);
  });

  it('a connection that arrives after unsubscribing (a Promise cannot be cancelled) is disconnected', async () => {
    const late = fakeConnection('late', NEVER);
    let resolve: (c: Connection) => void = () => undefined;
    const pending = new Promise<Connection>((r) => {
      resolve = r;
    });
    const got: Connection[] = [];
    const sub = reconnecting(() => pending, { initialDelayMs: 10 }).subscribe((c) => got.push(c));
    sub.unsubscribe();
    resolve(late);
    await pending;
    await Promise.resolve();
    expect(got).to.deep.equal([]);
    expect(late.disconnects).to.equal(1);
  });

  it('reports the loss reason to the retry as LinkLost', () => {
    const e = new LinkLost('bluez-gone');
    expect(e.reason).to.equal('bluez-gone');
    expect(e.message).to.contain('bluez-gone');
  });
});
