/**
 * The BUILT firmware bundle in the simulator: an utterance survives a BLE disconnect and reconnect
 * (docs/PROTOCOL.md §5). Needs `npm run build -w firmware` first (npm test does it).
 */
import { expect } from 'chai';
import {
  Codec,
  DOWNLINK_UUID,
  EndReason,
  FrameType,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  Reassembler,
  UPLINK_UUID,
  decodeFrame,
  encodeFrame,
} from '@budlink/protocol';
import type { AudioFrame, EndFrame, Frame, HelloFrame, SeqGap, WakeFrame } from '@budlink/protocol';
import { BOARDS } from '@budlink/firmware/boards';
import { indexOfBytes, type SimulatedEarbud } from '@budlink/sim';
import { connected, earbudOn, fixture, stopAll } from '@budlink/test-support/rigs/firmware';

const SPEECH: Record<string, string> = {
  nrf52840dk: fixture('hey-budlink-weather-8k.wav'),
  puckjs: fixture('hey-budlink-timer-4k.wav'),
};

/** Run `host` in 20 ms steps until `cond` holds (at most `maxMs`). */
function runUntil(host: { run(ms: number): void }, cond: () => boolean, maxMs: number): void {
  for (let t = 0; t < maxMs && !cond(); t += 20) host.run(20);
  expect(cond(), `condition within ${maxMs} ms`).to.equal(true);
}

/**
 * Samples the ADC took that the host has not received yet (the device's backlog, as far as the host can
 * tell): right after a wake it holds the pre-roll and the detector's latency, which the link drains at
 * the difference between its rate and the mic's.
 */
function backlog(earbud: SimulatedEarbud, audio: Uint8Array): number {
  const mic = earbud.micSamples();
  const at = indexOfBytes(mic, audio);
  expect(at, 'received audio is a slice of the mic').to.be.greaterThan(-1);
  return mic.length - (at + audio.length);
}

/**
 * A host that, unlike SimHost, reports what it gave up on: one utterance stream reassembled across
 * connections with the protocol's Reassembler (window = HELLO.ringFrames, as the bridge does), ACK every
 * 8 frames, NACK at once on a gap, and the current ACK/NACK again every 150 ms.
 */
class GapHost {
  readonly hellos: HelloFrame[] = [];
  r: Reassembler<Frame> | null = null;
  stream = -1;
  wake: WakeFrame | null = null;
  end: EndFrame | null = null;
  readonly chunks: Uint8Array[] = [];
  private since = 0;
  private urgent = false;
  private lastAckAt = 0;

  constructor(readonly earbud: SimulatedEarbud) {}

  connect(): void {
    this.earbud.connect(
      { onNotify: (uuid, value) => this.onNotify(uuid, value), onDisconnect: () => undefined },
      { mtu: 247 },
    );
  }

  private write(f: Frame): void {
    const r = encodeFrame(f, 244);
    if (!r.ok) throw new Error(r.error.message);
    this.earbud.write(DOWNLINK_UUID, r.bytes);
  }

  private onNotify(uuid: string, value: Uint8Array): void {
    if (uuid !== UPLINK_UUID) return;
    const d = decodeFrame(new Uint8Array(value));
    if (!d.ok) throw new Error('undecodable uplink frame: ' + d.error.message);
    const f = d.frame;
    if (f.type === FrameType.HELLO) {
      this.hellos.push(f);
      this.write({
        type: FrameType.WELCOME,
        stream: 0,
        seq: 0,
        protoMajor: PROTOCOL_MAJOR,
        protoMinor: PROTOCOL_MINOR,
        payloadSize: Math.min(f.maxPayload, 244),
        codec: Codec.PCM_U8,
        sampleRate: f.sampleRate,
        keepAliveMs: 0,
        nonce: f.nonce,
      });
      return;
    }
    if (f.type !== FrameType.WAKE && f.type !== FrameType.AUDIO && f.type !== FrameType.END) return;
    if (!this.r) {
      this.stream = f.stream;
      this.r = new Reassembler<Frame>(0, this.hellos[0]!.ringFrames);
    }
    if (f.stream !== this.stream) return;
    const gapsBefore = this.r.gaps(1).length;
    const copy = f.type === FrameType.AUDIO ? { ...f, samples: new Uint8Array(f.samples) } : f;
    this.r.accept(f.seq, copy, f.type === FrameType.END);
    this.since++;
    if (f.type === FrameType.END || (gapsBefore === 0 && this.r.gaps(1).length > 0)) this.urgent = true;
    for (const x of this.r.drain()) {
      if (x.type === FrameType.WAKE) this.wake = x;
      else if (x.type === FrameType.AUDIO) this.chunks.push((x as AudioFrame).samples);
      else if (x.type === FrameType.END) this.end = x;
    }
  }

  /** The stream has nothing more to deliver (END and everything before it delivered or declared lost). */
  get done(): boolean {
    return this.r !== null && this.r.done;
  }

  /** Gaps the host gave up on (the device no longer held them). */
  lost(): SeqGap[] {
    return this.r ? this.r.lost() : [];
  }

  run(ms: number): void {
    for (let t = 0; t < ms; t += 20) {
      this.earbud.advance(20);
      const r = this.r;
      if (!r || !this.earbud.connected) continue;
      const now = this.earbud.now;
      if (!(this.urgent || this.since >= 8 || (now - this.lastAckAt >= 150 && !r.complete))) continue;
      this.urgent = false;
      this.since = 0;
      this.lastAckAt = now;
      this.write(r.buildAck(this.stream, 0, this.hellos[this.hellos.length - 1]!.maxPayload));
    }
  }
}

describe('firmware e2e: an utterance survives a reconnect (built bundle in the simulator)', function () {
  this.timeout(60000);
  afterEach(stopAll);

  // How long the link stays down: well within what the ring holds beyond a caught-up stream, i.e.
  // (ringBytes − 2 mic buffers) / rate: 0.77 s on puckjs (4,096 B at 4 kHz), 1.41 s on the DK.
  const DOWN_MS: Record<string, number> = { puckjs: 400, nrf52840dk: 1000 };
  for (const board of ['puckjs', 'nrf52840dk']) {
    it(`${board}: disconnect mid-utterance, ${DOWN_MS[board]} ms later a new central: every frame once, bit-exact, END`, () => {
      const { earbud, host } = connected(board);
      host.run(300);
      earbud.feedSilence(1500);
      const durMs = earbud.feedWav(SPEECH[board]!);
      earbud.feedSilence(3000);
      runUntil(host, () => host.framesOfType(FrameType.AUDIO).length >= 10, 1500 + durMs);
      // The ring holds what is not sent yet plus what the disconnect adds: wait until the link has
      // caught up with the wake's backlog (pre-roll, detector latency), then take the link away.
      const bufferSamples = BOARDS[board]!.bufferSamples;
      runUntil(host, () => backlog(earbud, host.openStreams()[0]!.audio) <= bufferSamples, 4000);
      expect(host.openStreams()[0]!.end, 'mid-utterance').to.equal(null);
      earbud.disconnect(); // the central goes away mid-utterance
      expect(earbud.connected).to.equal(false);
      earbud.advance(DOWN_MS[board]!);
      host.connect(); // a new central; the host keeps its reassembly state for the device
      runUntil(host, () => host.utterances().length === 1, 1500 + durMs + 3000 + 3000);

      const hellos = host.framesOfType(FrameType.HELLO) as HelloFrame[];
      expect(hellos.length).to.be.at.least(2);
      expect(hellos[hellos.length - 1]!.nonce, 'same nonce: a resumable session').to.equal(hellos[0]!.nonce);
      const wakes = host.framesOfType(FrameType.WAKE) as WakeFrame[];
      expect(new Set(wakes.map((w) => w.stream)).size, 'one utterance stream').to.equal(1);
      const u = host.utterances()[0]!;
      expect(u.complete).to.equal(true);
      expect(u.end, 'END received').to.not.equal(null);
      expect([EndReason.SILENCE, EndReason.MAX_LENGTH]).to.include(u.end!.reason);
      // Every AUDIO seq up to END.lastSeq was received, and the audio adds up to END.totalSamples.
      const seqs = new Set(
        (host.framesOfType(FrameType.AUDIO) as AudioFrame[])
          .filter((f) => f.stream === u.stream)
          .map((f) => f.seq),
      );
      expect(seqs.size).to.equal(u.end!.lastSeq);
      expect(u.end!.totalSamples).to.equal(u.audio.length);
      // Bit for bit: one contiguous slice of what the ADC sampled, spanning the disconnect.
      const mic = earbud.micSamples();
      const at = indexOfBytes(mic, u.audio);
      expect(at, 'uplink audio is a slice of the mic samples').to.be.greaterThan(-1);
      const rate = BOARDS[board]!.sampleRate;
      expect(u.audio.length, 'longer than the disconnect').to.be.greaterThan(
        ((DOWN_MS[board]! + 500) * rate) / 1000,
      );
      expect(earbud.stats().handlerErrors).to.equal(0);
    });
  }

  it('puckjs: a disconnect outlasting the ring ends the utterance with END reason ERROR; the host reports the gap', () => {
    const board = 'puckjs';
    const earbud = earbudOn(board);
    const host = new GapHost(earbud);
    host.connect();
    host.run(300);
    earbud.feedSilence(1500);
    const durMs = earbud.feedWav(SPEECH[board]!);
    earbud.feedSilence(3000);
    runUntil(host, () => host.chunks.length >= 10, 1500 + durMs);
    earbud.disconnect();
    earbud.advance(2000); // the ring holds 4,096 samples: 1.02 s at 4 kHz
    host.connect();
    runUntil(host, () => host.done, 8000);

    expect(host.hellos[1]!.nonce, 'same nonce: a resumable session').to.equal(host.hellos[0]!.nonce);
    expect(host.end, 'END received').to.not.equal(null);
    expect(host.end!.reason).to.equal(EndReason.ERROR);
    const lost = host.lost();
    expect(lost.length, 'the host reports one gap').to.equal(1);
    const missing = lost[0]!.count;
    expect(missing).to.be.greaterThan(0);
    // What arrived on either side of the gap is mic audio, bit for bit; END counts the lost samples.
    const mic = earbud.micSamples();
    const delivered = host.chunks.filter((c) => c.length > 0);
    for (const c of delivered) expect(indexOfBytes(mic, c), 'a slice of the mic').to.be.greaterThan(-1);
    const got = host.chunks.reduce((n, c) => n + c.length, 0);
    const per = host.hellos[0]!.maxPayload - 4;
    expect(host.end!.totalSamples - got).to.be.greaterThan((missing - 1) * per);
    expect(host.end!.totalSamples - got).to.be.at.most(missing * per);
    // The device is free again: a new utterance gets a new stream.
    expect(earbud.stats().handlerErrors).to.equal(0);
  });
});
