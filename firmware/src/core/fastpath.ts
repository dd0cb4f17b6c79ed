/**
 * Hand-coded decoders and encoders for the frames the device handles often or in a time-critical
 * handler. The generic table-driven decodeFrame / encodeFrame cost ~1,000–2,400 interpreter steps per
 * frame (they parse the field table and validate every field); these take a few dozen. Anything
 * unusual returns null and goes through decodeFrame, which produces the typed error — so both paths
 * accept exactly the same frames and produce the same bytes (property tests check it).
 */
import {
  FrameType,
  HEADER_BYTES,
  MAX_PAYLOAD,
  MAX_SAMPLE_RATE,
  MIN_PAYLOAD,
  MIN_SAMPLE_RATE,
} from '@budlink/protocol';
import type { AckFrame, PlayFrame, WelcomeFrame } from '@budlink/protocol';

/** ACK with zero gaps: 4-byte header, u16 cumulative, u8 gap count = 0. */
export function fastAck(bytes: Uint8Array): AckFrame | null {
  if (bytes.length !== 7 || bytes[0] !== FrameType.ACK || bytes[6] !== 0) return null;
  return {
    type: FrameType.ACK,
    stream: bytes[1] as number,
    seq: (bytes[2] as number) | ((bytes[3] as number) << 8),
    cumulative: (bytes[4] as number) | ((bytes[5] as number) << 8),
    gaps: [],
  };
}

/** PLAY within `maxPayload`: the samples are a view into `bytes`. */
export function fastPlay(bytes: Uint8Array, maxPayload: number): PlayFrame | null {
  const n = bytes.length;
  if (bytes[0] !== FrameType.PLAY || n < HEADER_BYTES || n > maxPayload) return null;
  return {
    type: FrameType.PLAY,
    stream: bytes[1] as number,
    seq: (bytes[2] as number) | ((bytes[3] as number) << 8),
    samples: bytes.subarray(HEADER_BYTES),
  };
}

/** A valid WELCOME (17 bytes, session stream 0, every field in its domain), or null. */
export function fastWelcome(b: Uint8Array): WelcomeFrame | null {
  if (b.length !== 17 || b[0] !== FrameType.WELCOME || b[1] !== 0) return null;
  const payloadSize = (b[6] as number) | ((b[7] as number) << 8);
  const codec = b[8] as number;
  const rate = (b[9] as number) | ((b[10] as number) << 8);
  if (payloadSize < MIN_PAYLOAD || payloadSize > MAX_PAYLOAD || codec < 1 || codec > 2) return null;
  if (rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE) return null;
  return {
    type: FrameType.WELCOME,
    stream: 0,
    seq: (b[2] as number) | ((b[3] as number) << 8),
    protoMajor: b[4] as number,
    protoMinor: b[5] as number,
    payloadSize: payloadSize,
    codec: codec,
    sampleRate: rate,
    keepAliveMs: (b[11] as number) | ((b[12] as number) << 8),
    nonce:
      (b[13] as number) +
      (b[14] as number) * 0x100 +
      (b[15] as number) * 0x10000 +
      (b[16] as number) * 0x1000000,
  };
}

/** A zeroed frame of `len` bytes with its header. */
export function frameOf(len: number, type: number, stream: number, seq: number): Uint8Array {
  const b = new Uint8Array(len);
  b[0] = type;
  b[1] = stream;
  b[2] = seq;
  b[3] = seq >> 8;
  return b;
}

/** u32 little-endian at `at` (typed-array stores keep the low 8 bits). */
function u32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >> 8;
  b[at + 2] = v >> 16;
  b[at + 3] = v >>> 24;
}

/**
 * WAKE (19 bytes). The caller guarantees the domains: trigger 1..4, codec 1..2, rate 4000..16000,
 * wakeEnd >= wakeStart, u16/u32 fields in range.
 */
export function encodeWake(
  stream: number,
  seq: number,
  trigger: number,
  score: number,
  codec: number,
  rate: number,
  preRollMs: number,
  wakeStart: number,
  wakeEnd: number,
): Uint8Array {
  const b = frameOf(19, FrameType.WAKE, stream, seq);
  b[4] = trigger;
  b[5] = score;
  b[6] = codec;
  b[7] = rate;
  b[8] = rate >> 8;
  b[9] = preRollMs;
  b[10] = preRollMs >> 8;
  u32(b, 11, wakeStart);
  u32(b, 15, wakeEnd);
  return b;
}

/** END (11 bytes): reason 1..6, lastSeq u16, totalSamples u32. */
export function encodeEnd(
  stream: number,
  seq: number,
  reason: number,
  lastSeq: number,
  total: number,
): Uint8Array {
  const b = frameOf(11, FrameType.END, stream, seq);
  b[4] = reason;
  b[5] = lastSeq;
  b[6] = lastSeq >> 8;
  u32(b, 7, total);
  return b;
}

/** STATUS (17 bytes, session stream 0); u16 fields are masked, battery must be 0..100 or 255. */
export function encodeStatus(
  seq: number,
  battery: number,
  freeVars: number,
  overruns: number,
  drops: number,
  errors: number,
  uptimeS: number,
): Uint8Array {
  const b = frameOf(17, FrameType.STATUS, 0, seq);
  b[4] = battery;
  b[5] = freeVars;
  b[6] = freeVars >> 8;
  b[7] = overruns;
  b[8] = overruns >> 8;
  b[9] = drops;
  b[10] = drops >> 8;
  b[11] = errors;
  b[12] = errors >> 8;
  u32(b, 13, uptimeS);
  return b;
}

/** PONG (8 bytes, session stream 0) echoing a u32 token. */
export function encodePong(seq: number, token: number): Uint8Array {
  const b = frameOf(8, FrameType.PONG, 0, seq);
  u32(b, 4, token);
  return b;
}
