/**
 * The fuzzing library behind test/fuzz/*.test.ts and bench/fuzz.bench.ts: mutators (bytes, JSON values,
 * strings), a seeded runner that times every case and names the seed, case index and input of a
 * failure, and the Target shape each parser's fuzz definition has (test/fuzz/targets.ts).
 *
 * A case is mutated from a seed corpus of valid inputs and vectors, so it gets past the header checks
 * and reaches the field and length checks behind them. Every random choice comes from the seeded PRNG
 * (mulberry32), so a failure replays from its seed.
 */
import { below, rng } from '@budlink/test-support/rng';

export type Rand = () => number;
export { below, rng };

/** What one case did: parsed and round-tripped ('accepted') or refused with the parser's typed error. */
export type Outcome = 'accepted' | 'refused';

/** One parser under fuzz. */
export interface Target<I> {
  readonly name: string;
  /** Where its branches are counted (bench/fuzz.bench.ts): files, optionally only these functions. */
  readonly sources: readonly CoverageSource[];
  /** One run: a case generator and a checker sharing whatever state the parser keeps between inputs. */
  open(r: Rand): TargetRun<I>;
  /** The input as text, for the failure message (hex, JSON). */
  show(input: I): string;
}

export interface TargetRun<I> {
  next(): I;
  /** Check one input; throws on any property violation. */
  check(input: I): Outcome;
  close?(): void;
}

/** A target whose cases need the event loop (a WebSocket server): it runs its cases itself. */
export interface AsyncTarget {
  readonly name: string;
  readonly sources: readonly CoverageSource[];
  /** Run `cases` cases from `seed`; rejects with a FuzzFailure naming the seed. */
  run(cases: number, seed: number): Promise<RunStats>;
}

export interface CoverageSource {
  /** Repository-relative path of the source file. */
  file: string;
  /** Only these functions (and the functions nested in them); all the file when absent. */
  functions?: readonly string[];
}

export interface RunStats {
  target: string;
  cases: number;
  accepted: number;
  refused: number;
  /** Longest single case (ms). */
  maxCaseMs: number;
  /** Whole run (ms). */
  ms: number;
}

/** A case slower than this is a hang (a parser's work per input must stay bounded). */
export const MAX_CASE_MS = 500;

/** Seed of the fuzz runs: BUDLINK_FUZZ_SEED (decimal or 0x hex) to explore, a fixed default otherwise. */
export function fuzzSeed(dflt: number): number {
  const s = process.env.BUDLINK_FUZZ_SEED;
  return s === undefined || s === '' ? dflt : Number(s) >>> 0;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export class FuzzFailure extends Error {
  constructor(target: string, seed: number, index: number, input: string, cause: unknown) {
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(
      `fuzz ${target}: case ${String(index)} of seed 0x${seed.toString(16)} failed: ${why}\n  input: ${input}`,
      { cause },
    );
    this.name = 'FuzzFailure';
  }
}

/** Run `cases` cases of `target` from `seed`. Throws a FuzzFailure naming the seed on the first failure. */
export function runTarget<I>(target: Target<I>, cases: number, seed: number): RunStats {
  const r = rng(seed);
  const run = target.open(r);
  const stats: RunStats = { target: target.name, cases, accepted: 0, refused: 0, maxCaseMs: 0, ms: 0 };
  const start = performance.now();
  try {
    for (let i = 0; i < cases; i++) {
      const input = run.next();
      const t0 = performance.now();
      let outcome: Outcome;
      try {
        outcome = run.check(input);
      } catch (e) {
        throw new FuzzFailure(target.name, seed, i, target.show(input), e);
      }
      const ms = performance.now() - t0;
      if (ms > MAX_CASE_MS)
        throw new FuzzFailure(
          target.name,
          seed,
          i,
          target.show(input),
          new Error(`took ${ms.toFixed(0)} ms`),
        );
      if (ms > stats.maxCaseMs) stats.maxCaseMs = ms;
      stats[outcome]++;
    }
  } finally {
    run.close?.();
  }
  stats.ms = performance.now() - start;
  return stats;
}

export function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[below(r, xs.length)] as T;
}

/** An integer in lo..hi, a third of the time one of the two ends. */
export function between(r: Rand, lo: number, hi: number): number {
  const k = r();
  if (k < 1 / 6) return lo;
  if (k < 1 / 3) return hi;
  return lo + below(r, hi - lo + 1);
}

// ---- bytes ---------------------------------------------------------------------------------------

/** The byte values the issue names: the ends of the signed and unsigned ranges. */
export const BOUNDARY_BYTES = [0, 1, 0x7f, 0x80, 0xff] as const;

/** A little-endian length or count field of an input (where a length edit may land). */
export interface LengthField {
  at: number;
  width: 1 | 2 | 4;
}

export interface ByteMutation {
  /** Valid inputs to splice with. */
  corpus: readonly Uint8Array[];
  /** Longest mutated input. */
  maxLength: number;
  /** The input's length fields; without it, any aligned 1/2/4-byte field. */
  lengthFields?: (b: Uint8Array) => LengthField[];
  /** Tokens worth inserting (line ends, field names, chunk ids). */
  dictionary?: readonly Uint8Array[];
}

/** The parts joined, in a new Uint8Array (never a Buffer: its slice() is a view, not a copy). */
export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export function randomBytes(r: Rand, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = below(r, 256);
  return b;
}

function putLE(b: Uint8Array, at: number, width: number, v: number): void {
  for (let i = 0; i < width && at + i < b.length; i++) b[at + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
}

function getLE(b: Uint8Array, at: number, width: number): number {
  let v = 0;
  for (let i = width - 1; i >= 0; i--) v = v * 256 + (b[at + i] ?? 0);
  return v;
}

type ByteOp = (r: Rand, b: Uint8Array, m: ByteMutation) => Uint8Array;

const BYTE_OPS: ByteOp[] = [
  // bit flip
  (r, b) => {
    if (b.length === 0) return b;
    const out = b.slice();
    const i = below(r, out.length);
    out[i] = (out[i] as number) ^ (1 << below(r, 8));
    return out;
  },
  // a byte set to a boundary value
  (r, b) => {
    if (b.length === 0) return b;
    const out = b.slice();
    out[below(r, out.length)] = pick(r, BOUNDARY_BYTES);
    return out;
  },
  // a random byte
  (r, b) => {
    if (b.length === 0) return b;
    const out = b.slice();
    out[below(r, out.length)] = below(r, 256);
    return out;
  },
  // truncation
  (r, b) => b.slice(0, below(r, b.length + 1)),
  // extension
  (r, b) => concat(b, randomBytes(r, 1 + below(r, 16))),
  // splice: this input's head, another's tail
  (r, b, m) => {
    const other = pick(r, m.corpus);
    return concat(b.subarray(0, below(r, b.length + 1)), other.subarray(below(r, other.length + 1)));
  },
  // a length field edited: to an end of its range, the input's length, or off by a little
  (r, b, m) => {
    const fields = m.lengthFields ? m.lengthFields(b) : [];
    let f: LengthField;
    if (fields.length > 0 && r() < 0.8) f = pick(r, fields);
    else {
      const width = pick(r, [1, 2, 4] as const);
      if (b.length < width) return b;
      f = { at: below(r, Math.floor(b.length / width)) * width, width };
    }
    const max = 2 ** (8 * f.width) - 1;
    const old = getLE(b, f.at, f.width);
    const v = pick(r, [0, 1, max, max - 1, b.length, b.length - f.at, old + 1, old - 1, old * 2, 0x7f, 0x80]);
    const out = b.slice();
    putLE(out, f.at, f.width, ((v % (max + 1)) + max + 1) % (max + 1));
    return out;
  },
  // a chunk duplicated in place
  (r, b) => {
    if (b.length === 0) return b;
    const i = below(r, b.length);
    const j = i + 1 + below(r, Math.min(32, b.length - i));
    return concat(b.subarray(0, j), b.subarray(i, j), b.subarray(j));
  },
  // a chunk removed
  (r, b) => {
    if (b.length === 0) return b;
    const i = below(r, b.length);
    return concat(b.subarray(0, i), b.subarray(i + 1 + below(r, Math.min(16, b.length - i))));
  },
  // a dictionary token inserted, or written over the bytes there
  (r, b, m) => {
    if (!m.dictionary || m.dictionary.length === 0) return b;
    const t = pick(r, m.dictionary);
    const i = below(r, b.length + 1);
    if (r() < 0.5) return concat(b.subarray(0, i), t, b.subarray(i));
    const out = concat(b);
    out.set(t.subarray(0, Math.max(0, out.length - i)), i);
    return out;
  },
];

/** `base` with 1 to 4 stacked mutations, at most m.maxLength bytes. */
export function mutateBytes(r: Rand, base: Uint8Array, m: ByteMutation): Uint8Array {
  let b = base;
  const n = 1 + below(r, 4);
  for (let k = 0; k < n; k++) b = pick(r, BYTE_OPS)(r, b, m);
  return b.length > m.maxLength ? b.slice(0, m.maxLength) : b;
}

/** Random cut points for feeding `n` bytes in chunks (sorted, inside 0..n). */
export function cuts(r: Rand, n: number): number[] {
  const k = below(r, 6) === 0 ? Math.min(n, 64) : below(r, 5);
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push(below(r, n + 1));
  return out.sort((a, b) => a - b);
}

/** `b` split at `at` (sorted cut points). */
export function chunks(b: Uint8Array, at: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of at) {
    out.push(b.subarray(from, c));
    from = c;
  }
  out.push(b.subarray(from));
  return out;
}

// ---- JSON values ---------------------------------------------------------------------------------

export interface JsonMutation {
  /** Keys worth adding: the schema's own (to get past unknown-key checks) and awkward ones. */
  keys: readonly string[];
  strings: readonly string[];
  numbers: readonly number[];
}

/** Keys every JSON-reading parser should treat as plain unknown keys. */
export const AWKWARD_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', ''];
/** Numbers at the edges of the ranges parsers check. */
export const AWKWARD_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  1.5,
  255,
  256,
  1000,
  4000,
  24000,
  65535,
  65536,
  600000,
  600001,
  2 ** 31,
  2 ** 32,
  2 ** 53 + 2,
  1e21,
  1e300,
  -1e300,
  1e-300,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
];
export const AWKWARD_STRINGS = [
  '',
  ' ',
  '\t\n',
  '0',
  '-1',
  ' 12 ',
  '1e3',
  '0x10',
  'NaN',
  'true',
  'null',
  '\u0000',
  '\ud800',
  'é',
  'x'.repeat(300),
  'http://127.0.0.1:9/v1',
  'https://user:pw@example.com/v1',
  'ws://127.0.0.1:9/x',
  'not a url',
  'AA:BB:CC:DD:EE:FF',
];

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

type Container = Record<string, unknown> | unknown[];

function containers(v: unknown, out: Container[] = []): Container[] {
  if (typeof v === 'object' && v !== null) {
    out.push(v as Container);
    for (const x of Object.values(v)) containers(x, out);
  }
  return out;
}

function awkwardValue(r: Rand, m: JsonMutation, from: unknown): unknown {
  switch (below(r, 7)) {
    case 0:
      return pick(r, m.numbers.length > 0 && r() < 0.7 ? m.numbers : AWKWARD_NUMBERS);
    case 1:
      return pick(r, m.strings.length > 0 && r() < 0.7 ? m.strings : AWKWARD_STRINGS);
    case 2:
      return pick(r, [true, false, null]);
    case 3:
      return [];
    case 4:
      return {};
    case 5:
      return typeof from === 'number' ? from + pick(r, [-1, 1, 0.5]) : [from];
    default: {
      const all = containers(from);
      return all.length > 0 ? clone(pick(r, all)) : {};
    }
  }
}

/** Where `v` holds a number: [container, key] pairs. */
function numberLeaves(v: unknown): [Record<string, unknown>, string][] {
  const out: [Record<string, unknown>, string][] = [];
  for (const c of containers(v)) {
    const rec = c as Record<string, unknown>;
    for (const k of Object.keys(rec)) if (typeof rec[k] === 'number') out.push([rec, k]);
  }
  return out;
}

/** An edge value near `n`: one of the edge numbers, or `n` off by one or a half. */
function awkwardNumber(r: Rand, m: JsonMutation, n: number): number {
  const k = r();
  if (k < 0.4) return pick(r, m.numbers.length > 0 ? m.numbers : AWKWARD_NUMBERS);
  if (k < 0.7) return pick(r, AWKWARD_NUMBERS);
  return n + pick(r, [-1, 1, 0.5, -0.5]);
}

/**
 * A copy of `value` with 1 to 3 edits: values replaced (a number most often by an edge value near it),
 * keys added or removed.
 */
export function mutateJson(r: Rand, value: unknown, m: JsonMutation): unknown {
  const root = clone(value);
  const n = 1 + below(r, 3);
  for (let k = 0; k < n; k++) {
    const all = containers(root);
    if (all.length === 0) return awkwardValue(r, m, root);
    const c = pick(r, all);
    const keys = Object.keys(c);
    const op = below(r, 5);
    const numbers = op === 4 ? numberLeaves(root) : [];
    if (numbers.length > 0) {
      const [at, key] = pick(r, numbers);
      at[key] = awkwardNumber(r, m, at[key] as number);
    } else if (Array.isArray(c)) {
      if (op === 0 && c.length > 0) c.splice(below(r, c.length), 1);
      else if (op === 1 && c.length > 0) c.push(clone(pick(r, c)));
      else c[below(r, c.length + 1)] = awkwardValue(r, m, c[0]);
    } else if (op === 0 && keys.length > 0) {
      delete c[pick(r, keys)];
    } else if (op === 1 || keys.length === 0) {
      const key = r() < 0.8 ? pick(r, m.keys) : pick(r, AWKWARD_KEYS);
      // defineProperty: a "__proto__" key stays an own key, as JSON.parse would make it
      Object.defineProperty(c, key, {
        value: awkwardValue(r, m, Object.hasOwn(c, key) ? c[key] : undefined),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      const key = pick(r, keys);
      c[key] = awkwardValue(r, m, c[key]);
    }
  }
  return root;
}

/** Text-level edits JSON.stringify cannot make: numbers out of double range, duplicate keys. */
const JSON_TOKENS = ['1e999', '-1e999', '1e-999', '-0', '0.0000001', '"\\ud800"', '"\\u0000"', '{}', '[]'];

/** JSON text of `value`, sometimes with one number or string replaced by an awkward token. */
export function jsonText(r: Rand, value: unknown): string {
  const s = JSON.stringify(value) ?? 'null';
  if (r() < 0.8) return s;
  // values only: a key replaced by a number is just a syntax error
  const spots = [...s.matchAll(/-?\d+(\.\d+)?([eE][-+]?\d+)?|"(?:[^"\\]|\\.)*"/g)].filter(
    (m) => s[(m.index ?? 0) + m[0].length] !== ':',
  );
  if (spots.length === 0) return s;
  const m = pick(r, spots);
  return s.slice(0, m.index) + pick(r, JSON_TOKENS) + s.slice((m.index ?? 0) + m[0].length);
}

/** A string edited: truncated, extended, a character replaced, or an awkward string instead. */
export function mutateString(r: Rand, s: string, dictionary: readonly string[] = AWKWARD_STRINGS): string {
  const i = below(r, s.length + 1);
  switch (below(r, 5)) {
    case 0:
      return s.slice(0, i);
    case 1:
      return s.slice(0, i) + pick(r, dictionary) + s.slice(i);
    case 2:
      return s.slice(0, i) + String.fromCharCode(below(r, 0x80)) + s.slice(i + 1);
    case 3:
      return s + s.slice(i);
    default:
      return pick(r, dictionary);
  }
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
