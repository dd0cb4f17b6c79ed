/**
 * Fuzz target for WAV input (@budlink/protocol/audio): decodeWav and parseWav on whole files, and
 * WavStreamDecoder on the same bytes fed in random chunks. Seed corpus: files written by encodeWav
 * (8 and 16 bit, odd lengths), hand-built stereo, WAVE_FORMAT_EXTENSIBLE, extra chunks before the data,
 * open-ended data sizes, and the heads of the audio fixtures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeWav, encodeWav, parseWav, WavError, WavStreamDecoder } from '@budlink/protocol/audio';
import {
  chunks,
  concat,
  cuts,
  hex,
  mutateBytes,
  pick,
  rng,
  utf8,
  type ByteMutation,
  type LengthField,
  type Target,
} from './fuzz';

const fixtures = fileURLToPath(new URL('../fixtures/audio/', import.meta.url));

function tone(n: number, r: () => number): Int16Array {
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(12000 * Math.sin(i / 3) + 2000 * (r() - 0.5));
  return s;
}

function le(n: number, width: 2 | 4): Uint8Array {
  const b = new Uint8Array(width);
  for (let i = 0; i < width; i++) b[i] = Math.floor(n / 2 ** (8 * i)) & 0xff;
  return b;
}

function join_(...parts: (Uint8Array | string)[]): Uint8Array {
  return concat(...parts.map((p) => (typeof p === 'string' ? utf8(p) : p)));
}

/** A RIFF file of these chunks (RIFF size written). */
function riff(...chunks_: [string, Uint8Array][]): Uint8Array {
  const body = join_(
    'WAVE',
    ...chunks_.flatMap(([id, b]) => [
      id,
      le(b.length, 4),
      b,
      b.length & 1 ? new Uint8Array(1) : new Uint8Array(0),
    ]),
  );
  return join_('RIFF', le(body.length, 4), body);
}

function fmt(channels: number, rate: number, bits: number, extensible = false): Uint8Array {
  const align = (channels * bits) / 8;
  const base = join_(
    le(extensible ? 0xfffe : 1, 2),
    le(channels, 2),
    le(rate, 4),
    le(rate * align, 4),
    le(align, 2),
    le(bits, 2),
  );
  if (!extensible) return base;
  // cbSize 22, valid bits, channel mask, then the PCM sub-format GUID (its first two bytes: 1)
  return join_(base, le(22, 2), le(bits, 2), le(4, 4), le(1, 2), new Uint8Array(14));
}

/** The seed files. */
function wavCorpus(): Uint8Array[] {
  const r = rng(0x3a7);
  const pcm = tone(40, r);
  const u8 = Uint8Array.from(pcm, (v) => (v >> 8) + 128);
  const stereo = new Uint8Array(48).map(() => Math.floor(r() * 256));
  const out = [
    encodeWav(pcm, 8000),
    encodeWav(pcm.subarray(0, 7), 24000),
    encodeWav(u8, 4000),
    encodeWav(u8.subarray(0, 9), 16000),
    encodeWav(new Int16Array(0), 22050),
    riff(['fmt ', fmt(2, 8000, 16)], ['data', stereo]),
    riff(['fmt ', fmt(2, 11025, 8)], ['data', stereo.subarray(0, 21)]),
    riff(['fmt ', fmt(1, 16000, 16, true)], ['data', stereo.subarray(0, 20)]),
    riff(
      ['LIST', utf8('INFOISFT\x05\x00\x00\x00fuzz\x00')],
      ['fmt ', fmt(1, 8000, 16)],
      ['fact', le(4, 4)],
      ['data', stereo],
    ),
    riff(['fmt ', fmt(1, 8000, 8)], ['data', stereo], ['LIST', utf8('INFO')]),
  ];
  // open-ended data (0 and 0xFFFFFFFF), as streaming producers write it
  for (const open of [0, 0xffffffff]) {
    const f = encodeWav(pcm.subarray(0, 12), 24000);
    f.set(le(open, 4), 40);
    out.push(f);
  }
  for (const name of readdirSync(fixtures).filter((f) => f.endsWith('.wav'))) {
    const b = new Uint8Array(readFileSync(join(fixtures, name)));
    out.push(b.slice(0, 44 + 64));
  }
  return out;
}

/** The RIFF size and each chunk's size field. */
function wavLengthFields(b: Uint8Array): LengthField[] {
  const out: LengthField[] = [{ at: 4, width: 4 }];
  let o = 12;
  while (o + 8 <= b.length && out.length < 8) {
    out.push({ at: o + 4, width: 4 });
    const size = (b[o + 4] ?? 0) | ((b[o + 5] ?? 0) << 8) | ((b[o + 6] ?? 0) << 16) | ((b[o + 7] ?? 0) << 24);
    o += 8 + (size >>> 0) + (size & 1);
  }
  if (b.length >= 36)
    out.push({ at: 22, width: 2 }, { at: 24, width: 4 }, { at: 32, width: 2 }, { at: 34, width: 2 });
  return out;
}

const DICTIONARY = ['RIFF', 'RIFX', 'WAVE', 'fmt ', 'data', 'LIST', 'fact', '\xfe\xff'].map((s) =>
  Uint8Array.from(s, (c) => c.charCodeAt(0)),
);

interface WavCase {
  bytes: Uint8Array;
  /** Where the stream decoder's chunks end. */
  cuts: number[];
}

type Result<T> = { ok: true; value: T } | { ok: false; error: WavError };

/** Run `fn`; a WavError is its documented refusal, anything else thrown is a failure. */
function typed<T>(what: string, fn: () => T): Result<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof WavError) return { ok: false, error: e };
    throw new Error(`${what} threw ${e instanceof Error ? e.name : typeof e}: ${String(e)}`, { cause: e });
  }
}

function sameSamples(a: Int16Array | Uint8Array, b: Int16Array | Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function streamed(c: WavCase): Int16Array {
  const d = new WavStreamDecoder();
  const samples: number[] = [];
  for (const chunk of chunks(c.bytes, c.cuts)) samples.push(...d.push(chunk));
  d.end();
  return Int16Array.from(samples);
}

export const wavTarget: Target<WavCase> = {
  name: 'wav',
  sources: [
    {
      file: 'protocol/audio/wav.ts',
      functions: ['parseFmt', 'parseHeader', 'parseWhole', 'toMono', 'decodeWav', 'parseWav', 'push', 'end'],
    },
  ],
  open(r) {
    const corpus = wavCorpus();
    const m: ByteMutation = {
      corpus,
      maxLength: 4096,
      lengthFields: wavLengthFields,
      dictionary: DICTIONARY,
    };
    return {
      next: () => {
        const base = pick(r, corpus);
        const bytes = r() < 0.05 ? base : mutateBytes(r, base, m);
        return { bytes, cuts: cuts(r, bytes.length) };
      },
      check: (c) => {
        const whole = typed('decodeWav', () => decodeWav(c.bytes));
        const first = typed('parseWav', () => parseWav(c.bytes));
        const stream = typed('WavStreamDecoder', () => streamed(c));
        if (whole.ok !== first.ok)
          throw new Error('decodeWav and parseWav disagree on whether the file decodes');
        if (!whole.ok) return 'refused';
        const w = whole.value;
        if (w.samples.length > c.bytes.length)
          throw new Error(`${String(w.samples.length)} samples from ${String(c.bytes.length)} bytes`);
        if (stream.ok && !sameSamples(stream.value, w.samples))
          throw new Error('the stream decoder gives other samples than decodeWav');
        if (w.channels === 1) {
          // round trip: what parseWav read, written again, reads back the same
          const p = (first as { ok: true; value: ReturnType<typeof parseWav> }).value;
          const again = typed('encodeWav', () => encodeWav(p.samples, p.sampleRate));
          if (again.ok) {
            const back = parseWav(again.value);
            if (back.sampleRate !== p.sampleRate || !sameSamples(back.samples, p.samples))
              throw new Error('re-encoded file reads back differently');
            // a canonical file (the 44-byte header encodeWav writes) re-encodes to its own bytes
            const end = 44 + p.samples.length * (p.bitsPerSample / 8);
            const head = (b: Uint8Array): Uint8Array => b.subarray(0, 44);
            if (again.value.length === c.bytes.length && sameSamples(head(again.value), head(c.bytes)))
              if (!sameSamples(again.value.subarray(0, end), c.bytes.subarray(0, end)))
                throw new Error('a canonical file re-encodes to other bytes');
          }
        }
        return 'accepted';
      },
    };
  },
  show: (c) => `${hex(c.bytes)} in chunks ending at ${c.cuts.join(',')}`,
};
