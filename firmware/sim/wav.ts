/**
 * RIFF/WAVE PCM reading and writing (mono or multi-channel, 8-bit unsigned or 16-bit signed) for the
 * simulator's microphone input, speaker capture and the test fixtures. Node only.
 *
 * Malformed input raises a WavError naming what is wrong and where; nothing is guessed.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type WavErrorKind = 'not-riff' | 'not-wave' | 'truncated' | 'no-fmt' | 'no-data' | 'unsupported';

export class WavError extends Error {
  constructor(
    readonly kind: WavErrorKind,
    message: string,
    /** Byte offset in the file where the problem was found. */
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'WavError';
  }
}

export interface Wav {
  sampleRate: number;
  /** 8 (unsigned, 128 = zero) or 16 (signed little-endian). */
  bitsPerSample: 8 | 16;
  /** Channels in the file; `samples` holds the first channel only. */
  channels: number;
  /** First channel: Uint8Array for 8-bit files, Int16Array for 16-bit files. */
  samples: Uint8Array | Int16Array;
}

/** Parse a WAV file held in memory. */
export function parseWav(bytes: Uint8Array, source = 'WAV data'): Wav {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (off: number): string =>
    String.fromCharCode(bytes[off]!, bytes[off + 1]!, bytes[off + 2]!, bytes[off + 3]!);
  if (bytes.length < 12)
    throw new WavError('truncated', `${source}: ${bytes.length} bytes, shorter than a RIFF header`, 0);
  if (tag(0) !== 'RIFF') throw new WavError('not-riff', `${source}: does not start with "RIFF"`, 0);
  if (tag(8) !== 'WAVE') throw new WavError('not-wave', `${source}: RIFF form is "${tag(8)}", not "WAVE"`, 8);
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; blockAlign: number; bits: number } | null = null;
  while (off + 8 <= bytes.length) {
    const id = tag(off);
    const size = dv.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length)
        throw new WavError('truncated', `${source}: "fmt " chunk of ${size} bytes is too short`, off);
      fmt = {
        format: dv.getUint16(body, true),
        channels: dv.getUint16(body + 2, true),
        rate: dv.getUint32(body + 4, true),
        blockAlign: dv.getUint16(body + 12, true),
        bits: dv.getUint16(body + 14, true),
      };
      // WAVE_FORMAT_EXTENSIBLE carries the real format in its sub-format GUID's first two bytes.
      if (fmt.format === 0xfffe && size >= 26 && body + 26 <= bytes.length)
        fmt.format = dv.getUint16(body + 24, true);
    } else if (id === 'data') {
      if (fmt === null) throw new WavError('no-fmt', `${source}: "data" chunk before any "fmt " chunk`, off);
      if (fmt.format !== 1)
        throw new WavError('unsupported', `${source}: audio format ${fmt.format} is not PCM (1)`, off);
      if (fmt.bits !== 8 && fmt.bits !== 16)
        throw new WavError(
          'unsupported',
          `${source}: ${fmt.bits}-bit samples (only 8 and 16 are supported)`,
          off,
        );
      if (fmt.channels < 1) throw new WavError('unsupported', `${source}: ${fmt.channels} channels`, off);
      if (fmt.rate < 1) throw new WavError('unsupported', `${source}: sample rate ${fmt.rate}`, off);
      const bytesPerSample = fmt.bits / 8;
      const frame = fmt.channels * bytesPerSample;
      if (fmt.blockAlign !== frame)
        throw new WavError('unsupported', `${source}: block align ${fmt.blockAlign}, expected ${frame}`, off);
      if (body + size > bytes.length)
        throw new WavError(
          'truncated',
          `${source}: "data" chunk declares ${size} bytes but only ${bytes.length - body} follow`,
          off,
        );
      if (size % frame !== 0)
        throw new WavError('truncated', `${source}: "data" size ${size} is not a multiple of ${frame}`, off);
      const n = size / frame;
      if (fmt.bits === 8) {
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = bytes[body + i * frame]!;
        return { sampleRate: fmt.rate, bitsPerSample: 8, channels: fmt.channels, samples: out };
      }
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(body + i * frame, true);
      return { sampleRate: fmt.rate, bitsPerSample: 16, channels: fmt.channels, samples: out };
    }
    off = body + size + (size & 1); // chunks are padded to even sizes
  }
  if (fmt === null) throw new WavError('no-fmt', `${source}: no "fmt " chunk`, off);
  throw new WavError('no-data', `${source}: no "data" chunk`, off);
}

/** Read a WAV file from disk. */
export function readWav(path: string): Wav {
  return parseWav(new Uint8Array(readFileSync(path)), path);
}

/** Encode mono PCM: a Uint8Array is written as 8-bit unsigned, an Int16Array as 16-bit signed. */
export function encodeWav(samples: Uint8Array | Int16Array, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 0xffffffff)
    throw new RangeError(`encodeWav: bad sample rate ${sampleRate}`);
  const bits = samples instanceof Uint8Array ? 8 : 16;
  const dataBytes = samples.length * (bits / 8);
  const out = new Uint8Array(44 + dataBytes + (dataBytes & 1));
  const dv = new DataView(out.buffer);
  const put = (off: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[off + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  dv.setUint32(4, out.length - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 1, true); // PCM
  dv.setUint16(22, 1, true); // mono
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * (bits / 8), true);
  dv.setUint16(32, bits / 8, true);
  dv.setUint16(34, bits, true);
  put(36, 'data');
  dv.setUint32(40, dataBytes, true);
  if (samples instanceof Uint8Array) out.set(samples, 44);
  else for (let i = 0; i < samples.length; i++) dv.setInt16(44 + 2 * i, samples[i]!, true);
  return out;
}

/** Write a mono WAV file (8-bit for Uint8Array samples, 16-bit for Int16Array). */
export function writeWav(path: string, samples: Uint8Array | Int16Array, sampleRate: number): void {
  writeFileSync(path, encodeWav(samples, sampleRate));
}

/**
 * What the nRF52 ADC gives for a 16-bit signed input: the top 8 bits, offset to unsigned (128 = zero).
 * Used by the simulated microphone and by tests computing the expected uplink bytes.
 */
export function quantise16to8(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = ((samples[i]! >> 8) + 128) & 0xff;
  return out;
}

/**
 * Resample by linear interpolation (only used when a WAV's rate differs from the microphone rate;
 * fixtures are recorded at the board rates so tests stay bit-exact without it).
 */
export function resampleLinear<T extends Uint8Array | Int16Array>(samples: T, from: number, to: number): T {
  if (from === to) return samples;
  const n = Math.floor((samples.length * to) / from);
  const out = (samples instanceof Uint8Array ? new Uint8Array(n) : new Int16Array(n)) as T;
  for (let i = 0; i < n; i++) {
    const x = (i * from) / to;
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, samples.length - 1);
    const f = x - i0;
    out[i] = Math.round(samples[i0]! * (1 - f) + samples[i1]! * f);
  }
  return out;
}
