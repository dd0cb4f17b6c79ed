import { expect } from 'chai';
import { EndReason, Trigger } from '@budlink/protocol';
import { Vad, VAD_DEFAULTS } from '../../../firmware/src/core/vad';
import { Gate, GateState, VadWakeDetector } from '../../../firmware/src/core/gate';
import type { WakeHit } from '../../../firmware/src/core/gate';
import { SampleRing, ByteFifo } from '../../../firmware/src/core/ring';
import { FakeHal, tone } from './fake-hal';

describe('firmware VAD', () => {
  const dsp = new FakeHal();

  it('uses E.variance semantics: energy is the mean square deviation', () => {
    const v = new Vad(dsp, VAD_DEFAULTS);
    v.process(tone(256, 10), 256);
    expect(v.energy).to.equal(100);
  });

  it('adapts its floor down to a quiet room and flags speech well above it', () => {
    const v = new Vad(dsp, { threshold: 48, minEnergy: 4, initialFloor: 400 });
    for (let i = 0; i < 5; i++) expect(v.process(tone(256, 3), 256)).to.equal(false);
    expect(v.floor).to.be.closeTo(9, 0.001);
    expect(v.process(tone(256, 20), 256)).to.equal(true); // 400 > 9 × 3
  });

  it('a step in background noise stops counting as speech once the floor catches up', () => {
    const v = new Vad(dsp, { threshold: 48, minEnergy: 4, initialFloor: 9 });
    let speech = 0;
    let lastSpeech = -1;
    for (let i = 0; i < 400; i++) {
      if (v.process(tone(256, 12), 256)) {
        speech++;
        lastSpeech = i;
      }
    }
    expect(speech).to.be.greaterThan(0);
    expect(lastSpeech).to.be.lessThan(399);
    expect(v.process(tone(256, 12), 256)).to.equal(false);
  });

  it('the echo bias raises the bar while the speaker plays', () => {
    const v = new Vad(dsp, { threshold: 48, minEnergy: 4, initialFloor: 9 });
    v.bias = 4;
    expect(v.process(tone(256, 8), 256)).to.equal(false); // 64 vs 9 × 3 × 4 = 108
    expect(v.process(tone(256, 20), 256)).to.equal(true); // 400
  });

  it('never calls near-silence speech (absolute minimum energy)', () => {
    const v = new Vad(dsp, { threshold: 17, minEnergy: 4, initialFloor: 0.01 });
    expect(v.process(tone(256, 1), 256)).to.equal(false);
    expect(v.floor).to.be.at.least(4);
  });
});

describe('firmware wake gate', () => {
  const rate = 4000;
  function make(onWake: (h: WakeHit) => boolean = () => true) {
    const wakes: WakeHit[] = [];
    const ends: [number, number][] = [];
    const gate = new Gate(
      new VadWakeDetector(600),
      { rate: rate, hangoverMs: 500, maxUtteranceMs: 3000, candidateQuietBuffers: 2 },
      {
        onWake: (h) => {
          wakes.push(h);
          return onWake(h);
        },
        onEnd: (r, e) => ends.push([r, e]),
      },
    );
    let at = 0;
    const feed = (speech: boolean, n = 256) => {
      at += n;
      gate.onBuffer(new Uint8Array(n), speech, at, n);
    };
    return { gate, wakes, ends, feed, pos: () => at };
  }

  it('listening → candidate → streaming after sustained speech, with the onset as wakeStart', () => {
    const g = make();
    g.feed(false);
    g.feed(true);
    expect(g.gate.state).to.equal(GateState.CANDIDATE);
    g.feed(true);
    expect(g.gate.state).to.equal(GateState.CANDIDATE);
    g.feed(true); // 768 speech samples >= 600
    expect(g.gate.state).to.equal(GateState.STREAMING);
    expect(g.wakes).to.have.length(1);
    expect(g.wakes[0]).to.deep.include({ trigger: Trigger.VAD, startSample: 256, endSample: 1024 });
    expect(g.wakes[0]?.score).to.equal(255);
  });

  it('drops a candidate after quiet buffers (a click does not open the gate)', () => {
    const g = make();
    g.feed(true);
    g.feed(false);
    g.feed(false);
    expect(g.gate.state).to.equal(GateState.LISTENING);
    expect(g.wakes).to.have.length(0);
  });

  it('ends on silence after the hangover, reporting the end sample', () => {
    const g = make();
    g.gate.tap();
    expect(g.gate.state).to.equal(GateState.STREAMING);
    g.feed(true);
    for (let i = 0; i < 7; i++) g.feed(false); // 1792 quiet samples < 2000
    expect(g.ends).to.have.length(0);
    g.feed(false);
    expect(g.ends).to.deep.equal([[EndReason.SILENCE, g.pos()]]);
    expect(g.gate.state).to.equal(GateState.ENDED);
    g.feed(false);
    expect(g.gate.state).to.equal(GateState.LISTENING);
  });

  it('ends at the maximum utterance length even while speech goes on', () => {
    const g = make();
    g.gate.tap();
    for (let i = 0; i < 46; i++) g.feed(true);
    expect(g.ends).to.have.length(0);
    g.feed(true); // 47 × 256 = 12032 samples >= 3 s × 4000
    expect(g.ends[0]?.[0]).to.equal(EndReason.MAX_LENGTH);
  });

  it('a tap opens the gate at the current position; a second tap ends the utterance', () => {
    const g = make();
    g.feed(false);
    g.gate.tap();
    expect(g.wakes[0]).to.deep.include({
      trigger: Trigger.TAP,
      score: 255,
      startSample: 256,
      endSample: 256,
    });
    g.gate.tap();
    expect(g.ends).to.deep.equal([[EndReason.TAP, 256]]);
  });

  it('stays closed when the wake is refused (uplink busy)', () => {
    const g = make(() => false);
    g.gate.tap();
    expect(g.gate.state).to.equal(GateState.LISTENING);
  });

  it('host stop ends only a streaming gate', () => {
    const g = make();
    g.gate.stop(EndReason.HOST);
    expect(g.ends).to.have.length(0);
    g.gate.tap();
    g.gate.stop(EndReason.HOST);
    expect(g.ends[0]?.[0]).to.equal(EndReason.HOST);
  });
});

describe('firmware sample ring and byte FIFO', () => {
  it('keeps the newest samples across wrap-around and reads them back by absolute index', () => {
    const r = new SampleRing(10);
    r.alloc();
    r.write(new Uint8Array([1, 2, 3, 4, 5, 6, 7]), -1, 7);
    r.write(new Uint8Array([8, 9, 10, 11, 12]), -1, 5);
    expect(r.written).to.equal(12);
    expect(r.oldest()).to.equal(2);
    const out = new Uint8Array(6);
    expect(r.read(5, out, 1, 5)).to.equal(true);
    expect(Array.from(out)).to.deep.equal([0, 6, 7, 8, 9, 10]);
    expect(r.read(8, out, 0, 4)).to.equal(true);
    expect(Array.from(out.subarray(0, 4))).to.deep.equal([9, 10, 11, 12]);
  });

  it('refuses to read overwritten or unwritten samples', () => {
    const r = new SampleRing(4);
    r.alloc();
    r.write(new Uint8Array([1, 2, 3, 4, 5, 6]), -1, 6);
    const out = new Uint8Array(4);
    expect(r.read(1, out, 0, 2)).to.equal(false);
    expect(r.read(5, out, 0, 2)).to.equal(false);
    expect(r.read(2, out, 0, 4)).to.equal(true);
    expect(Array.from(out)).to.deep.equal([3, 4, 5, 6]);
  });

  it('FIFO: refuses what does not fit, pops in order across the wrap', () => {
    const f = new ByteFifo(5);
    expect(f.push(new Uint8Array([1, 2, 3]))).to.equal(true);
    expect(f.push(new Uint8Array([4, 5, 6]))).to.equal(false);
    const o = new Uint8Array(2);
    expect(f.pop(o)).to.equal(2);
    expect(f.push(new Uint8Array([4, 5, 6, 7]))).to.equal(true);
    const all = new Uint8Array(8);
    expect(f.pop(all)).to.equal(5);
    expect(Array.from(all.subarray(0, 5))).to.deep.equal([3, 4, 5, 6, 7]);
    expect(f.free()).to.equal(5);
  });
});
