/**
 * The decoder fuzz case generator, shared by test/protocol/fuzz.test.ts and bench/protocol.bench.ts:
 * random frames (type byte biased to known types so decoding gets past the header) and mutations of the
 * golden vectors (byte flips, truncation, extension, splices).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFrame, encodeFrame, ErrorCode, Fault } from '@budlink/protocol';
import { below, rng } from '@budlink/test-support/rng';

const vectorsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'protocol', 'vectors');

/** The bytes of every vector in protocol/vectors/`file` (golden.json, errors.json). */
export function vectorBytes(file: string): Uint8Array[] {
  const v = JSON.parse(readFileSync(join(vectorsDir, file), 'utf8')) as { vectors: { hex: string }[] };
  return v.vectors.map((x) => Uint8Array.from(Buffer.from(x.hex, 'hex')));
}

export function goldenBytes(): Uint8Array[] {
  return vectorBytes('golden.json');
}

export function fuzzCases(seed: number): () => Uint8Array {
  const r = rng(seed);
  const seeds = goldenBytes();
  return () => {
    const kind = below(r, 4);
    if (kind === 0) {
      const b = new Uint8Array(below(r, 250));
      for (let i = 0; i < b.length; i++) b[i] = below(r, 256);
      if (b.length > 0 && r() < 0.8) b[0] = 1 + below(r, 0x13);
      if (b.length > 1 && r() < 0.5) b[1] = 0;
      return b;
    }
    const base = seeds[below(r, seeds.length)] as Uint8Array;
    if (kind === 1) {
      const b = new Uint8Array(base);
      const flips = 1 + below(r, 3);
      for (let i = 0; i < flips && b.length > 0; i++) b[below(r, b.length)] = below(r, 256);
      return b;
    }
    if (kind === 2) return base.slice(0, below(r, base.length + 1));
    const extra = 1 + below(r, 8);
    const b = new Uint8Array(base.length + extra);
    b.set(base);
    for (let i = base.length; i < b.length; i++) b[i] = below(r, 256);
    return b;
  };
}

const CODES = Object.values(ErrorCode) as number[];
const FAULTS = Object.values(Fault) as number[];

/**
 * Decode one case (frames up to `maxPayload` bytes) and check the outcome is a frame that re-encodes to
 * the same bytes, or a typed error. Returns 1 for a frame, 0 for an error; throws (with the hex) on any
 * other outcome.
 */
export function checkCase(bytes: Uint8Array, maxPayload?: number): number {
  let r;
  try {
    r = decodeFrame(bytes, maxPayload);
  } catch (e) {
    throw new Error('decodeFrame threw on ' + Buffer.from(bytes).toString('hex') + ': ' + String(e), {
      cause: e,
    });
  }
  if (r.ok) {
    const e = encodeFrame(r.frame, maxPayload);
    if (!e.ok) throw new Error('decoded frame does not re-encode: ' + Buffer.from(bytes).toString('hex'));
    if (Buffer.compare(Buffer.from(e.bytes), Buffer.from(bytes)) !== 0) {
      throw new Error('re-encoding differs for ' + Buffer.from(bytes).toString('hex'));
    }
    return 1;
  }
  const err = r.error;
  if (CODES.indexOf(err.code) < 0 || FAULTS.indexOf(err.fault) < 0 || typeof err.message !== 'string') {
    throw new Error('untyped error for ' + Buffer.from(bytes).toString('hex') + ': ' + JSON.stringify(err));
  }
  if (typeof err.offset !== 'number' || err.offset < 0 || err.offset > bytes.length) {
    throw new Error('bad offset for ' + Buffer.from(bytes).toString('hex') + ': ' + JSON.stringify(err));
  }
  return 0;
}
