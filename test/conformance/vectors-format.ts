/**
 * The JSON form of protocol/vectors/*.json (docs/PROTOCOL.md §Test vectors): frames with their byte
 * fields (AUDIO/PLAY `samples`, CONFIG `value`) as lowercase hex strings.
 */
import type { Frame, ProtocolError } from '@budlink/protocol';

export const BYTES_FIELDS = ['samples', 'value'];

export interface GoldenVector {
  name: string;
  comment: string;
  hex: string;
  /** Decode and encode limit (whole frame, header included); MAX_PAYLOAD when absent. */
  maxPayload?: number;
  frame: Record<string, unknown>;
}

export interface ErrorVector {
  name: string;
  /** The field (or length rule) at fault, in words. */
  comment: string;
  hex: string;
  maxPayload?: number;
  error: { code: number; codeName: string; fault: number; faultName: string; offset: number };
}

export interface VectorFile<T> {
  format: string;
  protocol: string;
  description: string;
  vectors: T[];
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] as number).toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error('bad hex: ' + hex.slice(0, 40));
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A frame as JSON: byte fields to hex, gaps as plain objects. */
export function frameToJson(frame: Frame): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(frame)) {
    if (v instanceof Uint8Array) out[k] = toHex(v);
    else if (Array.isArray(v))
      out[k] = v.map((g: { start: number; count: number }) => ({ start: g.start, count: g.count }));
    else out[k] = v;
  }
  return out;
}

/** The JSON form back to a frame. */
export function frameFromJson(json: Record<string, unknown>): Frame {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    out[k] = BYTES_FIELDS.indexOf(k) >= 0 && typeof v === 'string' ? fromHex(v) : v;
  }
  // The JSON was written from a Frame; the codec validates it again on encode.
  return out as unknown as Frame;
}

export type { ProtocolError };
