/**
 * RIFF/WAVE PCM: encode 16-bit (or 8-bit) mono, decode 8/16-bit mono or stereo (stereo is mixed down
 * to mono). Unknown chunks (LIST, fact, cue, ...) are skipped, odd chunk sizes are padded as RIFF
 * requires, WAVE_FORMAT_EXTENSIBLE with the PCM sub-format is accepted. Streaming producers often
 * write 0 or 0xFFFFFFFF as the data size: then the data runs to the end of the bytes.
 * Malformed input gets a WavError naming what is wrong; nothing is thrown as a RangeError.
 */
import { s16ToU8, u8ToS16 } from './pcm';

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
  /** Channels in the file (the decoded samples are always mono). */
  channels: number;
  bitsPerSample: 8 | 16;
}

export interface DecodedWav extends WavFormat {
  /** Mono 16-bit samples (stereo averaged). */
  samples: Int16Array;
}

export interface EncodeWavOptions {
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

/** Mono PCM → a canonical 44-byte-header WAV file. */
export function encodeWav(
  samples: Int16Array,
  sampleRate: number,
  options: EncodeWavOptions = {},
): Uint8Array {
  const bits = options.bitsPerSample ?? 16;
  if (bits !== 8 && bits !== 16)
    throw new WavError('unsupported-bits', `cannot encode ${String(bits)}-bit WAV`);
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
    throw new WavError('bad-fmt', `sample rate must be a positive integer, got ${String(sampleRate)}`);
  }
  const bytesPer = bits / 8;
  const dataLen = samples.length * bytesPer;
  const out = new Uint8Array(44 + dataLen + (dataLen & 1));
  const dv = new DataView(out.buffer);
  writeFourcc(out, 0, 'RIFF');
  dv.setUint32(4, out.length - 8, true);
  writeFourcc(out, 8, 'WAVE');
  writeFourcc(out, 12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, FORMAT_PCM, true);
  dv.setUint16(22, 1, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * bytesPer, true);
  dv.setUint16(32, bytesPer, true);
  dv.setUint16(34, bits, true);
  writeFourcc(out, 36, 'data');
  dv.setUint32(40, dataLen, true);
  if (bits === 16) {
    for (let i = 0; i < samples.length; i++) dv.setInt16(44 + 2 * i, samples[i] as number, true);
  } else {
    out.set(s16ToU8(samples), 44);
  }
  return out;
}

function parseFmt(bytes: Uint8Array, o: number, size: number): WavFormat & { blockAlign: number } {
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
  format: WavFormat & { blockAlign: number };
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
  let format: (WavFormat & { blockAlign: number }) | undefined;
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
  } else {
    const s16 = u8ToS16(data.subarray(0, frames * frameBytes));
    if (format.channels === 1) return s16;
    for (let i = 0; i < frames; i++) out[i] = ((s16[2 * i] as number) + (s16[2 * i + 1] as number)) >> 1;
  }
  return out;
}

/** Decode a whole WAV file. Throws WavError on malformed or unsupported input. */
export function decodeWav(bytes: Uint8Array): DecodedWav {
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
  return {
    sampleRate: format.sampleRate,
    channels: format.channels,
    bitsPerSample: format.bitsPerSample,
    samples: toMono(data, format),
  };
}

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
  private total = 0;

  push(chunk: Uint8Array): Int16Array {
    if (!this.format) {
      const joined = new Uint8Array(this.header.length + chunk.length);
      joined.set(this.header);
      joined.set(chunk, this.header.length);
      const h = parseHeader(joined, true);
      if (!h) {
        this.header = joined;
        return new Int16Array(0);
      }
      this.format = {
        sampleRate: h.format.sampleRate,
        channels: h.format.channels,
        bitsPerSample: h.format.bitsPerSample,
      };
      this.blockAlign = h.format.blockAlign;
      this.remaining = h.dataSize ?? Infinity;
      this.header = new Uint8Array(0);
      chunk = joined.subarray(h.dataOffset);
    }
    if (chunk.length > this.remaining) chunk = chunk.subarray(0, this.remaining);
    this.remaining -= chunk.length;
    this.total += chunk.length;
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
