/**
 * The BUILT firmware bundle (firmware/dist/<board>.min.js) in the simulator, end to end against a test
 * host speaking the protocol. Needs `npm run build -w firmware` first (npm test does it).
 */
import { expect } from 'chai';
import { EndReason, ErrorCode, Fault, FrameType, PlayEndReason, Trigger, seqDiff } from '@budlink/protocol';
import type { CreditFrame, ErrorFrame, Frame, WakeFrame } from '@budlink/protocol';
import { BOARDS } from '@budlink/firmware/boards';
import { readWav } from '@budlink/protocol/audio';
import { indexOfBytes, noise, type SimHost, type SimulatedEarbud } from '@budlink/sim';
import { connected, earbudOn, fixture, stopAll } from '@budlink/test-support/rigs/firmware';

const SPEECH_8K = fixture('hey-budlink-weather-8k.wav');
const SPEECH_4K = fixture('hey-budlink-timer-4k.wav');
const REPLY_8K = fixture('reply-sunny-8k-u8.wav');

function boot(
  board: string,
  link?: { dropRate?: number; seed?: number },
): { earbud: SimulatedEarbud; host: SimHost } {
  const { earbud, host } = connected(board, { link });
  host.run(300); // HELLO -> WELCOME -> CREDIT/STATUS
  expect(host.hello, 'HELLO after connect').to.not.equal(null);
  return { earbud, host };
}

/** First index where the signal leaves digital silence by more than `thr` (8-bit). */
function onset(mic: Uint8Array, from: number, thr = 4): number {
  for (let i = from; i < mic.length; i++) if (Math.abs(mic[i]! - 128) > thr) return i;
  return -1;
}

describe('firmware e2e (built bundle in the simulator)', function () {
  this.timeout(60000);
  afterEach(stopAll);

  for (const [board, wav] of [
    ['nrf52840dk', SPEECH_8K],
    ['puckjs', SPEECH_4K],
  ] as const) {
    it(`${board}: speech streams as WAKE + AUDIO + END, bit-exact with pre-roll`, () => {
      const { earbud, host } = boot(board);
      earbud.feedSilence(1500);
      const micStart =
        earbud.micSamples().length +
        earbud.pendingAudioSamples() -
        Math.round(1.5 * BOARDS[board]!.sampleRate);
      const durMs = earbud.feedWav(wav);
      earbud.feedSilence(3000);
      host.run(1500 + durMs + 3000 + 1500);

      const wakes = host.framesOfType(FrameType.WAKE) as WakeFrame[];
      expect(new Set(wakes.map((w) => w.stream)).size, 'one utterance stream').to.equal(1);
      expect([Trigger.WAKEWORD, Trigger.VAD]).to.include(wakes[0]!.trigger);
      const utts = host.utterances();
      expect(utts.length, 'one complete utterance').to.equal(1);
      const u = utts[0]!;
      expect(u.end!.reason).to.equal(EndReason.SILENCE);
      expect(u.end!.totalSamples).to.equal(u.audio.length);
      // Bit for bit: the uplink audio is a contiguous slice of what the ADC sampled.
      const mic = earbud.micSamples();
      const at = indexOfBytes(mic, u.audio);
      expect(at, 'uplink audio is a slice of the mic samples').to.be.greaterThan(-1);
      // Pre-roll: the stream starts before the speech does, by the WAKE's pre-roll at most.
      const speech = onset(mic, Math.max(0, micStart));
      expect(speech).to.be.greaterThan(0);
      expect(u.wake.preRollMs).to.be.greaterThan(0);
      expect(at, 'stream begins before the speech onset').to.be.lessThan(speech);
      const rate = BOARDS[board]!.sampleRate;
      expect(speech - at, 'no more than the pre-roll before onset').to.be.at.most(
        Math.ceil((u.wake.preRollMs * rate) / 1000) + BOARDS[board]!.bufferSamples,
      );
      // The whole clip is inside the utterance.
      expect(at + u.audio.length).to.be.greaterThan(speech + (durMs * rate) / 1000 - 2 * rate * 0.3);
      expect(earbud.stats().handlerErrors).to.equal(0);
    });
  }

  it('silence, then stationary noise: nothing is streamed', () => {
    const { earbud, host } = boot('nrf52840dk');
    earbud.feedSilence(3000);
    earbud.feedAudio(noise(8000 * 4, 1200, 7), 8000);
    host.run(7500);
    expect(host.framesOfType(FrameType.WAKE)).to.have.length(0);
    expect(host.framesOfType(FrameType.AUDIO)).to.have.length(0);
    expect(host.hello).to.not.equal(null);
  });

  it('a tap opens the gate: WAKE (tap) and AUDIO frames follow', () => {
    const { earbud, host } = boot('nrf52840dk');
    earbud.feedSilence(500);
    host.run(500);
    earbud.pressButton(120);
    earbud.feedAudio(noise(8000, 6000, 3), 8000);
    host.run(1500);
    const wakes = host.framesOfType(FrameType.WAKE) as WakeFrame[];
    expect(wakes).to.have.length(1);
    expect(wakes[0]!.trigger).to.equal(Trigger.TAP);
    expect(host.framesOfType(FrameType.AUDIO).length).to.be.greaterThan(5);
    // LISTENING lights the second LED (the DK's LEDs are negated in software: 1 lights them).
    expect(earbud.leds().LED2).to.equal(1);
  });

  it('10% of notifications dropped: after NACKs the host holds every frame, bit-exact', () => {
    const { earbud, host } = boot('nrf52840dk', { dropRate: 0.1, seed: 42 });
    earbud.feedSilence(1500);
    const durMs = earbud.feedWav(SPEECH_8K);
    earbud.feedSilence(3000);
    host.run(1500 + durMs + 3000 + 4000);
    const utts = host.utterances();
    expect(utts.length, `complete utterances (open: ${host.openStreams().length})`).to.equal(1);
    const u = utts[0]!;
    expect(indexOfBytes(earbud.micSamples(), u.audio)).to.be.greaterThan(-1);
    expect(u.end!.totalSamples).to.equal(u.audio.length);
    expect(earbud.stats().notificationsLost, 'the link did lose notifications').to.be.greaterThan(0);
    expect(host.nacksSent, 'the host asked for the gaps').to.be.greaterThan(0);
  });

  it('PLAY frames paced by CREDIT come out of the speaker sample for sample', () => {
    const { earbud, host } = boot('nrf52840dk');
    const reply = readWav(REPLY_8K).samples as Uint8Array;
    const per = host.payload - 4;
    const stream = 5;
    let next = 0;
    const total = Math.ceil(reply.length / per);
    let endSent = false;
    for (let step = 0; step < 400 && !endSent; step++) {
      const credits = host.frames.filter(
        (f) => f.type === FrameType.CREDIT && f.stream === stream,
      ) as CreditFrame[];
      const upTo = credits.length > 0 ? credits[credits.length - 1]!.upTo : 0;
      let sent = 0;
      while (next < total && seqDiff(next, upTo) < 0 && sent < 4) {
        host.send({
          type: FrameType.PLAY,
          stream,
          seq: next,
          samples: reply.subarray(next * per, (next + 1) * per),
        });
        next++;
        sent++;
      }
      if (next === 0 && credits.length === 0) {
        // First frame opens the stream (its CREDIT follows).
        host.send({ type: FrameType.PLAY, stream, seq: 0, samples: reply.subarray(0, per) });
        next = 1;
      }
      if (next === total) {
        host.send({
          type: FrameType.PLAY_END,
          stream,
          seq: total - 1,
          reason: PlayEndReason.COMPLETE,
          lastSeq: total - 1,
          totalSamples: reply.length,
        });
        endSent = true;
      }
      host.run(20);
    }
    expect(endSent).to.equal(true);
    host.run(2500);
    const spk = earbud.speakerSamples();
    expect(spk.length).to.be.at.least(reply.length);
    expect(indexOfBytes(spk, reply), 'the reply is played contiguously and unchanged').to.be.greaterThan(-1);
    const last = host.frames.filter(
      (f) => f.type === FrameType.CREDIT && f.stream === stream,
    ) as CreditFrame[];
    expect(last[last.length - 1]!.playedSamples).to.be.at.least(reply.length);
    expect(host.framesOfType(FrameType.ERROR)).to.have.length(0);
  });

  it('garbage from the host gets ERROR frames and the program keeps running', () => {
    const { earbud, host } = boot('puckjs');
    const garbage = [
      new Uint8Array([]),
      new Uint8Array([0x00]),
      new Uint8Array([0xff, 1, 2, 3, 4]),
      new Uint8Array([FrameType.ACK, 0, 0]),
      new Uint8Array([FrameType.GATE, 1, 0, 0, 9, 9]),
      new Uint8Array([FrameType.CONFIG, 0, 0, 0, 2, 99, 1]),
      new Uint8Array([FrameType.AUDIO, 0, 0, 0, 128, 128]),
    ];
    for (const g of garbage) host.earbud.write('b1d10003-5a1e-4c6e-9a3b-6275646c6e6b', g);
    host.run(600);
    const errors = host.framesOfType(FrameType.ERROR) as ErrorFrame[];
    expect(errors.length).to.be.at.least(garbage.length - 1);
    for (const e of errors) expect(e.fault).to.equal(Fault.PEER);
    expect(errors.map((e) => e.code)).to.include(ErrorCode.TRUNCATED);
    // Still alive: PING -> PONG, and a tap still streams.
    host.send({ type: FrameType.PING, stream: 0, seq: host.nextSeq(), token: 77 });
    host.run(200);
    const pongs = host.framesOfType(FrameType.PONG) as Frame[];
    expect(pongs.map((p) => (p as { token: number }).token)).to.include(77);
    expect(earbud.stats().handlerErrors).to.equal(0);
  });

  for (const id of Object.keys(BOARDS)) {
    it(`${id}: boots within its JsVar budget`, () => {
      const earbud = earbudOn(id);
      earbud.advance(2000);
      const s = earbud.stats();
      expect(s.outOfMemory).to.equal(0);
      expect(s.handlerErrors).to.equal(0);
      expect(s.bootJsVars).to.be.greaterThan(200);
      expect(s.jsVarsUsed).to.be.at.most(BOARDS[id]!.jsVars);
      expect(earbud.advertisedServices()).to.have.length(1);
    });
  }
});
