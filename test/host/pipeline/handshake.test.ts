/**
 * The HELLO / WELCOME handshake on its own: what each HELLO gets, resume vs reboot, the HELLO read at
 * connect, and the HELLO deadline on virtual time.
 */
import { expect } from 'chai';
import { Codec, ErrorCode, FrameType, type HelloFrame } from '@budlink/protocol';
import { Handshake, type HandshakeWatch } from '../../../host/src/pipeline/handshake';
import { VirtualTime } from '@budlink/test-support/virtual-time';
import { bytes } from './marbles';
import { FakeConnection, ReadableFakeConnection, hello } from './session-doubles';

describe('pipeline/handshake', () => {
  let vt: VirtualTime;
  let logs: string[];
  const make = (helloTimeoutMs = 3000): Handshake =>
    new Handshake({
      keepAliveMs: 2000,
      helloTimeoutMs,
      scheduler: vt.scheduler,
      log: (level, message) => logs.push(`${level} ${message}`),
    });
  beforeEach(() => {
    vt = new VirtualTime();
    logs = [];
  });

  it('welcomes a HELLO with payload = min(device, link), the u8 codec when offered, and the keep-alive period', () => {
    const h = make();
    const c = new FakeConnection(); // link payload 244
    const out = h.hello(hello(), c, 'handshake');
    expect(out.kind).to.equal('welcomed');
    if (out.kind !== 'welcomed') return;
    expect(out.welcome).to.include({
      payloadSize: 128,
      codec: Codec.PCM_U8,
      sampleRate: 8000,
      keepAliveMs: 2000,
      nonce: 1234,
    });
    expect(out).to.include({ resumed: false, rebooted: false });
    expect(h.negotiated).to.deep.equal({
      payloadSize: 128,
      codec: Codec.PCM_U8,
      sampleRate: 8000,
      board: 'fake',
      nonce: 1234,
      ringFrames: 64,
    });
    expect(h.welcomed(c)).to.equal(true);
    const s16: HelloFrame = { ...hello(5), codecs: Codec.PCM_S16LE, maxPayload: 1000 };
    const again = h.hello(s16, new FakeConnection(), 'idle');
    expect(again.kind === 'welcomed' && again.welcome).to.include({
      payloadSize: 244,
      codec: Codec.PCM_S16LE,
    });
  });

  it('answers a repeated HELLO on the same connection again without renegotiating', () => {
    const h = make();
    const c = new FakeConnection();
    h.hello(hello(), c, 'handshake');
    const out = h.hello(hello(), c, 'idle');
    expect(out.kind).to.equal('welcome-again');
  });

  it('tells a resumed device session (same nonce, new connection, in handshake) from a rebooted device (new nonce)', () => {
    const h = make();
    h.hello(hello(77), new FakeConnection(), 'handshake');
    const resumed = h.hello(hello(77), new FakeConnection(), 'handshake');
    expect(resumed).to.include({ kind: 'welcomed', resumed: true, rebooted: false });
    const notInHandshake = h.hello(hello(77), new FakeConnection(), 'utterance');
    expect(notInHandshake).to.include({ kind: 'welcomed', resumed: false, rebooted: false });
    const rebooted = h.hello(hello(78), new FakeConnection(), 'handshake');
    expect(rebooted).to.include({ kind: 'welcomed', resumed: false, rebooted: true });
  });

  it('answers another protocol major with ERROR UNSUPPORTED_VERSION and negotiates nothing', () => {
    const h = make();
    const out = h.hello(hello(1, 2), new FakeConnection(), 'handshake');
    expect(out.kind).to.equal('unsupported');
    if (out.kind !== 'unsupported') return;
    expect(out.error).to.include({ code: ErrorCode.UNSUPPORTED_VERSION, refType: FrameType.HELLO });
    expect(out.why).to.match(/device speaks protocol 2\.0, host 1\./);
    expect(h.negotiated).to.equal(undefined);
  });

  describe('watching a connection', () => {
    function watcher(current = () => true) {
      const seen: string[] = [];
      const watch: HandshakeWatch = {
        isCurrent: current,
        deliver: (f) => seen.push(`hello ${f.nonce}`),
        timedOut: () => seen.push(`timeout at ${vt.now()}`),
      };
      return { seen, watch };
    }

    it('times out a connection without HELLO at helloTimeoutMs, not one that was welcomed or replaced', async () => {
      const h = make(30);
      const silent = new FakeConnection();
      const { seen, watch } = watcher();
      h.watch(silent, watch);
      await vt.advance(29);
      expect(seen).to.deep.equal([]);
      await vt.advance(1);
      expect(seen).to.deep.equal(['timeout at 30']);
      expect(logs).to.deep.equal(['warn no HELLO within 30 ms: disconnecting']);

      const welcomed = new FakeConnection();
      const w = watcher();
      h.watch(welcomed, w.watch);
      h.hello(hello(), welcomed, 'handshake');
      const replaced = watcher(() => false);
      h.watch(new FakeConnection(), replaced.watch);
      await vt.advance(100);
      expect(w.seen).to.deep.equal([]);
      expect(replaced.seen).to.deep.equal([]);
    });

    it('with helloTimeoutMs 0 never times out', async () => {
      const h = make(0);
      const { seen, watch } = watcher();
      h.watch(new FakeConnection(), watch);
      await vt.advance(60000);
      expect(seen).to.deep.equal([]);
    });

    it('delivers the HELLO read at connect; its notified retry is not welcomed twice, a later one is', async () => {
      const h = make();
      const c = new ReadableFakeConnection(async () => bytes(hello(4321)));
      const { seen, watch } = watcher();
      watch.deliver = (f) => {
        seen.push(`hello ${f.nonce}`);
        h.hello(f, c, 'handshake');
      };
      h.watch(c, watch);
      await vt.settle();
      expect(seen).to.deep.equal(['hello 4321']);
      expect(h.hello(hello(4321), c, 'idle').kind).to.equal('already-welcomed');
      expect(h.hello(hello(4321), c, 'idle').kind).to.equal('welcome-again');
      await vt.advance(5000);
      expect(seen).to.deep.equal(['hello 4321']); // the read HELLO counts: no timeout
    });

    it('ignores a read that fails, is not a frame or is not a HELLO (and one that comes after a notified HELLO)', async () => {
      const values = [
        () => Promise.reject(new Error('read failed')),
        async () => Uint8Array.of(0xff, 0x00, 0x01),
        async () => bytes({ type: FrameType.PONG, stream: 0, seq: 0, token: 5 }),
      ];
      for (const value of values) {
        const h = make();
        const { seen, watch } = watcher();
        h.watch(new ReadableFakeConnection(value), watch);
        await vt.settle();
        expect(seen).to.deep.equal([]);
      }
      expect(logs.filter((l) => /^debug uplink read/.test(l))).to.have.length(3);
      const h = make();
      const c = new ReadableFakeConnection(async () => bytes(hello(1)));
      const { seen, watch } = watcher();
      h.watch(c, watch);
      h.hello(hello(1), c, 'handshake'); // notified before the read resolved
      await vt.settle();
      expect(seen).to.deep.equal([]);
    });
  });
});
