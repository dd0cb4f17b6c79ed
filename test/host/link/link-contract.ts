/**
 * The Link contract: ONE suite, run against every Link implementation (link-contract.test.ts runs it
 * against InProcessLink and against NodeBleLink over a private D-Bus + the BlueZ emulator).
 */
import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, timeout, toArray, take, type Observable } from 'rxjs';
import { LinkError, persistentConnection, type Connection, type Link, type SimService } from '@budlink/link';
import { EchoPeripheral } from '@budlink/link/bluez';
import { Codec, FrameType, UPLINK_UUID, encodeFrame } from '@budlink/protocol';

/** An echo peripheral whose uplink is readable (PROTOCOL.md §1: the value is the current HELLO). */
export class ReadableEchoPeripheral extends EchoPeripheral {
  /** What a read of the uplink returns. */
  uplinkValue: Uint8Array = new Uint8Array(0);
  override services(): SimService[] {
    return super.services().map((s) => ({
      ...s,
      characteristics: s.characteristics.map((c) =>
        c.uuid === UPLINK_UUID ? { ...c, flags: [...c.flags, 'read'] } : c,
      ),
    }));
  }
  override read(charUuid: string): Uint8Array {
    if (charUuid.toLowerCase() === UPLINK_UUID) return this.uplinkValue.slice();
    return super.read(charUuid);
  }
}

/** A HELLO as an earbud's uplink holds it. */
export function helloBytes(nonce: number, board = 'BANGLEJS2'): Uint8Array {
  const r = encodeFrame({
    type: FrameType.HELLO,
    stream: 0,
    seq: 0,
    protoMajor: 1,
    protoMinor: 0,
    capabilities: 0,
    codecs: Codec.PCM_U8,
    sampleRate: 8000,
    maxPayload: 244,
    ringFrames: 64,
    nonce,
    board,
  });
  if (!r.ok) throw new Error(r.error.message);
  return r.bytes;
}

export interface ContractHarness {
  link: Link;
  /** Two earbud-like peripherals the link can reach: names 'Budlink-A', 'Budlink-B' (uplink readable). */
  a: ReadableEchoPeripheral;
  b: ReadableEchoPeripheral;
  /** A device advertising the service but not named Budlink-* ('Other-C'; uplink not readable). */
  other: EchoPeripheral;
  /** BlueZ faults; only for links that go through BlueZ. */
  restartBluez?: () => Promise<void>;
  stallGatt?: (address: string, stalled: boolean) => void;
  stop(): Promise<void>;
}

export interface ContractOptions {
  /** Run the BlueZ fault tests (restart, GATT hang). */
  bluezFaults: boolean;
  /** Why the suite is pending, when its harness cannot run on this machine. */
  skipReason?: string;
}

function within<T>(o: Observable<T>, ms = 3000): Promise<T> {
  return firstValueFrom(o.pipe(timeout(ms)));
}

function all<T>(o: Observable<T>, n: number, ms = 3000): Promise<T[]> {
  return firstValueFrom(o.pipe(take(n), toArray(), timeout(ms)));
}

async function expectLinkError(p: Promise<unknown>, kind: LinkError['kind']): Promise<LinkError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(LinkError);
    expect((e as LinkError).kind, (e as Error).message).to.equal(kind);
    return e as LinkError;
  }
  expect.fail(`expected LinkError(${kind})`);
}

const frame = (i: number, len = 8): Uint8Array =>
  Uint8Array.from({ length: len }, (_, k) => (i * 7 + k) & 0xff);

export function linkContract(
  name: string,
  setup: () => Promise<ContractHarness>,
  options: ContractOptions,
): void {
  describe(`Link contract: ${name}`, function () {
    this.timeout(10000);
    let h: ContractHarness;
    const open: Connection[] = [];
    const connect = async (p: EchoPeripheral, timeoutMs?: number): Promise<Connection> => {
      const c = await h.link.connect(p.address, timeoutMs === undefined ? undefined : { timeoutMs });
      open.push(c);
      return c;
    };

    before(async function () {
      if (options.skipReason !== undefined) this.skip();
      h = await setup();
    });
    afterEach(async () => {
      for (const c of open.splice(0)) await c.disconnect();
    });
    after(async () => {
      await h?.stop();
    });
    if (options.skipReason !== undefined) {
      it(`is pending: ${options.skipReason}`, function () {
        this.skip();
      });
      return;
    }

    it('scan finds Budlink devices with name and RSSI, and filters by name prefix', async () => {
      const found = await lastValueFrom(h.link.scan({ timeoutMs: 300 }).pipe(toArray()));
      const byName = new Map(found.map((d) => [d.name, d]));
      expect([...byName.keys()].sort()).to.deep.equal(['Budlink-A', 'Budlink-B', 'Other-C']);
      const a = byName.get('Budlink-A');
      expect(a?.address).to.equal(h.a.address);
      expect(a?.id).to.equal(h.a.address);
      expect(a?.rssi).to.be.a('number').and.to.be.below(0);
      const filtered = await lastValueFrom(
        h.link.scan({ timeoutMs: 300, namePrefix: 'Budlink-' }).pipe(toArray()),
      );
      expect(filtered.map((d) => d.name).sort()).to.deep.equal(['Budlink-A', 'Budlink-B']);
    });

    it('connects with payloadSize = negotiated ATT MTU - 3 and the device identity', async () => {
      const cb = await connect(h.b);
      expect(h.b.negotiatedMtu).to.equal(64); // the peripheral's limit wins the MTU exchange
      expect(cb.payloadSize).to.equal(61);
      const c = await connect(h.a);
      expect(c.payloadSize).to.equal(h.a.negotiatedMtu - 3);
      expect(h.a.negotiatedMtu).to.equal(247);
      expect(c.payloadSize).to.be.at.least(20);
      expect(c.device.address).to.equal(h.a.address);
      expect(c.device.name).to.equal('Budlink-A');
      expect(h.a.connected).to.equal(true);
    });

    it('delivers uplink notifications in order, one frame each', async () => {
      const c = await connect(h.a);
      const got = all(c.frames$, 100);
      for (let i = 0; i < 100; i++) h.a.notify(frame(i, 1 + (i % c.payloadSize)));
      const frames = await got;
      expect(frames.map((f) => Array.from(f))).to.deep.equal(
        Array.from({ length: 100 }, (_, i) => Array.from(frame(i, 1 + (i % c.payloadSize)))),
      );
    });

    it('writes reach the downlink in order (largest frame = payloadSize)', async () => {
      const c = await connect(h.a);
      const before = h.a.received.length;
      const echoes = all(c.frames$, 30);
      const sent = Array.from({ length: 30 }, (_, i) => frame(i + 1, i === 29 ? c.payloadSize : 5));
      for (const f of sent) await c.write(f);
      const back = await echoes;
      expect(h.a.received.slice(before).map((f) => Array.from(f))).to.deep.equal(
        sent.map((f) => Array.from(f)),
      );
      expect(back.map((f) => Array.from(f))).to.deep.equal(sent.map((f) => Array.from(f)));
    });

    it('rejects a frame larger than payloadSize with write-failed and keeps the link', async () => {
      const c = await connect(h.a);
      const before = h.a.received.length;
      await expectLinkError(c.write(new Uint8Array(c.payloadSize + 1)), 'write-failed');
      await expectLinkError(c.write(new Uint8Array(0)), 'write-failed');
      await c.write(frame(3));
      expect(h.a.received.length).to.equal(before + 1);
    });

    it('reassembles console lines split across notifications', async () => {
      const c = await connect(h.a);
      const lines = all(c.console$, 2);
      const long = 'x'.repeat(c.payloadSize * 2 + 5) + ' end';
      h.a.print('hello from the earbud');
      h.a.print(long);
      expect(await lines).to.deep.equal(['hello from the earbud', long]);
    });

    it('remote disconnect: closed$ emits remote, frames$ completes, writes reject with disconnected', async () => {
      const c = await connect(h.a);
      const framesDone = lastValueFrom(c.frames$.pipe(toArray(), timeout(3000)));
      const reason = within(c.closed$);
      h.a.kick();
      expect(await reason).to.equal('remote');
      await framesDone;
      await expectLinkError(c.write(frame(1)), 'disconnected');
      // closed$ replays the reason to a late subscriber.
      expect(await within(c.closed$)).to.equal('remote');
    });

    it('a peripheral that loses power: closed$ emits timeout (no terminate, supervision timeout)', async () => {
      const c = await connect(h.a);
      const reason = within(c.closed$);
      h.a.powerLoss();
      expect(await reason).to.equal('timeout');
      await expectLinkError(c.write(frame(1)), 'disconnected');
    });

    it('reconnects after a remote disconnect and the new connection works', async () => {
      const c1 = await connect(h.a);
      const lost = within(c1.closed$);
      h.a.kick();
      await lost;
      const c2 = await connect(h.a);
      const echo = within(c2.frames$);
      await c2.write(frame(9));
      expect(Array.from(await echo)).to.deep.equal(Array.from(frame(9)));
    });

    it('readUplink returns the current HELLO of the device right after connect, without a notification', async () => {
      h.a.uplinkValue = helloBytes(0xdeadbeef);
      const c = await connect(h.a);
      const notified: Uint8Array[] = [];
      const sub = c.frames$.subscribe((f) => notified.push(f));
      expect(c.readUplink).to.be.a('function');
      const read = await (c.readUplink as () => Promise<Uint8Array>).call(c);
      expect(Array.from(read)).to.deep.equal(Array.from(helloBytes(0xdeadbeef)));
      // A long value (more than 20 bytes) comes whole, and a later read sees the new value.
      h.a.uplinkValue = helloBytes(7, 'LONG-BOARD-NAME!');
      expect(Array.from(await (c.readUplink as () => Promise<Uint8Array>).call(c))).to.deep.equal(
        Array.from(helloBytes(7, 'LONG-BOARD-NAME!')),
      );
      sub.unsubscribe();
      expect(notified).to.have.length(0); // a read is not a notification
    });

    it('readUplink rejects with gatt on a non-readable uplink and with disconnected after the end', async () => {
      const co = await connect(h.other);
      await expectLinkError((co.readUplink as () => Promise<Uint8Array>).call(co), 'gatt');
      await co.write(frame(3)); // the link is kept
      const c = await connect(h.a);
      await c.disconnect();
      await expectLinkError((c.readUplink as () => Promise<Uint8Array>).call(c), 'disconnected');
    });

    it('local disconnect: closed$ emits local and the peripheral is released', async () => {
      const c = await connect(h.a);
      const reason = within(c.closed$);
      await c.disconnect();
      expect(await reason).to.equal('local');
      expect(h.a.connected).to.equal(false);
      await expectLinkError(c.write(frame(1)), 'disconnected');
      await c.disconnect(); // idempotent
    });

    it('serves two earbuds at once without mixing their traffic', async () => {
      const [ca, cb] = await Promise.all([connect(h.a), connect(h.b)]);
      const fromA = all(ca.frames$, 10);
      const fromB = all(cb.frames$, 10);
      for (let i = 0; i < 10; i++) {
        h.a.notify(Uint8Array.of(0xa0, i));
        h.b.notify(Uint8Array.of(0xb0, i));
      }
      expect((await fromA).every((f) => f[0] === 0xa0)).to.equal(true);
      expect((await fromB).map((f) => f[1])).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const beforeB = h.b.received.length;
      const echoed = within(cb.frames$);
      await cb.write(Uint8Array.of(0xbb));
      await ca.write(Uint8Array.of(0xaa));
      expect(Array.from(await echoed)).to.deep.equal([0xbb]);
      expect(Array.from(h.b.received.slice(beforeB)[0] ?? [])).to.deep.equal([0xbb]);
      // Losing one leaves the other up.
      const lostA = within(ca.closed$);
      h.a.kick();
      expect(await lostA).to.equal('remote');
      const echoB = within(cb.frames$);
      await cb.write(Uint8Array.of(0xbc));
      expect(Array.from(await echoB)).to.deep.equal([0xbc]);
    });

    it('a second connect to the same device, even concurrent, rejects with gatt', async () => {
      const [first, second] = await Promise.allSettled([connect(h.a), connect(h.a)]);
      expect(first.status).to.equal('fulfilled');
      expect(second.status).to.equal('rejected');
      expect((second as PromiseRejectedResult).reason).to.be.instanceOf(LinkError);
      expect(((second as PromiseRejectedResult).reason as LinkError).kind).to.equal('gatt');
      await expectLinkError(h.link.connect(h.a.address), 'gatt');
    });

    it('connect to an unknown device rejects with not-found', async () => {
      await expectLinkError(h.link.connect('DE:AD:00:00:00:01', { timeoutMs: 300 }), 'not-found');
    });

    it('persistentConnection hands out a new connection after a loss', async () => {
      const conns: Connection[] = [];
      const second = new Promise<Connection>((resolve, reject) => {
        const sub = persistentConnection(h.link, h.a.address, { initialDelayMs: 20, jitter: 0 }).subscribe({
          next: (c) => {
            conns.push(c);
            if (conns.length === 1) setTimeout(() => h.a.kick(), 10);
            else {
              resolve(c);
              sub.unsubscribe();
            }
          },
          error: reject,
        });
      });
      const c2 = await second;
      expect(await within(conns[0]!.closed$)).to.equal('remote');
      // Unsubscribing released the connection it owned.
      expect(await within(c2.closed$)).to.equal('local');
      expect(h.a.connected).to.equal(false);
    });

    if (options.bluezFaults) {
      it('BlueZ restart: open connections close with bluez-gone, then reconnect works', async () => {
        const restart = h.restartBluez;
        if (restart === undefined) throw new Error('harness lacks restartBluez');
        const ca = await connect(h.a);
        const cb = await connect(h.b);
        const ra = within(ca.closed$);
        const rb = within(cb.closed$);
        await restart();
        expect(await ra).to.equal('bluez-gone');
        expect(await rb).to.equal('bluez-gone');
        expect(h.a.connected).to.equal(false);
        const again = await connect(h.a, 3000);
        const echo = within(again.frames$);
        await again.write(frame(4));
        expect(Array.from(await echo)).to.deep.equal(Array.from(frame(4)));
      });

      it('a GATT resolution that never finishes rejects with timeout and leaves the device free', async () => {
        const stall = h.stallGatt;
        if (stall === undefined) throw new Error('harness lacks stallGatt');
        stall(h.b.address, true);
        try {
          await expectLinkError(h.link.connect(h.b.address, { timeoutMs: 400 }), 'timeout');
        } finally {
          stall(h.b.address, false);
        }
        expect(h.b.connected).to.equal(false);
        const c = await connect(h.b);
        const echo = within(c.frames$);
        await c.write(frame(5));
        expect(Array.from(await echo)).to.deep.equal(Array.from(frame(5)));
      });
    }
  });
}
