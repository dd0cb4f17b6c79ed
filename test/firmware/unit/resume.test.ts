/**
 * An utterance survives a BLE reconnect (docs/PROTOCOL.md §5): the firmware core against a fake HAL and
 * a host side built on the protocol's Reassembler (the same receiver the bridge uses).
 */
import { expect } from 'chai';
import { Codec, EndReason, FrameType, Reassembler } from '@budlink/protocol';
import type { AudioFrame, CreditFrame, EndFrame, Frame, HelloFrame } from '@budlink/protocol';
import type { BoardProfile } from '../../../firmware/boards/index';
import { App } from '../../../firmware/src/core/app';
import { GateState } from '../../../firmware/src/core/gate';
import { FakeHal, dec, enc, filled, puck } from './fake-hal';

/** A host that keeps its reassembly state across connections, like the bridge (host/src/pipeline). */
class Host {
  readonly hal = new FakeHal();
  readonly app: App;
  readonly hellos: HelloFrame[] = [];
  readonly frames: Frame[] = [];
  /** Every sample fed to the mic, in order (absolute index = position). */
  readonly mic: number[] = [];
  r: Reassembler<Frame> | null = null;
  audio: number[] = [];
  end: EndFrame | null = null;
  private rnd = 12345;

  constructor(board: BoardProfile) {
    let n = 0x9e3779b9;
    this.hal.random32 = () => (n = (n * 1664525 + 1013904223) >>> 0);
    this.app = new App(board, this.hal);
    this.app.boot();
  }

  connect(): void {
    this.hal.connect();
    this.hal.advance(100);
    this.pump();
    const h = this.hellos[this.hellos.length - 1] as HelloFrame;
    this.hal.write(
      enc({
        type: FrameType.WELCOME,
        stream: 0,
        seq: 0,
        protoMajor: 1,
        protoMinor: 0,
        payloadSize: h.maxPayload,
        codec: Codec.PCM_U8,
        sampleRate: h.sampleRate,
        keepAliveMs: 0,
        nonce: h.nonce,
      }),
    );
  }

  /** Quiet, never-repeating mic buffers (±3 around 128: not speech), advancing the clock; ACKs as it goes. */
  quiet(buffers: number, connected = true): void {
    this.noise(buffers, 3, connected);
  }

  /** Loud never-repeating buffers (±60: speech, keeps the gate open). */
  loud(buffers: number, connected = true): void {
    this.noise(buffers, 60, connected);
  }

  private noise(buffers: number, amp: number, connected: boolean): void {
    for (let k = 0; k < buffers; k++) {
      const b = new Uint8Array(this.app.board.bufferSamples);
      for (let i = 0; i < b.length; i++) {
        this.rnd = (this.rnd * 1103515245 + 12345) >>> 0;
        b[i] = 128 - amp + ((this.rnd >>> 16) % (2 * amp + 1));
        this.mic.push(b[i] as number);
      }
      this.hal.micBuffer(b);
      if (connected) this.pump();
    }
  }

  /** Take the notified frames (dropping the last `lose` of them: lost in the air) and answer ACK/NACK. */
  pump(lose = 0): void {
    const got = this.hal.take().map(dec);
    got.splice(got.length - lose, lose);
    for (const f of got) {
      this.frames.push(f);
      if (f.type === FrameType.HELLO) this.hellos.push(f);
      if (f.type !== FrameType.WAKE && f.type !== FrameType.AUDIO && f.type !== FrameType.END) continue;
      if (!this.r) this.r = new Reassembler<Frame>(0, this.hellos[0]!.ringFrames);
      this.r.accept(f.seq, f, f.type === FrameType.END);
      for (const x of this.r.drain()) {
        if (x.type === FrameType.AUDIO) for (const v of (x as AudioFrame).samples) this.audio.push(v);
        if (x.type === FrameType.END) this.end = x as EndFrame;
      }
    }
    if (this.r && got.length > 0 && !(lose > 0)) {
      this.hal.write(enc(this.r.buildAck(this.app.uplink.stream, 0, this.app.payload)));
    }
  }

  /** Run the clock (no mic) for `ms`, answering every 20 ms. */
  run(ms: number): void {
    for (let t = 0; t < ms; t += 20) {
      this.hal.advance(20);
      this.pump();
    }
  }
}

/** Index of `needle` in `hay`, or -1. */
function find(hay: number[], needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe('firmware app: an utterance survives a reconnect (PROTOCOL.md §5)', () => {
  it('keeps capturing while the link is down and delivers every frame once after WELCOME, same nonce', () => {
    const h = new Host(puck);
    h.connect();
    h.quiet(4);
    h.app.gate.tap();
    h.loud(6);
    // The last 3 notifications before the link drops never reach the host.
    h.loud(1, false);
    h.pump(3);
    h.hal.disconnect();
    expect(h.app.uplink.active, 'the stream is kept').to.equal(true);
    h.loud(12, false); // 768 ms without a link, still capturing
    expect(h.app.gate.state).to.equal(GateState.STREAMING);
    h.connect();
    expect(h.hellos).to.have.length(2);
    expect(h.hellos[1]!.nonce, 'same nonce: the stream resumes').to.equal(h.hellos[0]!.nonce);
    h.loud(4);
    h.app.gate.tap(); // ends the utterance (END reason TAP)
    h.run(1500);
    expect(h.end, 'END arrived').to.not.equal(null);
    expect(h.r!.complete, 'every frame up to END, nothing lost').to.equal(true);
    expect(h.end!.reason).to.equal(EndReason.TAP);
    expect(h.end!.totalSamples).to.equal(h.audio.length);
    const wakes = h.frames.filter((f) => f.type === FrameType.WAKE);
    expect(new Set(wakes.map((w) => w.stream)).size, 'one stream').to.equal(1);
    // Bit-exact: the audio is one contiguous slice of the mic, spanning the disconnect.
    const at = find(h.mic, h.audio);
    expect(at, 'uplink audio is a slice of the mic samples').to.be.greaterThan(-1);
    expect(h.audio.length).to.be.greaterThan((4 + 6 + 1 + 12 + 4) * 256 - 4 * 256);
    expect(h.app.uplink.active, 'stream done').to.equal(false);
    expect(h.app.uplink.counters.overflows).to.equal(0);
  });

  it('a disconnect outlasting the ring ends the utterance with END reason ERROR and a gap the host reports', () => {
    const h = new Host(puck);
    h.connect();
    h.quiet(4);
    h.app.gate.tap();
    h.loud(6);
    const before = h.audio.length;
    h.hal.disconnect();
    h.loud(40, false); // 2.56 s > the ring (4,096 samples = 1.02 s at 4 kHz)
    h.connect();
    expect(h.hellos[1]!.nonce).to.equal(h.hellos[0]!.nonce);
    expect(h.app.gate.state, 'capture stopped').to.not.equal(GateState.STREAMING);
    h.quiet(20);
    h.run(1000);
    const end = h.end;
    expect(end, 'END arrived').to.not.equal(null);
    expect(end!.reason).to.equal(EndReason.ERROR);
    expect(h.app.uplink.counters.overflows).to.equal(1);
    const lost = h.r!.lost();
    expect(lost.length, 'the host reports the gap').to.equal(1);
    const lostFrames = lost[0]!.count;
    expect(lostFrames).to.be.greaterThan(0);
    // What arrived: the audio before the link dropped, then the newest audio the ring still held, each
    // a contiguous slice of the mic; END counts the lost samples too.
    expect(find(h.mic, h.audio.slice(0, before))).to.be.greaterThan(-1);
    const tail = h.audio.slice(before + 46 * 20); // well past any frame in flight at the disconnect
    expect(tail.length).to.be.greaterThan(46 * 16);
    expect(find(h.mic, tail)).to.be.greaterThan(-1);
    expect(end!.totalSamples).to.be.greaterThan(h.audio.length);
    expect(end!.totalSamples - h.audio.length).to.be.at.most(lostFrames * 46);
    expect(end!.totalSamples - h.audio.length).to.be.greaterThan((lostFrames - 1) * 46);
    expect(h.app.uplink.active, 'stream done').to.equal(false);
    // A new utterance starts clean afterwards.
    h.app.gate.tap();
    h.quiet(4);
    expect(h.frames.filter((f) => f.type === FrameType.WAKE).map((w) => w.stream)).to.have.length(2);
  });

  it('a lost END tail: nothing new after the reconnect, the held frames are re-sent on NACK', () => {
    const h = new Host(puck);
    h.connect();
    h.quiet(4);
    h.app.gate.tap();
    h.quiet(4);
    h.app.gate.tap(); // END TAP
    h.hal.advance(100);
    h.pump(2); // the END and the frame before it are lost with the link
    h.hal.disconnect();
    h.quiet(4, false);
    h.connect();
    h.run(1500);
    expect(h.r!.complete).to.equal(true);
    expect(h.end!.reason).to.equal(EndReason.TAP);
    expect(find(h.mic, h.audio)).to.be.greaterThan(-1);
  });

  it('a new connection with no stream in flight says HELLO with a new nonce', () => {
    const h = new Host(puck);
    h.connect();
    h.quiet(2);
    h.hal.disconnect();
    h.connect();
    expect(h.hellos).to.have.length(2);
    expect(h.hellos[1]!.nonce).to.not.equal(h.hellos[0]!.nonce);
  });

  it('playback in progress stops at the disconnect (speaker silent) and the next CREDIT reports it', () => {
    const h = new Host(puck);
    h.connect();
    for (let s = 0; s < 12; s++)
      h.hal.write(enc({ type: FrameType.PLAY, stream: 5, seq: s, samples: filled(46, 140) }));
    expect(h.hal.speaker, 'speaker started').to.not.equal(null);
    h.hal.advance(200); // some of it plays
    h.pump();
    const played = h.app.playback.played;
    h.hal.disconnect();
    expect(h.app.playback.playing, 'speaker stopped').to.equal(false);
    expect(h.app.playback.busy()).to.equal(false);
    h.connect();
    h.hal.advance(50);
    h.pump();
    const credits = h.frames.filter((f) => f.type === FrameType.CREDIT) as CreditFrame[];
    const last = credits[credits.length - 1]!;
    expect(last.stream).to.equal(5);
    expect(last.playedSamples).to.equal(played);
    // Later frames of the cut reply are dropped; a new reply plays.
    h.hal.write(enc({ type: FrameType.PLAY, stream: 5, seq: 12, samples: filled(46, 140) }));
    expect(h.app.playback.playing).to.equal(false);
  });
});
