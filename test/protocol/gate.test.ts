/**
 * The Espruino syntax gate: one failing snippet per rule, snippets that must pass, and the real
 * protocol code bundled the way the firmware bundles it (esbuild IIFE, ES2017), plain and minified.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { build } from 'esbuild';
import { checkEspruinoSubset } from '../../firmware/scripts/espruino-gate';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const failing: [rule: string, code: string][] = [
  ['destructuring', 'var { a } = o;'],
  ['destructuring', 'var [a, b] = o;'],
  ['destructuring', 'function f({ a }) { return a; }'],
  ['spread', 'f(...args);'],
  ['spread', 'var o2 = { ...o };'],
  ['rest', 'function f(...args) { return args; }'],
  ['default-parameter', 'function f(a = 1) { return a; }'],
  ['computed-key', 'var o = { [k]: 1 };'],
  ['computed-key', 'class A { [k]() {} }'],
  ['optional-chaining', 'var x = a?.b;'],
  ['exponent', 'var x = a ** 2;'],
  ['exponent', 'x **= 2;'],
  ['labelled-statement', 'outer: for (;;) { break outer; }'],
  ['tagged-template', 'var s = tag`x`;'],
  ['forbidden-member', 'var s = String.raw`x`;'],
  ['generator', 'function* g() { yield 1; }'],
  ['async', 'async function f() { await g(); }'],
  ['async', 'var f = async () => 1;'],
  ['for-of-destructuring', 'for (const [k, v] of pairs) { use(k, v); }'],
  ['loop-closure', 'for (let i = 0; i < 3; i++) { fs.push(function () { return i; }); }'],
  ['loop-closure', 'for (const k in o) { setTimeout(() => use(k), 1); }'],
  ['forbidden-global', 'var m = new Map();'],
  ['forbidden-global', 'var s = new Set([1]);'],
  ['forbidden-global', 'var w = new WeakMap();'],
  ['forbidden-global', 'var p = new Proxy({}, {});'],
  ['forbidden-global', 'Reflect.ownKeys(o);'],
  ['forbidden-global', 'var b = BigInt(1);'],
  ['forbidden-global', 'var it = o[Symbol.iterator];'],
  ['bigint', 'var b = 1n;'],
  ['forbidden-member', 'Promise.race([a, b]);'],
  ['forbidden-member', 'Promise.allSettled([a]);'],
  ['forbidden-member', 'Promise.any([a]);'],
  ['forbidden-member', 'Math.imul(a, b);'],
  ['forbidden-member', 'Math.clz32(a);'],
  ['forbidden-member', 'Math.trunc(a);'],
  ['forbidden-member', 'Math.fround(a);'],
  ['forbidden-member', 'Math.hypot(a, b);'],
  ['forbidden-member', 'Math.log2(a);'],
  ['forbidden-member', 'Math.log10(a);'],
  ['forbidden-member', 'Number.isInteger(a);'],
  ['forbidden-member', 'Array.from(a);'],
  ['forbidden-member', 'Array.of(1, 2);'],
  ['forbidden-member', 'Object.freeze(o);'],
  ['forbidden-member', 'a.flat();'],
  ['forbidden-member', 'var n = u8.BYTES_PER_ELEMENT;'],
  ['builtin-prototype', 'var s = Array.prototype.slice.call(arguments);'],
  ['builtin-prototype', 'Object.prototype.hasOwnProperty.call(o, k);'],
  ['builtin-prototype', 'Uint8Array.prototype.fill.call(u, 0);'],
  ['extends-builtin', 'class Bytes extends Uint8Array {}'],
  ['extends-builtin', 'var E2 = class extends Array {};'],
  ['inherited-static', 'class A { static make() { return 1; } } class B extends A {} B.make();'],
  ['too-many-arguments', 'f(' + Array.from({ length: 257 }, (_, i) => String(i)).join(',') + ');'],
  ['hoisting', 'f(); function f() {}'],
  ['hoisting', 'var x = g; function g() {}'],
  ['hoisting', 'function a() { return b(); } a(); function b() { return 1; }'],
  ['hoisting', 'function outer() { inner(); function inner() {} }'],
  ['parse-error', 'var = ;'],
];

const passing: [what: string, code: string][] = [
  ['var/let/const, arrows, template literals, ??', 'const a = 1; let b = a ?? 2; var f = (x) => `${x}`;'],
  [
    'classes with extends, super, statics, getters, fields',
    'class A { constructor() { this.x = 1; } static s() { return 1; } get y() { return 2; } } class B extends A { constructor() { super(); } } A.s();',
  ],
  [
    'a static called on its own class',
    'class A { static s() {} } class B extends A { static s() {} } B.s();',
  ],
  [
    'for..of over arrays, let in for without closures',
    'for (const x of [1, 2]) use(x); for (let i = 0; i < 3; i++) use(i);',
  ],
  [
    'let in a for head with a closure that does not capture it',
    'for (let i = 0; i < 3; i++) { fs.push(function () { return 1; }); }',
  ],
  [
    'functions defined before use; calls from inside functions',
    'function b() { return 1; } function a() { return c(); } function c() { return b(); } a();',
  ],
  [
    '[].slice.call, Promise.all, Math classics, typed arrays',
    'var s = [].slice.call(arguments); Promise.all([]); Math.floor(Math.sign(-1)); new Uint8Array(4).subarray(1).fill(0);',
  ],
  [
    'a local binding named like a missing global',
    'function f(Map) { return new Map(); } var Set = function () {};',
  ],
  ['member names that are forbidden as globals', 'o.Map = 1; o.Symbol = 2; var x = { Map: 1 };'],
  ['256 arguments', 'f(' + Array.from({ length: 256 }, (_, i) => String(i)).join(',') + ');'],
  [
    'property keys named like Object.prototype members',
    'var o = { toString: 1, constructor: 2 }; o.hasOwnProperty;',
  ],
];

describe('protocol: Espruino syntax gate', () => {
  for (const [rule, code] of failing) {
    it(`rejects ${rule}: ${code.length > 60 ? code.slice(0, 60) + '...' : code}`, () => {
      const v = checkEspruinoSubset(code);
      expect(v.map((x) => x.rule)).to.include(rule);
      for (const x of v) {
        expect(x.line).to.be.at.least(1);
        expect(x.column).to.be.at.least(1);
        expect(x.message).to.be.a('string').and.not.equal('');
      }
    });
  }

  for (const [what, code] of passing) {
    it(`accepts ${what}`, () => {
      expect(checkEspruinoSubset(code)).to.deep.equal([]);
    });
  }

  it('reports line and column of the violation', () => {
    const v = checkEspruinoSubset('var a = 1;\nvar b = a?.c;\n');
    expect(v).to.deep.equal([
      { rule: 'optional-chaining', message: 'optional chaining (?.) is not supported', line: 2, column: 9 },
    ]);
  });

  it('allowedGlobals: free identifiers outside the list are reported, declared ones and the language are not', () => {
    const code = 'var led = LED1; NRF.setServices({}); var x = Math.floor(1); function f(E) { return E; }';
    const v = checkEspruinoSubset(code, { allowedGlobals: ['NRF'] });
    expect(v.map((x) => [x.rule, x.message])).to.deep.equal([
      ['unknown-global', 'LED1 is not an allowed global'],
    ]);
    expect(checkEspruinoSubset(code, { allowedGlobals: ['NRF', 'LED1'] })).to.deep.equal([]);
  });

  for (const minify of [false, true]) {
    it(`passes the protocol package bundled by esbuild (iife, es2017, ${minify ? 'minified' : 'plain'})`, async () => {
      const r = await build({
        entryPoints: [join(root, 'protocol', 'src', 'index.ts')],
        bundle: true,
        format: 'iife',
        target: 'es2017',
        platform: 'neutral',
        minify,
        write: false,
        logLevel: 'silent',
      });
      const code = (r.outputFiles[0] as { text: string }).text;
      expect(code.length).to.be.above(1000);
      expect(checkEspruinoSubset(code)).to.deep.equal([]);
      // Only language globals: nothing from Node or the browser.
      expect(checkEspruinoSubset(code, { allowedGlobals: [] })).to.deep.equal([]);
    });
  }
});
