/** Waveform input/output: 8-bit ADC, double buffering from the idle loop, silent overwrites, speaker capture. */
import { expect } from 'chai';
import { program, stopAll } from './helpers';

const MIC = `
var w = new Waveform(100, { doubleBuffer: true, bits: 8 });
var got = [];
w.on('buffer', function (buf) {
  got.push(E.toString(buf));
  if (global.slow) { var x = 0; for (var i = 0; i < global.slow; i++) x += i; }
});
w.startInput(D3, 1000, { repeat: true });
`;

function bytes(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

describe('sim: Waveform', () => {
  afterEach(stopAll);

  it('quantises 16-bit input to 8-bit unsigned (128 = zero) and hands over each buffer just filled', () => {
    const e = program(MIC);
    const input = new Int16Array(300);
    for (let i = 0; i < 300; i++) input[i] = (i - 150) * 200;
    e.feedAudio(input, 1000);
    e.advance(310);
    const got = e.repl('got.map(function(s){return s.length}).join()');
    expect(got).to.equal('100,100,100');
    const all = bytes((e.repl('got.join("")') as string).slice(0, 300));
    expect(all.slice(0, 3)).to.deep.equal([
      ((-150 * 200) >> 8) + 128,
      ((-149 * 200) >> 8) + 128,
      ((-148 * 200) >> 8) + 128,
    ]);
    expect(all[150]).to.equal(128);
    expect(e.micSamples().slice(0, 300)).to.deep.equal(Uint8Array.from(all));
  });

  it('Uint8Array input is used as is; silence (128) when nothing is queued', () => {
    const e = program(MIC);
    e.feedAudio(new Uint8Array(100).fill(200), 1000);
    e.advance(205);
    const all = bytes(e.repl('got.join("")') as string);
    expect(all.slice(0, 100).every((v) => v === 200)).to.equal(true);
    expect(all.slice(100, 200).every((v) => v === 128)).to.equal(true);
  });

  it('a handler slower than a buffer period: buffers are overwritten without any error; overruns are counted', () => {
    const e = program(MIC);
    e.repl('global.slow = 3000'); // ~0.3 s of device time per call, 0.1 s buffer periods
    const ramp = new Uint8Array(3000);
    for (let i = 0; i < ramp.length; i++) ramp[i] = i & 0xff;
    e.feedAudio(ramp, 1000);
    e.advance(3000);
    const s = e.stats();
    expect(s.overruns).to.be.greaterThan(10);
    expect(s.handlerErrors, 'no error is raised').to.equal(0);
    expect(e.logs.filter((l) => /error/i.test(l))).to.have.length(0);
    // Far fewer buffers reached JS than were recorded.
    const n = e.repl('got.length') as number;
    expect(n).to.be.at.most(15);
    expect(s.maxHandlerCost).to.be.greaterThan(20000);
  });

  it('a handler that runs late sees its buffer partly overwritten by newer samples', () => {
    // A 150 ms job blocks the idle loop right after a swap; the buffer it then receives has been refilled.
    // A timer busy across the swap at 1000 ms queues a long job ('hog') first: when the idle loop finally
    // polls, the buffer event waits behind 'hog' and runs after the next swap has begun refilling it.
    const e = program(`
var w = new Waveform(100, { doubleBuffer: true, bits: 8 });
var got = [];
w.on('buffer', function (buf) { got.push(E.toString(buf)); });
w.startInput(D3, 1000, { repeat: true });
E.on('hog', function () { var x = 0; for (var i = 0; i < 410; i++) x += i; });
setTimeout(function () { E.emit('hog'); var x = 0; for (var i = 0; i < 136; i++) x += i; }, 980);
`);
    const ramp = new Uint8Array(3000);
    for (let i = 0; i < ramp.length; i++) ramp[i] = i % 251;
    e.feedAudio(ramp, 1000);
    e.advance(2000);
    const mic = e.micSamples();
    const bufs = (e.repl('got') as string[]).map((s) => Uint8Array.from(bytes(s)));
    const intact = bufs.filter((b) => {
      for (let k = 0; k + 100 <= mic.length; k += 100) if (b.every((v, i) => v === mic[k + i])) return true;
      return false;
    });
    expect(bufs.length - intact.length, 'some buffer reached JS corrupted').to.be.greaterThan(0);
  });

  it('startOutput plays the buffers: the speaker captures them, "buffer" asks for refills', () => {
    const e = program(`
var w = new Waveform(50, { doubleBuffer: true, bits: 8 });
var n = 0;
function fill(buf) { for (var i = 0; i < buf.length; i++) buf[i] = (n + i) & 255; n += buf.length; }
fill(w.buffer); fill(w.buffer2);
w.on('buffer', fill);
analogWrite(D28, 0.5, { freq: 40000 });
var t1 = getTime();
w.startOutput(D28, 1000, { repeat: true });
setTimeout(function () { global.t2 = getTime(); w.stop(); }, 500);
`);
    e.advance(800);
    const spk = e.speakerSamples();
    // From startOutput to stop(): the timer runs late when a refill job holds the CPU, as on the device.
    const played = e.repl('Math.round((global.t2 - t1) * 1000)') as number;
    expect(spk.length).to.be.within(played - 1, played + 1);
    expect(played).to.be.within(500, 560); // a refill (50 iterations) holds the CPU for ~25 ms
    for (let i = 0; i < spk.length; i++) expect(spk[i]).to.equal(i & 255);
    expect(e.repl('w.running')).to.equal(false);
  });

  it('stop() takes effect in the idle loop: still running (a restart throws) until then, then "finish"', () => {
    // As the real interpreter: stop() queues a "timer finished" event; the idle loop's next pass clears
    // `running` and emits 'finish'. A second stop() in the same job finds no timer task to remove.
    const e = program(`
var w = new Waveform(64, { doubleBuffer: true, bits: 8 });
var log = [];
w.on('finish', function () { log.push('finish:' + w.running); });
w.startInput(D3, 4000, { repeat: true });
global.stopAndRestart = function () {
  w.stop();
  log.push('stopped:' + w.running);
  try { w.startInput(D3, 4000, { repeat: true }); } catch (x) { log.push(String(x)); }
  try { w.stop(); } catch (x) { log.push(String(x)); }
};
`);
    e.advance(100);
    e.repl('stopAndRestart()');
    expect(e.repl('log')).to.deep.equal([
      'stopped:true',
      'Error: Waveform is already running',
      "Error: Waveform couldn't be stopped",
    ]);
    e.advance(1);
    expect(e.repl('log.slice(3)')).to.deep.equal(['finish:false']);
    // the next job may start it again (what the firmware does from a 1 ms timer)
    e.repl('w.startInput(D3, 4000, { repeat: true })');
    expect(e.repl('w.running')).to.equal(true);
  });

  it('output on a pin without analogWrite first makes no sound', () => {
    const e = program(
      `var w = new Waveform(50, { bits: 8 }); w.buffer.fill(200); w.startOutput(D28, 1000, { repeat: true });`,
    );
    e.advance(200);
    expect(e.speakerSamples()).to.have.length(0);
    expect(e.logs.some((l) => /without analogWrite/.test(l))).to.equal(true);
  });

  it('rejects what Espruino rejects', () => {
    const e = program('');
    expect(() => e.repl('new Waveform(0)')).to.throw(/greater than 0/);
    expect(() => e.repl('new Waveform(10, {bits: 12})')).to.throw(/Invalid number of bits/);
    expect(() => e.repl('var q = new Waveform(10); q.stop()')).to.throw(/not running/);
    expect(() => e.repl('var q1 = new Waveform(10); q1.startInput(D7, 1000)')).to.throw(/not capable of ADC/);
    expect(() =>
      e.repl('var q2 = new Waveform(10); q2.startInput(D3, 1000); q2.startInput(D3, 1000)'),
    ).to.throw(/already running/);
  });
});
