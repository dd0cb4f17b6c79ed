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

/** Duration in milliseconds of `samples` at `sampleRate`. */
export function durationMs(samples: number, sampleRate: number): number {
  return (samples * 1000) / sampleRate;
}
