/**
 * Sample format conversion between the earbud's unsigned 8-bit PCM and signed 16-bit PCM.
 * 8-bit PCM is offset binary: 128 is silence; 16-bit is two's complement: 0 is silence.
 */

/** Unsigned 8-bit → signed 16-bit: exact (128 → 0, 0 → -32768, 255 → 32512). */
export function u8ToS16(u8: Uint8Array): Int16Array {
  const out = new Int16Array(u8.length);
  for (let i = 0; i < u8.length; i++) out[i] = ((u8[i] as number) - 128) << 8;
  return out;
}

/**
 * Signed 16-bit → unsigned 8-bit with rounding to the nearest step (ties away from zero, so the
 * conversion is symmetric around silence) and clipping to 0..255. u8ToS16 followed by s16ToU8 is
 * the identity.
 */
export function s16ToU8(s16: Int16Array): Uint8Array {
  const out = new Uint8Array(s16.length);
  for (let i = 0; i < s16.length; i++) {
    const v = s16[i] as number;
    const q = v >= 0 ? Math.floor((v + 128) / 256) : -Math.floor((-v + 128) / 256);
    const u = q + 128;
    out[i] = u > 255 ? 255 : u < 0 ? 0 : u;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Signed 16-bit little-endian bytes → samples: the first `n` samples (default all whole ones), always a
 * copy, so the caller may reuse `bytes`.
 */
export function s16FromLE(bytes: Uint8Array, n = bytes.length >> 1): Int16Array {
  if (LITTLE_ENDIAN) {
    if ((bytes.byteOffset & 1) === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, n).slice();
    return new Int16Array(bytes.slice(0, n * 2).buffer);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
  return out;
}

/** Samples → signed 16-bit little-endian bytes written at `out[at..at + 2 * pcm.length)`. */
export function writeS16LE(out: Uint8Array, at: number, pcm: Int16Array): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.length * 2), at);
    return;
  }
  const dv = new DataView(out.buffer, out.byteOffset + at, pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) dv.setInt16(2 * i, pcm[i] as number, true);
}

/** Duration in milliseconds of `samples` at `sampleRate`. */
export function durationMs(samples: number, sampleRate: number): number {
  return (samples * 1000) / sampleRate;
}
