/**
 * The protocol bundle (esbuild IIFE, ES2017, minified, as the firmware bundles it) runs in a fresh
 * JavaScript context from which the globals and built-in members Espruino lacks have been removed, and
 * passes every golden and error vector there. Complements the static syntax gate with a run.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { expect } from 'chai';
import { build } from 'esbuild';
import { byteFieldsOf, frameJsonOf } from '../conformance/vectors-format';
import type { ErrorVector, GoldenVector, VectorFile } from '../conformance/vectors-format';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readVectors = <T>(f: string) =>
  JSON.parse(readFileSync(join(root, 'protocol', 'vectors', f), 'utf8')) as VectorFile<T>;

/** Run inside the context first: take away what Espruino does not have. */
const ESPRUINO_LIKE = `
  delete globalThis.Map; delete globalThis.Set; delete globalThis.WeakMap; delete globalThis.WeakSet;
  delete globalThis.Proxy; delete globalThis.Reflect; delete globalThis.BigInt; delete globalThis.Symbol;
  delete Promise.race; delete Promise.allSettled; delete Promise.any;
  ['imul', 'clz32', 'trunc', 'fround', 'hypot', 'log2', 'log10'].forEach(function (k) { delete Math[k]; });
  delete Number.isInteger; delete Array.from; delete Array.of; delete Object.freeze; delete Array.prototype.flat;
`;

/** Run inside the context after the bundle: drive it with the vectors, hex in, hex/JSON out. */
const DRIVER = `
  function fromHex(h) { var u = new Uint8Array(h.length / 2); for (var i = 0; i < u.length; i++) u[i] = parseInt(h.substr(2 * i, 2), 16); return u; }
  function toHex(u) { var s = ''; for (var i = 0; i < u.length; i++) s += (u[i] < 16 ? '0' : '') + u[i].toString(16); return s; }
  function toJson(f) { var o = {}; Object.keys(f).forEach(function (k) { o[k] = f[k] instanceof Uint8Array ? toHex(f[k]) : f[k]; }); return JSON.stringify(o); }
  function fromJson(j, byteFields) { var o = JSON.parse(j); byteFields.forEach(function (k) { o[k] = fromHex(o[k]); }); return o; }
  var results = [];
  golden.forEach(function (v) {
    var d = budlink.decodeFrame(fromHex(v.hex), v.maxPayload);
    var e = budlink.encodeFrame(fromJson(JSON.stringify(v.frame), v.byteFields), v.maxPayload);
    results.push({ name: v.name, decoded: d.ok ? toJson(d.frame) : 'error ' + d.error.message, encoded: e.ok ? toHex(e.bytes) : 'error ' + e.error.message });
  });
  errors.forEach(function (v) {
    var d = budlink.decodeFrame(fromHex(v.hex), v.maxPayload);
    results.push({ name: v.name, error: d.ok ? null : [d.error.code, d.error.fault, d.error.offset] });
  });
  var w = new budlink.RetransmitWindow(4), r = new budlink.Reassembler(65535, 4);
  [65535, 0, 1].forEach(function (s) { w.push(s, fromHex('00')); });
  r.accept(0, 'b', false); r.accept(1, 'c', true);
  var ack = r.buildAck(1, 0, 20);
  var resent = w.onAck(ack).length;
  r.accept(65535, 'a', false);
  results.push({ name: 'recovery', error: [ack.type, resent, r.drain().join(''), r.complete ? 1 : 0] });
  results;
`;

describe('protocol: bundle in an Espruino-like context', () => {
  it('passes every vector with the globals Espruino lacks removed', async () => {
    const out = await build({
      entryPoints: [join(root, 'protocol', 'src', 'index.ts')],
      bundle: true,
      format: 'iife',
      globalName: 'budlink',
      target: 'es2017',
      platform: 'neutral',
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    const golden = readVectors<GoldenVector>('golden.json').vectors;
    const errors = readVectors<ErrorVector>('errors.json').vectors;
    const context = createContext({
      golden: JSON.parse(
        JSON.stringify(
          golden.map((v) => ({
            name: v.name,
            hex: v.hex,
            maxPayload: v.maxPayload,
            frame: frameJsonOf(v.fields),
            byteFields: byteFieldsOf(v.fields),
          })),
        ),
      ),
      errors: JSON.parse(JSON.stringify(errors)),
    });
    runInContext(ESPRUINO_LIKE, context);
    expect(runInContext('typeof Map + typeof Math.imul + typeof Number.isInteger', context)).to.equal(
      'undefinedundefinedundefined',
    );
    runInContext((out.outputFiles[0] as { text: string }).text, context);
    const results = runInContext(DRIVER, context) as {
      name: string;
      decoded?: string;
      encoded?: string;
      error?: unknown[] | null;
    }[];
    let i = 0;
    for (const v of golden) {
      const r = results[i++] as (typeof results)[number];
      expect(r.name).to.equal(v.name);
      expect(JSON.parse(r.decoded as string), v.name).to.deep.equal(frameJsonOf(v.fields));
      expect(r.encoded, v.name).to.equal(v.hex);
    }
    for (const v of errors) {
      const r = results[i++] as (typeof results)[number];
      expect(r.error, v.name).to.deep.equal([v.error.code, v.error.fault, v.error.offset]);
    }
    // NACK for 65535, the window re-sends it, and the stream completes in order.
    expect(results[i]?.error).to.deep.equal([7, 1, 'abc', 1]);
  });
});
