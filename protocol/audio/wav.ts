/**
 * RIFF/WAVE PCM, the one codec of the repo: the simulator's microphone input and speaker capture, the
 * test fixtures, and the bridge's voice-service audio (`@budlink/protocol/audio`).
 *
 * Encodes mono 8-bit unsigned or 16-bit signed; decodes 8/16-bit mono or stereo. Unknown chunks (LIST,
 * fact, cue, ...) are skipped, odd chunk sizes are padded as RIFF requires, WAVE_FORMAT_EXTENSIBLE with
 * the PCM sub-format is accepted. Streaming producers often write 0 or 0xFFFFFFFF as the data size: then
 * the data runs to the end of the bytes. Malformed input gets a WavError naming what is wrong; nothing is
 * guessed and nothing is thrown as a RangeError.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type WavErrorCode =
  | 'truncated'
  | 'not-riff'
  | 'not-wave'
  | 'missing-fmt'
  | 'missing-data'
  | 'bad-fmt'
  | 'unsupported-encoding'
  | 'unsupported-bits'
  | 'unsupported-channels';

export class WavError extends Error {
  constructor(
    readonly code: WavErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WavError';
  }
}

export interface WavFormat {
  sampleRate: number;
  /** Channels in the file (decoded samples are always mono). */
  channels: number;
  /** 8 (unsigned, 128 = zero) or 16 (signed little-endian). */
  bitsPerSample: 8 | 16;
}

/** parseWav's result: the first channel in the file's own sample width. */
export interface Wav extends WavFormat {
  /** First channel: Uint8Array for 8-bit files, Int16Array for 16-bit files. */
  samples: Uint8Array | Int16Array;
}

/** decodeWav's result. */
export interface DecodedWav extends WavFormat {
  /** Mono 16-bit samples (stereo averaged, 8-bit widened). */
  samples: Int16Array;
}

export interface EncodeWavOptions {
  /** Sample width in the file; default 8 for Uint8Array samples, 16 for Int16Array. */
  bitsPerSample?: 8 | 16;
}

const FORMAT_PCM = 1;
const FORMAT_EXTENSIBLE = 0xfffe;

function fourcc(b: Uint8Array, o: number): string {
  return String.fromCharCode(b[o] as number, b[o + 1] as number, b[o + 2] as number, b[o + 3] as number);
}

function writeFourcc(b: Uint8Array, o: number, s: string): void {
  for (let i = 0; i < 4; i++) b[o + i] = s.charCodeAt(i);
}

/** Signed 16-bit → unsigned 8-bit, rounding to the nearest step (ties away from zero) and clipping. */
function roundS16ToU8(v: number): number {
  const q = v >= 0 ? Math.floor((v + 128) / 256) : -Math.floor((-v + 128) / 256);
  return Math.max(0, Math.min(255, q + 128));
}

/**
 * The canonical 44-byte header of a mono PCM WAV file, written at `out[at..at+44)`; `dataLen` is the
 * sample data's length in bytes (a pad byte after odd-length data counts in the RIFF size). For callers
 * that place the samples themselves (the transcription upload builds the file inside its multipart body).
 */
export function writeWavHeader(
  out: Uint8Array,
  at: number,
  sampleRate: number,
  bits: 8 | 16,
  dataLen: number,
): void {
  const bytesPer = bits / 8;
  const dv = new DataView(out.buffer, out.byteOffset + at, 44);
  writeFourcc(out, at, 'RIFF');
  dv.setUint32(4, 36 + dataLen + (dataLen & 1), true);
  writeFourcc(out, at + 8, 'WAVE');
  writeFourcc(out, at + 12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, FORMAT_PCM, true);
  dv.setUint16(22, 1, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * bytesPer, true);
  dv.setUint16(32, bytesPer, true);
  dv.setUint16(34, bits, true);
  writeFourcc(out, at + 36, 'data');
  dv.setUint32(40, dataLen, true);
}

/**
 * Mono PCM → a canonical 44-byte-header WAV file. A Uint8Array is 8-bit unsigned PCM, an Int16Array
 * 16-bit signed; `bitsPerSample` converts between them (16 → 8 rounds to the nearest step).
 */
export function encodeWav(
  samples: Uint8Array | Int16Array,
  sampleRate: number,
  options: EncodeWavOptions = {},
): Uint8Array {
  const bits = options.bitsPerSample ?? (samples instanceof Uint8Array ? 8 : 16);
  if (bits !== 8 && bits !== 16)
    throw new WavError('unsupported-bits', `cannot encode ${String(bits)}-bit WAV`);
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate * (bits / 8) > 0xffffffff) {
    throw new WavError('bad-fmt', `sample rate must be a positive integer, got ${String(sampleRate)}`);
  }
  const dataLen = samples.length * (bits / 8);
  const out = new Uint8Array(44 + dataLen + (dataLen & 1));
  writeWavHeader(out, 0, sampleRate, bits, dataLen);
  const dv = new DataView(out.buffer);
  const u8 = samples instanceof Uint8Array;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] as number;
    if (bits === 16) dv.setInt16(44 + 2 * i, u8 ? (v - 128) << 8 : v, true);
    else out[44 + i] = u8 ? v : roundS16ToU8(v);
  }
  return out;
}

type Fmt = WavFormat & { blockAlign: number };

function parseFmt(bytes: Uint8Array, o: number, size: number): Fmt {
  if (size < 16) throw new WavError('bad-fmt', `fmt chunk is ${String(size)} bytes, needs at least 16`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + o, size);
  let format = dv.getUint16(0, true);
  const channels = dv.getUint16(2, true);
  const sampleRate = dv.getUint32(4, true);
  const blockAlign = dv.getUint16(12, true);
  const bits = dv.getUint16(14, true);
  if (format === FORMAT_EXTENSIBLE) {
    if (size < 40) throw new WavError('bad-fmt', 'WAVE_FORMAT_EXTENSIBLE fmt chunk shorter than 40 bytes');
    format = dv.getUint16(24, true); // first two bytes of the sub-format GUID
  }
  if (format !== FORMAT_PCM) {
    throw new WavError('unsupported-encoding', `WAV encoding ${String(format)} is not PCM (1)`);
  }
  if (channels !== 1 && channels !== 2) {
    throw new WavError('unsupported-channels', `WAV has ${String(channels)} channels; only mono and stereo`);
  }
  if (bits !== 8 && bits !== 16) {
    throw new WavError('unsupported-bits', `WAV has ${String(bits)} bits per sample; only 8 and 16`);
  }
  if (sampleRate === 0) throw new WavError('bad-fmt', 'WAV sample rate is 0');
  if (blockAlign !== (channels * bits) / 8) {
    throw new WavError(
      'bad-fmt',
      `WAV block align ${String(blockAlign)} does not match ${String(channels)}×${String(bits)}-bit`,
    );
  }
  return { sampleRate, channels, bitsPerSample: bits, blockAlign };
}

/** Where the header ends and what it says; `dataSize` is undefined when it runs to the end. */
interface WavHeader {
  format: Fmt;
  dataOffset: number;
  dataSize: number | undefined;
}

/**
 * Parse the header up to the start of the data chunk. Returns undefined when more bytes are needed
 * (only when `partial` is true; otherwise that is a 'truncated' error).
 */
function parseHeader(bytes: Uint8Array, partial: boolean): WavHeader | undefined {
  const need = (n: number, what: string): boolean => {
    if (bytes.length >= n) return true;
    if (partial) return false;
    throw new WavError('truncated', `WAV truncated in ${what} (${String(bytes.length)} bytes)`);
  };
  if (!need(12, 'the RIFF header')) return undefined;
  if (fourcc(bytes, 0) !== 'RIFF') {
    throw new WavError(
      'not-riff',
      fourcc(bytes, 0) === 'RIFX' ? 'big-endian RIFX is not supported' : 'not a RIFF file',
    );
  }
  if (fourcc(bytes, 8) !== 'WAVE') throw new WavError('not-wave', 'RIFF file is not WAVE');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 12;
  let format: Fmt | undefined;
  for (;;) {
    if (bytes.length < o + 8) {
      if (partial) return undefined;
      throw new WavError(
        format ? 'missing-data' : 'missing-fmt',
        format ? 'WAV has no data chunk' : 'WAV has no fmt chunk',
      );
    }
    const id = fourcc(bytes, o);
    const size = dv.getUint32(o + 4, true);
    const body = o + 8;
    if (id === 'data') {
      if (!format) throw new WavError('missing-fmt', 'WAV data chunk comes before any fmt chunk');
      const open = size === 0 || size === 0xffffffff;
      return { format, dataOffset: body, dataSize: open ? undefined : size };
    }
    if (id === 'fmt ') {
      if (!need(body + size, 'the fmt chunk')) return undefined;
      format = parseFmt(bytes, body, size);
    }
    o = body + size + (size & 1);
  }
}

/** A whole file's header and the bytes of its data chunk (checked to be whole frames). */
function parseWhole(bytes: Uint8Array): { format: Fmt; data: Uint8Array } {
  const h = parseHeader(bytes, false) as WavHeader;
  const { format } = h;
  let end: number;
  if (h.dataSize === undefined) {
    end = bytes.length;
  } else {
    end = h.dataOffset + h.dataSize;
    if (end > bytes.length) {
      throw new WavError(
        'truncated',
        `WAV data chunk declares ${String(h.dataSize)} bytes but only ${String(bytes.length - h.dataOffset)} are present`,
      );
    }
  }
  const data = bytes.subarray(h.dataOffset, end);
  if (h.dataSize !== undefined && data.length % format.blockAlign !== 0) {
    throw new WavError('truncated', `WAV data size ${String(data.length)} is not a whole number of frames`);
  }
  return { format, data };
}

function toMono(data: Uint8Array, format: WavFormat): Int16Array {
  const frameBytes = (format.channels * format.bitsPerSample) / 8;
  const frames = Math.floor(data.length / frameBytes);
  const out = new Int16Array(frames);
  if (format.bitsPerSample === 16) {
    const dv = new DataView(data.buffer, data.byteOffset, frames * frameBytes);
    if (format.channels === 1) {
      for (let i = 0; i < frames; i++) out[i] = dv.getInt16(2 * i, true);
    } else {
      for (let i = 0; i < frames; i++) {
        const s = dv.getInt16(4 * i, true) + dv.getInt16(4 * i + 2, true);
        out[i] = s >= 0 ? (s + 1) >> 1 : -((-s + 1) >> 1);
      }
    }
  } else if (format.channels === 1) {
    for (let i = 0; i < frames; i++) out[i] = ((data[i] as number) - 128) << 8;
  } else {
    for (let i = 0; i < frames; i++) {
      out[i] = (((data[2 * i] as number) - 128 + (data[2 * i + 1] as number) - 128) << 8) >> 1;
    }
  }
  return out;
}

/** Decode a whole WAV file to mono 16-bit. Throws WavError on malformed or unsupported input. */
export function decodeWav(bytes: Uint8Array): DecodedWav {
  const { format, data } = parseWhole(bytes);
  const { sampleRate, channels, bitsPerSample } = format;
  return { sampleRate, channels, bitsPerSample, samples: toMono(data, format) };
}

/** Parse a WAV file held in memory, keeping the first channel in the file's own sample width. */
export function parseWav(bytes: Uint8Array): Wav {
  const { format, data } = parseWhole(bytes);
  const { sampleRate, channels, bitsPerSample, blockAlign } = format;
  const n = Math.floor(data.length / blockAlign);
  if (bitsPerSample === 8) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = data[i * blockAlign] as number;
    return { sampleRate, channels, bitsPerSample, samples: out };
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * blockAlign, true);
  return { sampleRate, channels, bitsPerSample, samples: out };
}

/** Read a WAV file from disk (parseWav; a WavError's message names the file). */
export function readWav(path: string): Wav {
  const bytes = new Uint8Array(readFileSync(path));
  try {
    return parseWav(bytes);
  } catch (e) {
    if (e instanceof WavError) e.message = `${path}: ${e.message}`;
    throw e;
  }
}

/** Write a mono WAV file (8-bit for Uint8Array samples, 16-bit for Int16Array). */
export function writeWav(path: string, samples: Uint8Array | Int16Array, sampleRate: number): void {
  writeFileSync(path, encodeWav(samples, sampleRate));
}

/**
 * Longest header (every byte before the data chunk's samples) a stream may send. Producers write 44 to a
 * few hundred bytes; without a limit, a chunk declaring gigabytes before the data would have the decoder
 * hold the whole stream, and copy it again at every push.
 */
const MAX_STREAM_HEADER_BYTES = 64 << 10;

/**
 * Incremental WAV decoder for streamed responses: push() byte chunks as they arrive; once the header
 * is complete, `format` is set and each push returns the whole mono frames decoded so far.
 * end() checks that the stream did not stop inside the header or a frame.
 */
export class WavStreamDecoder {
  format: WavFormat | undefined;
  private header: Uint8Array = new Uint8Array(0);
  private pending: Uint8Array = new Uint8Array(0);
  private blockAlign = 0;
  /** Data bytes still expected, or Infinity when the header gave no size. */
  private remaining = Infinity;

  push(chunk: Uint8Array): Int16Array {
    if (!this.format) {
      const joined = new Uint8Array(this.header.length + chunk.length);
      joined.set(this.header);
      joined.set(chunk, this.header.length);
      const h = parseHeader(joined, true);
      if (!h) {
        if (joined.length > MAX_STREAM_HEADER_BYTES) {
          throw new WavError(
            'missing-data',
            `WAV stream has no data chunk in its first ${String(MAX_STREAM_HEADER_BYTES)} bytes`,
          );
        }
        this.header = joined;
        return new Int16Array(0);
      }
      const { sampleRate, channels, bitsPerSample, blockAlign } = h.format;
      this.format = { sampleRate, channels, bitsPerSample };
      this.blockAlign = blockAlign;
      this.remaining = h.dataSize ?? Infinity;
      this.header = new Uint8Array(0);
      chunk = joined.subarray(h.dataOffset);
    }
    if (chunk.length > this.remaining) chunk = chunk.subarray(0, this.remaining);
    this.remaining -= chunk.length;
    const joined = new Uint8Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    const whole = joined.length - (joined.length % this.blockAlign);
    this.pending = joined.slice(whole);
    return toMono(joined.subarray(0, whole), this.format);
  }

  end(): void {
    if (!this.format) {
      // Re-parse strictly to get the precise error.
      parseHeader(this.header, false);
      throw new WavError('truncated', 'WAV stream ended inside the header');
    }
    if (this.remaining !== Infinity && this.remaining > 0) {
      throw new WavError(
        'truncated',
        `WAV stream ended ${String(this.remaining)} bytes before the declared data end`,
      );
    }
    if (this.pending.length > 0) {
      throw new WavError('truncated', 'WAV stream ended inside a sample frame');
    }
  }
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
