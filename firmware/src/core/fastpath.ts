/**
 * Fast decoding of the two high-rate downlink frames: a plain ACK (no gaps; the host sends one every
 * few uplink frames) and PLAY. The generic table-driven decodeFrame costs ~1,000 interpreter steps
 * per frame; these take a dozen. Anything unusual returns null and goes through decodeFrame, which
 * produces the typed error — so both paths accept exactly the same frames (a property test checks it).
 */
import { FrameType, HEADER_BYTES } from '@budlink/protocol';
import type { AckFrame, PlayFrame } from '@budlink/protocol';

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
