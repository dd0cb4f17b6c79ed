/** The vm context offers what Espruino offers and not what it lacks (the syntax gate's lists, firmware/scripts/espruino-gate.ts). */
import { expect } from 'chai';
import { checkEspruinoSubset } from '../../../firmware/scripts/espruino-gate';
import { program, stopAll } from './helpers';

describe('sim: the language surface', () => {
  afterEach(stopAll);

  it('removes the globals and statics Espruino does not have', () => {
    const e = program('');
    const absent = [
      'typeof Map',
      'typeof Set',
      'typeof WeakMap',
      'typeof Proxy',
      'typeof Reflect',
      'typeof Symbol',
      'typeof BigInt',
      'typeof Array.from',
      'typeof Array.of',
      'typeof Number.isInteger',
      'typeof Math.imul',
      'typeof Math.trunc',
      'typeof Math.clz32',
      'typeof Math.fround',
      'typeof Math.hypot',
      'typeof Math.log2',
      'typeof Math.log10',
      'typeof Object.freeze',
      'typeof Promise.race',
      'typeof Promise.allSettled',
      'typeof Promise.any',
      'typeof String.raw',
      'typeof [].flat',
      'typeof ArrayBuffer.prototype.slice',
      'typeof Uint8Array.BYTES_PER_ELEMENT',
    ];
    for (const x of absent) expect(e.repl(x), x).to.equal('undefined');
    const present = [
      'typeof Promise.all',
      'typeof Object.assign',
      'typeof Object.entries',
      'typeof Math.sign',
      'typeof "a".padStart',
      'typeof JSON.stringify',
      'typeof atob',
      'typeof btoa',
      'typeof E.sum',
      'typeof NRF.setServices',
      'typeof Waveform',
      'typeof require("Storage").readJSON',
      'typeof LED1',
      'typeof global',
    ];
    for (const x of present) expect(e.repl(x), x).to.not.equal('undefined');
  });

  it('Builtin.prototype.method is undefined; [].slice.call still works', () => {
    const e = program('');
    // (errors come from the vm realm: compare by name, not by host constructor)
    expect(() => e.repl('Array.prototype.slice.call([1,2,3], 1)'))
      .to.throw()
      .with.property('name', 'TypeError');
    expect(e.repl('typeof Object.prototype.hasOwnProperty')).to.equal('undefined');
    expect(e.repl('[].slice.call([1,2,3], 1).join()')).to.equal('2,3');
  });

  it('typed slice()/filter() return plain Arrays; out-of-range DataView reads return 0', () => {
    const e = program('');
    expect(e.repl('Array.isArray(new Uint8Array([1,2,3]).slice(1))')).to.equal(true);
    expect(e.repl('Array.isArray(new Uint8Array([1,2,3]).filter(function(x){return x>1}))')).to.equal(true);
    expect(e.repl('new DataView(new ArrayBuffer(2)).getUint32(0, true)')).to.equal(0);
    expect(e.repl('new DataView(new Uint8Array([1,2]).buffer).getUint16(0, true)')).to.equal(0x201);
  });

  it('subarray shares memory; set copies', () => {
    const e = program('');
    expect(e.repl('var a = new Uint8Array(4); var s = a.subarray(1,3); s[0] = 9; a[1]')).to.equal(9);
    expect(e.repl('var b = new Uint8Array(4); b.set([1,2], 2); b.join()')).to.equal('0,0,1,2');
  });

  it('apply() with more than 256 arguments fails, as on the device', () => {
    const e = program('');
    expect(e.repl('String.fromCharCode.apply(null, new Uint8Array(256)).length')).to.equal(256);
    expect(() => e.repl('String.fromCharCode.apply(null, new Uint8Array(257))')).to.throw(
      /Too many arguments/,
    );
  });

  it('function declarations are not hoisted: define before use', () => {
    const e = program('global.early = typeof f; function f() { return 1; } global.late = typeof f;');
    expect(e.repl('global.early')).to.equal('undefined');
    expect(e.repl('global.late')).to.equal('function');
    const bad = program('g(); function g() {}');
    expect(bad.logs.some((l) => /^Uncaught TypeError/.test(l))).to.equal(true);
  });

  it('let in a for loop has no per-iteration binding: closures see the last value', () => {
    const e = program('');
    expect(
      e.repl('var fs = []; for (let i = 0; i < 3; i++) fs.push(function () { return i; }); fs[0]()'),
    ).to.equal(3);
    expect(
      e.repl('var gs = []; for (let x of [1, 2, 3]) gs.push(function () { return x; }); gs[0]()'),
    ).to.equal(3);
    expect(e.repl('var s = 0; for (let j = 0; j < 4; j++) { s += j; } s')).to.equal(6);
    expect(e.repl('typeof j')).to.equal('undefined'); // still block-scoped to the loop
  });

  it('has only the error classes Espruino has: no RangeError, EvalError, URIError, AggregateError', () => {
    const e = program('');
    for (const name of ['RangeError', 'EvalError', 'URIError', 'AggregateError'])
      expect(e.repl(`typeof ${name}`), name).to.equal('undefined');
    for (const name of ['Error', 'TypeError', 'SyntaxError', 'ReferenceError', 'InternalError'])
      expect(e.repl(`typeof ${name}`), name).to.equal('function');
    // as on the device, constructing one fails because the name is not defined
    expect(
      e.repl('try { new RangeError("x"); "no error" } catch (x) { x.name + ": " + x.message }'),
    ).to.equal('ReferenceError: RangeError is not defined');
    expect(e.repl('var ie = new InternalError("boom"); [ie instanceof Error, String(ie)].join()')).to.equal(
      'true,InternalError: boom',
    );
    // the vm's own range checks still work without the global (DataView reads, apply)
    expect(e.repl('new DataView(new ArrayBuffer(2)).getUint32(0, true)')).to.equal(0);
  });

  it('the syntax gate refuses the error classes Espruino lacks', () => {
    for (const name of ['RangeError', 'EvalError', 'URIError', 'AggregateError']) {
      const v = checkEspruinoSubset(`function f(n) { if (n < 0) throw new ${name}('n'); return n; }`);
      expect(
        v.map((x) => `${x.rule}: ${x.message}`),
        name,
      ).to.deep.equal([`forbidden-global: ${name} is absent`]);
    }
    const ok = 'try { f(); } catch (e) { if (e instanceof TypeError) throw new InternalError("x"); }';
    expect(checkEspruinoSubset(ok, { allowedGlobals: ['f'] })).to.deep.equal([]);
  });

  it('TypedArray.set copies what fits and never throws on the offset (as Espruino; V8 throws RangeError)', () => {
    const e = program('');
    const set = (args: string, len = 4): unknown =>
      e.repl(`var t = new Uint8Array(${len}); t.set(${args}); t.join()`);
    // values measured on the real interpreter (2v29, Linux build of firmware/sim/espruino/build)
    expect(set('[1, 2, 3], 2')).to.equal('0,0,1,2');
    expect(set('[1, 2, 3, 4, 5, 6]')).to.equal('1,2,3,4');
    expect(set('new Uint8Array([5, 6, 7]), 3')).to.equal('0,0,0,5');
    // an offset at or past the end, or negative, copies nothing (Espruino's iterator starts out of range)
    expect(set('[7, 8], 4')).to.equal('0,0,0,0');
    expect(set('[7, 8], 10')).to.equal('0,0,0,0');
    expect(set('[7, 8], -1')).to.equal('0,0,0,0');
    expect(set('[7, 8], -3')).to.equal('0,0,0,0');
    // the offset is converted to a 32-bit integer: fractions truncate, NaN and infinities are 0
    expect(set('[7, 8], 1.5')).to.equal('0,7,8,0');
    expect(set('[7, 8], "2"')).to.equal('0,0,7,8');
    expect(set('[7, 8], -0.5')).to.equal('7,8,0,0');
    expect(set('[7, 8], NaN')).to.equal('7,8,0,0');
    expect(set('[7, 8], Infinity')).to.equal('7,8,0,0');
    expect(set('[7, 8], 4294967297')).to.equal('0,7,8,0');
    expect(set('[7, 8], 2147483648')).to.equal('0,0,0,0');
    // a string is copied as character codes, an ArrayBuffer as its bytes
    expect(set('"abc", 1')).to.equal('0,97,98,99');
    expect(set('new Uint8Array([1, 2, 3, 4]).buffer, 1')).to.equal('0,1,2,3');
    // copies within one buffer keep their source (memmove), both ways
    expect(e.repl('var u = new Uint8Array([1,2,3,4,5,6]); u.set(u.subarray(0, 4), 2); u.join()')).to.equal(
      '1,2,1,2,3,4',
    );
    expect(e.repl('var v = new Uint8Array([1,2,3,4,5,6]); v.set(v.subarray(2), 0); v.join()')).to.equal(
      '3,4,5,6,5,6',
    );
    expect(() => e.repl('new Uint8Array(2).set({ length: 1, 0: 5 })')).to.throw(
      'First argument must be Array, not Object',
    );
    expect(() => e.repl('new Uint8Array(2).set(5)')).to.throw('First argument must be Array, not Number');
  });

  it("Math.random is Espruino's generator (jsutils.c rand()), seeded with srand(seed) at power-on", () => {
    // First values on the real interpreter with BUDLINK_SEED=1: 0.00000838236, 0.15088263899, 0.06719163805
    const draws = (e: ReturnType<typeof program>, n: number): number[] =>
      e.repl(`var r = []; for (var i = 0; i < ${n}; i++) r.push(Math.random()); r`) as number[];
    const one = program('');
    expect(draws(one, 3)).to.deep.equal([0.000008382368832826614, 0.15088263899087906, 0.06719163805246353]);
    const seeded = program('', { seed: 0x12345678 });
    expect(draws(seeded, 200)).to.deep.equal(espruinoRandom(0x12345678, 200));
    expect(draws(program('', { seed: 1 }), 50)).to.deep.equal(espruinoRandom(1, 50));
    // the link's seed (drop PRNG, address) does not change it: the real engine's seed is its own option
    expect(draws(program('', { link: { seed: 5 } }), 3)).to.deep.equal(espruinoRandom(1, 3));
    // reset()/load() keep the generator going (a C global); a power-on (power cycle, watchdog,
    // E.reboot()) seeds it again
    const e = program('global.first = Math.random();', { seed: 7 });
    const seq = espruinoRandom(7, 3);
    expect(e.repl('global.first')).to.equal(seq[0]);
    e.repl('load()');
    e.advance(10);
    expect(e.repl('global.first')).to.equal(seq[1]);
    e.powerCycle();
    expect(e.repl('global.first')).to.equal(seq[0]);
    expect(e.repl('E.srand(7); Math.random()')).to.equal(seq[0]);
  });
});

/** Espruino's rand() (src/jsutils.c, 32-bit unsigned arithmetic) after srand(seed), as Math.random(). */
function espruinoRandom(seed: number, n: number): number[] {
  let w = BigInt(((seed & 0xffff) | (seed << 16)) >>> 0);
  let z = BigInt(((seed & 0xffff0000) | (seed >>> 16)) >>> 0);
  const M = 0xffffffffn;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    z = (36969n * (z & 65535n) + (z >> 16n)) & M;
    w = (18000n * (w & 65535n) + (w >> 16n)) & M;
    const r = 0x7fffffffn & (((z << 16n) + w) & M);
    out.push(Number(r) / 2147483648);
  }
  return out;
}
