import { expect } from 'chai';
import {
  AssistantState,
  Capability,
  Codec,
  ConfigKey,
  ConfigOp,
  EndReason,
  ErrorCode,
  Fault,
  FrameType,
  NAME_MAX,
  PlayEndReason,
  Trigger,
  Verdict,
} from '@budlink/protocol';
import type { Frame } from '@budlink/protocol';
import { BOARDS, TX_QUEUE, drainPerSecond } from '../../../firmware/boards/index';
import type { BoardProfile } from '../../../firmware/boards/index';
import { App } from '../../../firmware/src/core/app';
import { CONTROL_QUEUE, ECHO_BIAS, TIMING } from '../../../firmware/src/core/behaviour';
import { CONFIG_FILE } from '../../../firmware/src/core/config';
import { FakeHal, dec, enc, filled, puck, tone } from './fake-hal';

/** Frames of the given type, decoded, from a batch. */
function ofType<T extends Frame>(frames: Frame[], type: number): T[] {
  return frames.filter((f) => f.type === type) as T[];
}

interface Rig {
  hal: FakeHal;
  app: App;
  /** Decoded frames notified since the last call. */
  frames(): Frame[];
  welcome(payloadSize?: number): void;
  /** n quiet mic buffers marking each sample's index: value = 126 + index % 5 (never speech). */
  counting(n: number): void;
}

function rig(board: BoardProfile = puck, setup?: (h: FakeHal) => void): Rig {
  const hal = new FakeHal();
  if (setup) setup(hal);
  const app = new App(board, hal);
  app.boot();
  let counter = 0;
  const r: Rig = {
    hal,
    app,
    frames: () => hal.take().map(dec),
    welcome: (payloadSize = board.maxPayload) => {
      hal.connect();
      hal.write(
        enc({
          type: FrameType.WELCOME,
          stream: 0,
          seq: 0,
          protoMajor: 1,
          protoMinor: 0,
          payloadSize,
          codec: Codec.PCM_U8,
          sampleRate: board.sampleRate,
          keepAliveMs: 0,
          nonce: 1,
        }),
      );
      hal.advance(200);
      hal.take();
    },
    counting: (n) => {
      for (let k = 0; k < n; k++) {
        const b = new Uint8Array(board.bufferSamples);
        for (let i = 0; i < b.length; i++) b[i] = 126 + (counter++ % 5);
        hal.micBuffer(b);
      }
    },
  };
  return r;
}

describe('firmware app: boot, HELLO, WELCOME, STATUS', () => {
  it('boots the mic at the board rate with allocated-once buffers, the watchdog, idle LEDs', () => {
    const { hal } = rig(puck);
    expect(hal.mic).to.deep.include({ rate: 4000, samples: 256 });
    expect(hal.watchdogS).to.equal(TIMING.watchdogS);
    expect(hal.leds).to.deep.equal([false, false, false]);
    hal.advance(100);
    expect(hal.kicks).to.be.greaterThan(0);
  });

  it('allocates the sample ring when the mic starts, and not at all on a board whose mic cannot', () => {
    expect(rig(puck).app.ring.buf.length).to.equal(puck.ringBytes);
    const deaf = rig(puck, (h) => (h.micError = 'pdm microphone not supported by this build'));
    expect(deaf.app.ring.buf.length).to.equal(0);
    // a tap on it still makes a (silent) utterance, with no error beyond the microphone's own
    deaf.welcome();
    deaf.hal.button?.(true, deaf.hal.t);
    deaf.hal.button?.(false, deaf.hal.t + 100);
    deaf.hal.advance(500);
    deaf.hal.button?.(true, deaf.hal.t);
    deaf.hal.button?.(false, deaf.hal.t + 100);
    const fr = drain(deaf);
    expect(fr.map((f) => f.type)).to.include.members([FrameType.WAKE, FrameType.END]);
    expect(ofType(fr, FrameType.ERROR)).to.have.length(0);
    expect(deaf.app.counters.errors).to.equal(1); // the microphone's, at boot
  });

  it('sends HELLO on connect (readable and notified), repeats it each second until WELCOME', () => {
    const { hal, frames } = rig(puck);
    hal.connect();
    hal.advance(50);
    const hello = ofType<Frame & { board: string }>(frames(), FrameType.HELLO);
    expect(hello).to.have.length(1);
    expect(hello[0]).to.deep.include({
      board: 'puckjs',
      maxPayload: 50,
      ringFrames: 16,
      sampleRate: 4000,
      protoMajor: 1,
    });
    const caps = (hello[0] as unknown as { capabilities: number }).capabilities;
    expect(caps & (Capability.TAP | Capability.VAD | Capability.PLAYBACK)).to.equal(
      Capability.TAP | Capability.VAD | Capability.PLAYBACK,
    );
    expect(dec(hal.readValue as Uint8Array).type).to.equal(FrameType.HELLO);
    hal.advance(1000);
    expect(ofType(frames(), FrameType.HELLO)).to.have.length(1);
    hal.write(
      enc({
        type: FrameType.WELCOME,
        stream: 0,
        seq: 0,
        protoMajor: 1,
        protoMinor: 0,
        payloadSize: 40,
        codec: 1,
        sampleRate: 4000,
        keepAliveMs: 0,
        nonce: 9,
      }),
    );
    hal.advance(100);
    const after = frames();
    expect(ofType(after, FrameType.CREDIT)).to.have.length(1);
    expect(ofType(after, FrameType.STATUS)).to.have.length(1);
    hal.advance(3000);
    expect(ofType(frames(), FrameType.HELLO)).to.have.length(0);
  });

  it('uses the WELCOME payload size, capped by the board', () => {
    const r = rig(puck);
    r.welcome(244);
    expect(r.app.payload).to.equal(50);
    const r2 = rig(puck);
    r2.welcome(30);
    expect(r2.app.payload).to.equal(30);
  });

  it('refuses a WELCOME of another major version with UNSUPPORTED_VERSION', () => {
    const { hal, app, frames } = rig(puck);
    hal.connect();
    hal.write(
      enc({
        type: FrameType.WELCOME,
        stream: 0,
        seq: 0,
        protoMajor: 2,
        protoMinor: 0,
        payloadSize: 50,
        codec: 1,
        sampleRate: 4000,
        keepAliveMs: 0,
        nonce: 1,
      }),
    );
    hal.advance(50);
    const e = ofType<Frame & { code: number; fault: number }>(frames(), FrameType.ERROR);
    expect(e[0]).to.deep.include({
      code: ErrorCode.UNSUPPORTED_VERSION,
      fault: Fault.UNSUPPORTED,
      refType: FrameType.WELCOME,
    });
    expect(app.welcomed).to.equal(false);
  });

  it('reports STATUS every 5 s with counters, memory, battery', () => {
    const r = rig(puck);
    r.welcome();
    r.hal.advance(5000);
    const s = ofType<Frame & { battery: number; freeVars: number; uptimeS: number }>(
      r.frames(),
      FrameType.STATUS,
    );
    expect(s).to.have.length(1);
    expect(s[0]).to.deep.include({ battery: 87, freeVars: 1000, overruns: 0, errors: 0 });
    expect(s[0]?.uptimeS).to.be.at.least(5);
  });

  it('answers PING with PONG carrying the token', () => {
    const r = rig(puck);
    r.welcome();
    r.hal.write(enc({ type: FrameType.PING, stream: 0, seq: 7, token: 0xdeadbeef }));
    r.hal.advance(50);
    expect(ofType(r.frames(), FrameType.PONG)[0]).to.deep.include({ token: 0xdeadbeef });
  });
});

/** Run the link for a while as a host that ACKs everything it receives; return all frames. */
function drain(r: Rig, ms = 3000): Frame[] {
  const out: Frame[] = [];
  for (let t = 0; t < ms; t += 100) {
    r.hal.advance(100);
    const fr = r.frames();
    out.push(...fr);
    const up = fr.filter((f) => f.type >= FrameType.WAKE && f.type <= FrameType.END);
    if (up.length) {
      const last = up[up.length - 1] as Frame;
      r.hal.write(
        enc({
          type: FrameType.ACK,
          stream: last.stream,
          seq: 0,
          cumulative: (last.seq + 1) & 0xffff,
          gaps: [],
        }),
      );
    }
  }
  return out;
}

describe('firmware app: utterance uplink', () => {
  it('a tap streams WAKE (pre-roll 500 ms) → AUDIO with the exact samples → END', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(16); // 4096 samples: indices 0..4095
    r.hal.button?.(true, r.hal.t);
    r.hal.button?.(false, r.hal.t + 100);
    r.counting(4);
    r.hal.button?.(true, r.hal.t);
    r.hal.button?.(false, r.hal.t + 100);
    const fr = drain(r);
    const wake = ofType<Frame & { preRollMs: number; wakeStart: number; wakeEnd: number }>(
      fr,
      FrameType.WAKE,
    );
    expect(wake).to.have.length(1);
    expect(wake[0]).to.deep.include({
      trigger: Trigger.TAP,
      score: 255,
      seq: 0,
      preRollMs: 500,
      wakeStart: 2000,
      wakeEnd: 2000,
      sampleRate: 4000,
    });
    const audio = ofType<Frame & { samples: Uint8Array }>(fr, FrameType.AUDIO);
    const all: number[] = [];
    audio.forEach((a, i) => {
      expect(a.seq).to.equal(i + 1);
      expect(a.stream).to.equal(wake[0]?.stream);
      expect(a.samples.length).to.be.at.most(46);
      all.push(...a.samples);
    });
    // Utterance = samples 4096 - 2000 .. 4096 + 4 × 256.
    expect(all.length).to.equal(2000 + 1024);
    all.forEach((v, i) => expect(v).to.equal(126 + ((2096 + i) % 5)));
    const end = ofType<Frame & { reason: number; lastSeq: number; totalSamples: number }>(fr, FrameType.END);
    expect(end[0]).to.deep.include({
      reason: EndReason.TAP,
      lastSeq: audio.length,
      totalSamples: 3024,
      seq: audio.length + 1,
    });
  });

  it('VAD wake: WAKE carries the speech onset as wakeStart after the pre-roll', () => {
    const r = rig(puck);
    r.welcome();
    for (let i = 0; i < 20; i++) r.hal.micBuffer(tone(256, 2));
    for (let i = 0; i < 6; i++) r.hal.micBuffer(tone(256, 40));
    r.hal.advance(500);
    const wake = ofType<Frame & { trigger: number; preRollMs: number; wakeStart: number; wakeEnd: number }>(
      r.frames(),
      FrameType.WAKE,
    );
    expect(wake).to.have.length(1);
    expect(wake[0]?.trigger).to.equal(Trigger.VAD);
    expect(wake[0]?.preRollMs).to.equal(500);
    expect(wake[0]?.wakeStart).to.equal(2000);
    // minSpeechMs(160) = 240 ms = 960 samples → 4 buffers of speech.
    expect(wake[0]?.wakeEnd).to.equal(2000 + 4 * 256);
    expect(r.app.shownState).to.equal(AssistantState.LISTENING);
    expect(r.hal.leds).to.deep.equal([false, true, false]);
  });

  it('paces notifications with a token bucket: a 6-slot queue drained once per 7.5 ms never overflows', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(16);
    r.hal.take();
    r.hal.button?.(true, r.hal.t);
    r.hal.button?.(false, r.hal.t + 10); // the tap sends the WAKE and the first frames at once
    let queued = r.hal.take().length;
    let max = queued;
    let total = queued;
    const t0 = r.hal.t;
    for (let ms = 1; ms <= 3000; ms++) {
      r.hal.advance(1);
      if (ms % 15 === 0) queued = Math.max(0, queued - 2); // one packet per 7.5 ms connection event
      const n = r.hal.take().length;
      queued += n;
      total += n;
      if (queued > max) max = queued;
    }
    expect(max, 'TX queue occupancy').to.be.at.most(TX_QUEUE);
    expect(total).to.be.greaterThan(puck.ringFrames - 1);
    // Over any span: no more than the burst plus what the link drained.
    expect(total).to.be.at.most(puck.pacing.burst + ((r.hal.t - t0) * drainPerSecond(puck)) / 1000 + 1);
  });

  it('a clock set backwards does not stall the pacer', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(16);
    r.hal.button?.(true, r.hal.t);
    r.hal.button?.(false, r.hal.t + 10);
    r.app.timer(0);
    r.hal.take();
    r.hal.t -= 100000;
    let sent = 0;
    for (let i = 0; i < 10; i++) {
      r.hal.t += puck.pacing.tickMs;
      r.app.timer(0);
      sent += r.hal.take().length;
    }
    expect(sent).to.be.greaterThan(5);
  });

  it('back-to-back ticks (a late timer) get only the tokens drained in between', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(16);
    r.hal.advance(1000); // idle: the bucket is full
    r.hal.take();
    r.hal.button?.(true, r.hal.t);
    r.hal.button?.(false, r.hal.t + 10);
    r.app.timer(0);
    const first = r.hal.take().length;
    expect(first).to.equal(puck.pacing.burst);
    r.hal.t += 1; // 1 ms later: 0.12 tokens
    r.app.timer(0);
    expect(r.hal.take().length, 'second tick right after').to.equal(0);
    r.hal.t += 20; // 2.4 more tokens
    r.app.timer(0);
    expect(r.hal.take().length).to.equal(2);
  });

  it('holds at most ringFrames unacknowledged frames; ACK frees, NACK re-sends the same bytes', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(16);
    r.hal.button?.(true, r.hal.t);
    r.hal.button?.(false, r.hal.t + 10);
    r.hal.advance(1000);
    const sent = r.hal.take();
    expect(sent.length).to.equal(puck.ringFrames + 1); // + the RTO re-send of the newest frame
    const stream = dec(sent[0] as Uint8Array).stream;
    r.hal.write(enc({ type: FrameType.NACK, stream, seq: 0, cumulative: 3, gaps: [{ start: 3, count: 2 }] }));
    r.hal.advance(puck.pacing.tickMs);
    const again = r.hal.take();
    expect(again[0]).to.deep.equal(sent[3]);
    expect(again[1]).to.deep.equal(sent[4]);
    // The NACK acknowledged 0..2: three new frames fit in the window, and no more.
    r.hal.advance(500);
    const next = again.slice(2).concat(r.hal.take()).map(dec);
    expect(next.map((f) => f.seq).slice(0, 3)).to.deep.equal([16, 17, 18]);
    expect(next.filter((f) => f.seq > 18)).to.have.length(0);
    // ACK everything sent so far: the window moves on.
    r.hal.write(enc({ type: FrameType.ACK, stream, seq: 1, cumulative: 19, gaps: [] }));
    r.hal.advance(200);
    const more = r.hal.take().map(dec);
    expect(more.length).to.be.greaterThan(0);
    expect(more[0]?.seq).to.equal(19);
  });

  it('control frames queued while streaming go out first, within a tick, also after the queue overflowed', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(16);
    r.app.gate.tap();
    r.hal.advance(puck.pacing.tickMs * 2);
    r.hal.take();
    for (let i = 0; i < CONTROL_QUEUE + 2; i++)
      r.hal.write(enc({ type: FrameType.PING, stream: 0, seq: i, token: i }));
    expect(r.app.counters.controlDropped).to.equal(2);
    r.hal.advance(puck.pacing.tickMs * 3);
    const tokens = ofType<Frame & { token: number }>(r.frames(), FrameType.PONG).map((f) => f.token);
    expect(tokens).to.deep.equal([2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 0; i < 3; i++) {
      r.counting(1); // more audio: the stream goes on
      r.hal.write(enc({ type: FrameType.PING, stream: 0, seq: 20 + i, token: 20 + i }));
      r.hal.advance(puck.pacing.tickMs);
      const fr = r.frames();
      expect(fr[0]?.type, 'PONG first').to.equal(FrameType.PONG);
      expect(ofType(fr, FrameType.PONG)).to.have.length(1);
    }
  });

  it('a notify that throws in a batch: counted, that frame held for a NACK, the next ones follow it', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(16);
    r.hal.button?.(true, r.hal.t);
    r.hal.button?.(false, r.hal.t + 10);
    r.hal.advance(1); // WAKE and the first frames at once
    const before = r.hal.take().map(dec);
    const last = before[before.length - 1] as Frame & { samples: Uint8Array };
    expect(last.type).to.equal(FrameType.AUDIO);
    r.hal.notifyThrows = true; // updateServices throws until the next batch has tried once
    for (let ms = 0; ms < 100 && !r.app.counters.notifyFailed; ms++) r.hal.advance(1);
    expect(r.app.counters.notifyFailed).to.equal(1);
    expect(r.app.uplink.window.used, 'held: what was sent and the failed frame').to.equal(before.length + 1);
    r.hal.notifyThrows = false;
    r.hal.advance(puck.pacing.tickMs * 3);
    const after = r.hal.take().map(dec);
    const failed = last.seq + 1;
    expect(after.length).to.be.greaterThan(0);
    expect(after[0]?.seq, 'the frames after the failed one follow it').to.equal(failed + 1);
    // the host NACKs the one it lacks: it is still held, rebuilt from the ring
    const stream = last.stream;
    r.hal.write(
      enc({ type: FrameType.NACK, stream, seq: 0, cumulative: failed, gaps: [{ start: failed, count: 1 }] }),
    );
    r.hal.advance(puck.pacing.tickMs);
    const again = r.hal.take().map(dec)[0] as Frame & { samples: Uint8Array };
    expect(again.seq).to.equal(failed);
    const prev = last.samples[last.samples.length - 1] as number;
    expect(again.samples[0], 'continues the audio').to.equal(126 + ((prev - 126 + 1) % 5));
    expect(r.app.counters.errors).to.equal(0);
  });

  it('re-sends the newest unacknowledged frame (END) when no ACK comes, and finishes on ACK', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(1);
    r.app.gate.tap();
    r.app.gate.tap();
    r.hal.advance(300);
    const fr = r.frames();
    const end = fr[fr.length - 1] as Frame & { lastSeq: number };
    expect(end.type).to.equal(FrameType.END);
    r.hal.advance(TIMING.rtoMs);
    const re = r.frames();
    expect(re).to.have.length(1);
    expect(re[0]).to.deep.equal(end);
    r.hal.write(enc({ type: FrameType.ACK, stream: end.stream, seq: 2, cumulative: end.seq + 1, gaps: [] }));
    expect(r.app.uplink.active).to.equal(false);
    r.app.gate.tap();
    r.hal.advance(50);
    expect(ofType(r.frames(), FrameType.WAKE)[0]?.stream).to.equal(end.stream + 1);
  });

  it('with the window full and the backlog near the ring size, drops the oldest frame (never WAKE)', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(4);
    r.app.gate.tap();
    // Only WAKE is ever acknowledged: the window stays full of AUDIO frames.
    r.hal.advance(100);
    r.hal.write(enc({ type: FrameType.ACK, stream: r.app.uplink.stream, seq: 0, cumulative: 1, gaps: [] }));
    for (let i = 0; i < 40; i++) {
      r.hal.micBuffer(tone(256, 40)); // speech: the gate stays open
      r.hal.write(enc({ type: FrameType.ACK, stream: r.app.uplink.stream, seq: 0, cumulative: 1, gaps: [] }));
    }
    const fr = r.frames();
    expect(r.app.uplink.counters.evicted).to.be.greaterThan(0);
    expect(r.app.uplink.counters.overflows).to.equal(0);
    expect(ofType(fr, FrameType.END)).to.have.length(0);
    const seqs = ofType(fr, FrameType.AUDIO).map((f) => f.seq);
    expect(Math.max(...seqs)).to.be.greaterThan(puck.ringFrames + 10);
  });

  it('abandons a stream that gets no ACK at all for 10 s, then accepts a new wake', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(1);
    r.app.gate.tap();
    r.app.gate.tap();
    r.hal.advance(TIMING.giveUpMs + 100);
    expect(r.app.uplink.active).to.equal(false);
    expect(r.app.uplink.counters.abandoned).to.equal(1);
    r.hal.take();
    r.app.gate.tap();
    r.hal.advance(100);
    expect(ofType(r.frames(), FrameType.WAKE)).to.have.length(1);
  });

  it('refuses a second wake while the previous stream awaits its ACKs', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(1);
    r.app.gate.tap();
    r.app.gate.tap();
    r.hal.advance(200);
    r.hal.take();
    r.app.gate.tap();
    r.hal.advance(200);
    expect(ofType(r.frames(), FrameType.WAKE)).to.have.length(0);
  });

  it('STATE frames from the host drive the LEDs', () => {
    const r = rig(puck);
    r.welcome();
    r.hal.write(enc({ type: FrameType.STATE, stream: 0, seq: 1, state: AssistantState.THINKING, detail: 0 }));
    expect(r.hal.leds).to.deep.equal([false, false, true]);
    r.hal.write(enc({ type: FrameType.STATE, stream: 0, seq: 2, state: AssistantState.ERROR, detail: 0 }));
    expect(r.hal.leds).to.deep.equal([true, false, false]);
    r.hal.write(enc({ type: FrameType.STATE, stream: 0, seq: 3, state: AssistantState.IDLE, detail: 0 }));
    expect(r.hal.leds).to.deep.equal([false, false, false]);
  });

  it('a second WELCOME renegotiates the payload size', () => {
    const r = rig(puck);
    r.welcome(30);
    expect(r.app.payload).to.equal(30);
    r.hal.write(
      enc({
        type: FrameType.WELCOME,
        stream: 0,
        seq: 0,
        protoMajor: 1,
        protoMinor: 0,
        payloadSize: 50,
        codec: 1,
        sampleRate: 4000,
        keepAliveMs: 0,
        nonce: 2,
      }),
    );
    expect(r.app.payload).to.equal(50);
    r.counting(4);
    r.app.gate.tap();
    r.hal.advance(200);
    const audio = ofType<Frame & { samples: Uint8Array }>(r.frames(), FrameType.AUDIO);
    expect(audio[0]?.samples.length).to.equal(46);
  });

  it('GATE reject ends the utterance with reason HOST', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(2);
    r.app.gate.tap();
    r.hal.write(
      enc({ type: FrameType.GATE, stream: r.app.uplink.stream, seq: 3, verdict: Verdict.REJECT, reason: 0 }),
    );
    r.counting(1);
    r.hal.advance(500);
    expect(ofType<Frame & { reason: number }>(r.frames(), FrameType.END)[0]?.reason).to.equal(EndReason.HOST);
  });

  it('counts overruns from buffer timestamps (late handler), never silently', () => {
    const r = rig(puck);
    r.counting(1);
    r.hal.advance(3 * 64);
    r.counting(1); // arrives 4 periods after the previous one
    expect(r.app.counters.overruns).to.equal(3);
  });

  it('keeps the stream over a disconnect (resumed after WELCOME, PROTOCOL.md §5) and says HELLO again on reconnect', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(2);
    r.app.gate.tap();
    r.hal.disconnect();
    expect(r.app.uplink.active).to.equal(true);
    r.hal.take();
    r.hal.connect();
    r.hal.advance(50);
    expect(ofType(r.frames(), FrameType.HELLO)).to.have.length(1);
  });
});

describe('firmware app: playback and credits', () => {
  // The playback logic with a 1,024-byte FIFO (the figures below are worked out for it), whatever a
  // board's own FIFO is.
  const puck: BoardProfile = { ...BOARDS.puckjs!, playbackBytes: 1024 };
  function play(r: Rig, stream: number, seq: number, n: number, v = 140): void {
    r.hal.write(enc({ type: FrameType.PLAY, stream, seq, samples: filled(n, v) }));
  }

  function playEnd(
    r: Rig,
    stream: number,
    seq: number,
    lastSeq: number,
    totalSamples: number,
    reason: number = PlayEndReason.COMPLETE,
  ): void {
    r.hal.write(enc({ type: FrameType.PLAY_END, stream, seq, reason, lastSeq, totalSamples }));
  }

  it('starts the speaker half full, credits what fits, counts played samples, ends on PLAY_END', () => {
    const r = rig(puck);
    r.hal.connect();
    r.hal.write(
      enc({
        type: FrameType.WELCOME,
        stream: 0,
        seq: 0,
        protoMajor: 1,
        protoMinor: 0,
        payloadSize: 50,
        codec: Codec.PCM_U8,
        sampleRate: 4000,
        keepAliveMs: 0,
        nonce: 1,
      }),
    );
    r.hal.advance(50);
    const credit0 = ofType<Frame & { upTo: number; freeBytes: number }>(r.frames(), FrameType.CREDIT)[0];
    expect(credit0).to.deep.include({ upTo: Math.floor(1024 / 46), freeBytes: 1024 });
    for (let s = 0; s < 12; s++) play(r, 5, s, 46); // 552 bytes ≥ half of 1024
    expect(r.hal.speaker).to.not.equal(null);
    expect(r.hal.speaker?.rate).to.equal(4000);
    expect(r.app.shownState).to.equal(AssistantState.SPEAKING);
    expect(r.app.vad.bias).to.equal(ECHO_BIAS);
    const pb = r.app.playback;
    expect([pb.stream, pb.expected, pb.fifo.free(), pb.played]).to.deep.equal([5, 12, 1024 - 552, 0]);
    playEnd(r, 5, 12, 11, 552);
    const buf = new Uint8Array(128);
    for (let i = 0; i < 8 && r.hal.speaker; i++) r.hal.sink!.onSpeaker(buf);
    expect(r.hal.speaker).to.equal(null);
    expect(r.app.vad.bias).to.equal(1);
    expect(r.app.playback.played).to.equal(552);
    r.hal.advance(100);
    const credits = ofType<Frame & { playedSamples: number }>(r.frames(), FrameType.CREDIT);
    expect(credits[credits.length - 1]?.playedSamples).to.equal(552);
    // The last CREDIT: everything played, the FIFO empty.
    expect({ ...credits[credits.length - 1], seq: 0 }).to.deep.equal({
      type: FrameType.CREDIT,
      stream: 5,
      seq: 0,
      upTo: 12 + Math.floor(1024 / 46),
      freeBytes: 1024,
      playedSamples: 552,
    });
  });

  it('the first buffers, filled inside startOutput as the device HAL does, earn one CREDIT sent after it', () => {
    // Puck.js's own 512-byte FIFO: each 128-sample buffer frees a quarter of it. Building CREDITs inside
    // the speaker start (the PLAY write handler's deepest stack) ran the real interpreter out of memory.
    let inStart = false;
    let queuedInStart = 0;
    const r = rig(BOARDS.puckjs!, (h) => {
      const start = h.startSpeaker.bind(h);
      h.startSpeaker = (rate, samples) => {
        const err = start(rate, samples);
        inStart = true;
        h.sink!.onSpeaker(new Uint8Array(samples));
        h.sink!.onSpeaker(new Uint8Array(samples));
        inStart = false;
        return err;
      };
    });
    r.welcome();
    r.frames();
    const ports = r.app.playback['ports'];
    const sendRaw = ports.sendRaw.bind(ports);
    ports.sendRaw = (b: Uint8Array) => {
      if (inStart) queuedInStart++;
      sendRaw(b);
    };
    for (let s = 0; s < 6; s++) play(r, 3, s, 46); // 276 bytes ≥ half of 512: the speaker starts
    expect(r.hal.speaker).to.not.equal(null);
    r.hal.advance(100);
    const credits = ofType<Frame & { freeBytes: number }>(r.frames(), FrameType.CREDIT);
    expect(queuedInStart).to.equal(0);
    // the stream's opening CREDIT, then one for both primed buffers
    expect(credits.map((c) => c.freeBytes)).to.deep.equal([512, 512 - 276 + 256]);
  });

  it('NACKs a gap once and ignores duplicates', () => {
    const r = rig(puck);
    r.welcome();
    play(r, 1, 0, 46);
    play(r, 1, 0, 46);
    play(r, 1, 3, 46);
    play(r, 1, 4, 46);
    r.hal.advance(50);
    const nacks = ofType<Frame & { cumulative: number; gaps: { start: number; count: number }[] }>(
      r.frames(),
      FrameType.NACK,
    );
    expect(nacks).to.have.length(1);
    expect(nacks[0]).to.deep.include({ stream: 1, cumulative: 1 });
    expect(nacks[0]?.gaps).to.deep.equal([{ start: 1, count: 2 }]);
    expect(r.app.playback.fifo.length).to.equal(46);
  });

  it('asks again for a hole that stays open: a NACK on every 2nd frame past it', () => {
    const r = rig(puck);
    r.welcome();
    play(r, 1, 0, 46);
    // Frame 1 is lost, and so is its re-send: the frames past it (the host's credit probe repeats
    // its last PLAY) keep the hole in view.
    for (const seq of [2, 3, 4, 4, 4]) play(r, 1, seq, 46);
    r.hal.advance(50);
    const nacks = ofType<Frame & { cumulative: number }>(r.frames(), FrameType.NACK);
    expect(nacks.map((n) => n.cumulative)).to.deep.equal([1, 1, 1]);
    play(r, 1, 1, 46); // the hole filled: nothing more to ask
    play(r, 1, 3, 46);
    r.hal.advance(50);
    expect(ofType(r.frames(), FrameType.NACK)).to.have.length(1); // frame 2 is now the hole
  });

  it('answers a repeat of the last PLAY accepted with a CREDIT (the host asking again), older repeats with nothing', () => {
    const r = rig(puck);
    r.welcome();
    for (let s = 0; s < 3; s++) play(r, 2, s, 46);
    r.hal.advance(50);
    r.frames(); // the stream's CREDIT was lost
    play(r, 2, 2, 46);
    r.hal.advance(50);
    const c = ofType<Frame & { upTo: number; freeBytes: number }>(r.frames(), FrameType.CREDIT);
    expect(c).to.have.length(1);
    expect(c[0]).to.deep.include({
      stream: 2,
      upTo: 3 + Math.floor((1024 - 138) / 46),
      freeBytes: 1024 - 138,
    });
    play(r, 2, 1, 46);
    r.hal.advance(50);
    expect(r.frames()).to.deep.equal([]);
    expect(r.app.playback.fifo.length).to.equal(138);
  });

  it('refuses PLAY beyond the free space with an OVERFLOW error (host ignored credit)', () => {
    const r = rig(BOARDS.nrf52840dk as BoardProfile);
    r.welcome();
    const fifo = r.app.playback.fifo;
    let s = 0;
    // Fill without letting the speaker drain.
    while (fifo.free() >= 124) play(r, 2, s++, 124);
    play(r, 2, s, 124);
    r.hal.advance(50);
    const e = ofType<Frame & { code: number; refType: number }>(r.frames(), FrameType.ERROR);
    expect(e[0]).to.deep.include({ code: ErrorCode.OVERFLOW, refType: FrameType.PLAY });
    expect(r.app.counters.refused).to.equal(1);
  });

  it('applies VOLUME with the LUT as frames arrive', () => {
    const r = rig(puck);
    r.welcome();
    r.hal.write(
      enc({
        type: FrameType.CONFIG,
        stream: 0,
        seq: 1,
        op: ConfigOp.SET,
        key: ConfigKey.VOLUME,
        value: new Uint8Array([51]),
      }),
    );
    play(r, 1, 0, 10, 178); // +50 → +10
    const out = new Uint8Array(10);
    r.app.playback.fifo.pop(out);
    expect(Array.from(out)).to.deep.equal(new Array(10).fill(138));
  });

  it('PLAY_END with frames missing NACKs them and finishes once they arrive', () => {
    const r = rig(puck);
    r.welcome();
    play(r, 3, 0, 46);
    play(r, 3, 1, 46);
    playEnd(r, 3, 4, 3, 184);
    r.hal.advance(50);
    const nack = ofType<Frame & { cumulative: number; gaps: { start: number; count: number }[] }>(
      r.frames(),
      FrameType.NACK,
    );
    expect(nack[0]).to.deep.include({ stream: 3, cumulative: 2 });
    expect(nack[0]?.gaps).to.deep.equal([{ start: 2, count: 2 }]);
    play(r, 3, 2, 46);
    play(r, 3, 3, 46);
    playEnd(r, 3, 4, 3, 184);
    expect(r.hal.speaker).to.not.equal(null);
    const buf = new Uint8Array(128);
    for (let i = 0; i < 6 && r.hal.speaker; i++) r.hal.sink!.onSpeaker(buf);
    expect(r.hal.speaker).to.equal(null);
    expect(r.app.playback.played).to.equal(184);
  });

  it('fills underruns with silence (128) and counts them', () => {
    const r = rig(puck);
    r.welcome();
    for (let s = 0; s < 12; s++) play(r, 4, s, 46, 200);
    const buf = new Uint8Array(128);
    for (let i = 0; i < 5; i++) r.hal.sink!.onSpeaker(buf); // 640 samples asked, 552 queued: the 5th gets 40
    expect([buf[39], buf[40], buf[127]]).to.deep.equal([200, 128, 128]);
    expect(r.app.playback.underruns).to.equal(0);
    r.hal.sink!.onSpeaker(buf);
    expect(buf.every((v) => v === 128)).to.equal(true);
    expect(r.app.playback.underruns).to.equal(1);
    expect(r.hal.speaker).to.not.equal(null); // no PLAY_END yet: keeps playing silence
  });

  it('re-sends CREDIT while the speaker starves, so a lost one cannot stall the reply', () => {
    const r = rig(puck);
    r.welcome();
    for (let s = 0; s < 12; s++) play(r, 4, s, 46);
    const buf = new Uint8Array(128);
    for (let i = 0; i < 5; i++) r.hal.sink!.onSpeaker(buf); // 552 of 640 samples: all played
    r.hal.advance(50);
    r.frames(); // every CREDIT so far lost on the link: the host waits for credit it never saw
    const credits = (): (Frame & { upTo: number; freeBytes: number })[] =>
      ofType<Frame & { upTo: number; freeBytes: number }>(r.frames(), FrameType.CREDIT);
    r.hal.sink!.onSpeaker(buf); // the first empty buffer says it again
    r.hal.advance(50);
    const again = credits();
    expect(again).to.have.length(1);
    expect(again[0]).to.deep.include({ stream: 4, upTo: 12 + Math.floor(1024 / 46), freeBytes: 1024 });
    for (let i = 0; i < 3; i++) r.hal.sink!.onSpeaker(buf); // then every 4th, not every buffer
    r.hal.advance(50);
    expect(credits()).to.have.length(0);
    r.hal.sink!.onSpeaker(buf);
    r.hal.advance(50);
    expect(credits()).to.have.length(1);
    expect(r.app.playback.underruns).to.equal(5);
  });

  it('a board without a speaker refuses PLAY with BAD_STATE', () => {
    const r = rig({ ...puck, speaker: null });
    r.welcome();
    play(r, 1, 0, 10);
    r.hal.advance(50);
    expect(ofType<Frame & { code: number }>(r.frames(), FrameType.ERROR)[0]).to.deep.include({
      code: ErrorCode.BAD_STATE,
      refType: FrameType.PLAY,
    });
  });

  it('barge-in: a tap while speaking stops playback at once and starts a new utterance', () => {
    const r = rig(puck);
    r.welcome();
    r.counting(4);
    for (let s = 0; s < 12; s++) play(r, 7, s, 46);
    r.hal.sink!.onSpeaker(new Uint8Array(128));
    r.hal.sink!.onSpeaker(new Uint8Array(128));
    r.hal.sink!.onSpeaker(new Uint8Array(128)); // first buffer (128 samples) has played
    r.hal.take();
    r.hal.button?.(true, r.hal.t);
    r.hal.button?.(false, r.hal.t + 50);
    expect(r.hal.speaker).to.equal(null);
    r.hal.advance(100);
    const fr = r.frames();
    const types = fr.map((f) => f.type);
    expect(types.indexOf(FrameType.CREDIT)).to.be.lessThan(types.indexOf(FrameType.WAKE));
    const credit = ofType<Frame & { playedSamples: number }>(fr, FrameType.CREDIT);
    expect(credit[credit.length - 1]).to.deep.include({ stream: 7, playedSamples: 128 });
    expect(ofType(fr, FrameType.PLAY_END)).to.have.length(0);
    // The host's PLAY_END CANCELLED for it is accepted silently.
    playEnd(r, 7, 12, 11, 552, PlayEndReason.CANCELLED);
    r.hal.advance(100);
    expect(ofType(r.frames(), FrameType.ERROR)).to.have.length(0);
    expect(ofType(fr, FrameType.WAKE)).to.have.length(1);
    // Late frames of the cancelled reply are dropped.
    play(r, 7, 12, 46);
    expect(r.app.playback.fifo.length).to.equal(0);
  });
});

describe('firmware app: CONFIG', () => {
  function cfg(r: Rig, op: number, key: number, value: number[]): Frame[] {
    r.hal.write(enc({ type: FrameType.CONFIG, stream: 0, seq: 1, op, key, value: new Uint8Array(value) }));
    r.hal.advance(50);
    return r.frames();
  }

  it('SET validates, applies, persists and answers VALUE; GET reads back', () => {
    const r = rig(puck);
    r.welcome();
    const f = cfg(r, ConfigOp.SET, ConfigKey.HANGOVER_MS, [0x20, 0x03]); // 800
    expect(ofType(f, FrameType.CONFIG)[0]).to.deep.include({
      op: ConfigOp.VALUE,
      key: ConfigKey.HANGOVER_MS,
    });
    expect(r.app.gate.options.hangoverMs).to.equal(800);
    expect(JSON.parse(r.hal.files[CONFIG_FILE] as string).hangoverMs).to.equal(800);
    const g = ofType<Frame & { value: Uint8Array }>(
      cfg(r, ConfigOp.GET, ConfigKey.HANGOVER_MS, []),
      FrameType.CONFIG,
    );
    expect(Array.from(g[0]?.value ?? [])).to.deep.equal([0x20, 0x03]);
  });

  it('refuses out-of-range values, wrong widths and unknown keys with BAD_FIELD, changing nothing', () => {
    const r = rig(puck);
    r.welcome();
    for (const [key, value] of [
      [ConfigKey.HANGOVER_MS, [10, 0]],
      [ConfigKey.SAMPLE_RATE, [0x70, 0x17]], // 6000 Hz: 500 ms pre-roll no longer fits the ring
      [ConfigKey.SAMPLE_RATE, [0x80, 0x3e]], // 16000 Hz: over 2× the board default
      [ConfigKey.PREROLL_MS, [0x10, 0x27]], // 10000 ms: ring too small
      [ConfigKey.VAD_THRESHOLD, [3]],
      [99, [1]],
    ] as [number, number[]][]) {
      const f = cfg(r, ConfigOp.SET, key, value);
      expect(ofType<Frame & { code: number }>(f, FrameType.ERROR)[0]?.code, 'key ' + key).to.equal(
        ErrorCode.BAD_FIELD,
      );
    }
    expect(r.app.config.hangoverMs).to.equal(1200);
    expect(r.app.config.preRollMs).to.equal(500);
    expect(r.app.config.sampleRate).to.equal(4000);
    // A value of the wrong width never reaches the config: the decoder refuses it.
    r.hal.write(new Uint8Array([FrameType.CONFIG, 0, 2, 0, ConfigOp.SET, ConfigKey.HANGOVER_MS, 10]));
    r.hal.advance(50);
    expect(ofType<Frame & { code: number }>(r.frames(), FrameType.ERROR)).to.have.length(1);
    expect(r.app.config.hangoverMs).to.equal(1200);
  });

  it('a sample-rate change restarts the mic; NAME renames the advertisement', () => {
    const r = rig(BOARDS.nrf52840dk as BoardProfile);
    r.welcome();
    cfg(r, ConfigOp.SET, ConfigKey.SAMPLE_RATE, [0x70, 0x17]); // 6000
    expect(r.hal.mic?.rate).to.equal(6000);
    expect(r.hal.micStarts).to.equal(2);
    cfg(
      r,
      ConfigOp.SET,
      ConfigKey.NAME,
      Array.from('Bud 2').map((c) => c.charCodeAt(0)),
    );
    expect(r.hal.advName).to.equal('Bud 2');
  });

  it('GET NAME answers a VALUE the host decodes on every board (the default name fits NAME_MAX)', () => {
    // Found by test/fuzz: the nRF52840 DK's default name "Budlink nrf52840dk" is 18 bytes, over
    // NAME_MAX, so its CONFIG VALUE was a frame the host refuses (BAD_LENGTH).
    for (const board of Object.values(BOARDS)) {
      const r = rig(board);
      r.welcome();
      r.hal.write(new Uint8Array([FrameType.CONFIG, 0, 1, 0, ConfigOp.GET, ConfigKey.NAME]));
      r.hal.advance(50);
      const value = ofType<Frame & { value: Uint8Array }>(r.frames(), FrameType.CONFIG)[0]?.value;
      expect(value?.length, board.id).to.be.within(1, NAME_MAX);
    }
  });

  it('boots from persisted config, ignoring invalid or corrupt fields', () => {
    const r = rig(puck, (h) => {
      h.files[CONFIG_FILE] = JSON.stringify({ hangoverMs: 900, vadThreshold: 2, name: 'X' });
    });
    expect(r.app.config.hangoverMs).to.equal(900);
    expect(r.app.config.vadThreshold).to.equal(48);
    expect(r.app.config.name).to.equal('X');
    expect(r.hal.advName).to.equal('X');
    const bad = rig(puck, (h) => {
      h.files[CONFIG_FILE] = '{not json';
    });
    expect(bad.app.config.hangoverMs).to.equal(1200);
  });

  it('reports a failed save as an INTERNAL error but keeps the new value', () => {
    const r = rig(puck);
    r.welcome();
    r.hal.storeFails = true;
    const f = cfg(r, ConfigOp.SET, ConfigKey.VOLUME, [100]);
    expect(ofType<Frame & { code: number }>(f, FrameType.ERROR)[0]?.code).to.equal(ErrorCode.INTERNAL);
    expect(r.app.config.volume).to.equal(100);
  });
});

describe('firmware app: malformed frames and handler errors', () => {
  it('refuses malformed bytes with the decoder’s typed error, never throwing', () => {
    const r = rig(puck);
    r.welcome();
    const cases: [Uint8Array, number, number][] = [
      [new Uint8Array([0x0f, 0]), ErrorCode.TRUNCATED, 0x0f],
      [new Uint8Array([0x3f, 0, 0, 0]), ErrorCode.UNKNOWN_TYPE, 0x3f],
      [new Uint8Array(60).fill(4), ErrorCode.TOO_LONG, 4],
      [new Uint8Array([FrameType.PING, 0, 0, 0, 1]), ErrorCode.TRUNCATED, FrameType.PING],
    ];
    for (const [bytes, code, ref] of cases) {
      expect(() => r.hal.write(bytes)).to.not.throw();
      r.hal.advance(50);
      const e = ofType<Frame & { code: number; refType: number; fault: number }>(r.frames(), FrameType.ERROR);
      expect(e[0], 'bytes ' + Array.from(bytes.subarray(0, 4))).to.deep.include({ code, refType: ref });
    }
    expect(r.app.counters.refused).to.equal(cases.length);
    // A malformed ERROR is dropped without an answer (no error loops).
    r.hal.write(new Uint8Array([FrameType.ERROR, 0, 0]));
    r.hal.advance(50);
    expect(r.frames()).to.have.length(0);
    expect(r.app.counters.refused).to.equal(cases.length + 1);
  });

  it('refuses frames not allowed in the current state (PLAY before WELCOME, device-only types)', () => {
    const r = rig(puck);
    r.hal.connect();
    r.hal.write(enc({ type: FrameType.PLAY, stream: 1, seq: 0, samples: new Uint8Array(4) }));
    r.hal.advance(100);
    expect(ofType<Frame & { code: number }>(r.frames(), FrameType.ERROR)[0]).to.deep.include({
      code: ErrorCode.BAD_STATE,
      refType: FrameType.PLAY,
    });
    r.welcome();
    r.hal.write(enc({ type: FrameType.AUDIO, stream: 1, seq: 0, samples: new Uint8Array(4) }));
    r.hal.advance(100);
    expect(ofType<Frame & { code: number }>(r.frames(), FrameType.ERROR)[0]).to.deep.include({
      code: ErrorCode.BAD_STATE,
      refType: FrameType.AUDIO,
    });
  });

  it('catches a handler exception, counts it, reports ERROR INTERNAL and keeps running', () => {
    const r = rig(puck);
    r.welcome();
    const sum = r.hal.sum;
    r.hal.sum = () => {
      throw new Error('boom');
    };
    r.counting(1);
    r.hal.sum = sum;
    r.counting(1);
    r.hal.advance(50);
    const e = ofType<Frame & { code: number; fault: number; message: string }>(r.frames(), FrameType.ERROR);
    expect(e[0]).to.deep.include({ code: ErrorCode.INTERNAL, fault: Fault.INTERNAL });
    expect(e[0]?.message).to.contain('boom');
    expect(r.app.counters.errors).to.equal(1);
    expect(r.app.ring.written).to.equal(512);
  });
});
