/**
 * The JSON form of protocol/vectors/*.json (docs/PROTOCOL.md §Test vectors, format budlink-vectors/2):
 * every vector lists its bytes field by field, written by hand from the spec's layouts, and `hex` is
 * their concatenation. Helpers here read that form; none of them uses the codec.
 */
import type { Frame } from '@budlink/protocol';

/** One field of a vector as it sits on the wire. */
export interface FieldBytes {
  /** frames.ts name ("type", "stream", "seq", "sampleRate", …); ACK/NACK: "gaps.length", "gaps[i].start", "gaps[i].count". */
  field: string;
  /** The field's bytes, lowercase hex (little-endian for integers). */
  bytes: string;
  /** Integer or text value; absent for byte fields (AUDIO/PLAY samples, CONFIG value: the bytes are the value). */
  value?: number | string;
}

export interface GoldenVector {
  name: string;
  comment: string;
  /** Decode and encode limit (whole frame, header included); MAX_PAYLOAD when absent. */
  maxPayload?: number;
  /** The whole frame: the concatenation of `fields[].bytes`. */
  hex: string;
  fields: FieldBytes[];
}

export interface ErrorVector {
  name: string;
  /** The field (or length rule) at fault, in words. */
  comment: string;
  hex: string;
  maxPayload?: number;
  /** The bytes as a decoder reads them (a cut field holds only the bytes present; "extra" = bytes after the frame). */
  fields: FieldBytes[];
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

const GAP_FIELD = /^gaps\[(\d+)\]\.(start|count)$/;

/**
 * The frame a golden vector's fields describe, in JSON form: byte fields as lowercase hex, gaps as
 * [{ start, count }], the rest as their values.
 */
export function frameJsonOf(fields: FieldBytes[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const gap = GAP_FIELD.exec(f.field);
    if (gap) {
      const gaps = (out.gaps ??= []) as Record<string, unknown>[];
      const i = Number(gap[1]);
      gaps[i] ??= {};
      (gaps[i] as Record<string, unknown>)[gap[2] as string] = f.value;
    } else if (f.field === 'gaps.length') {
      out.gaps ??= [];
    } else {
      out[f.field] = f.value === undefined ? f.bytes : f.value;
    }
  }
  return out;
}

/** A decoded frame in the same JSON form (byte fields to hex, gaps as plain objects). */
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

/** The JSON form back to a frame for the encoder: byte fields (given as hex) to Uint8Array. */
export function frameFromJson(json: Record<string, unknown>, byteFields: string[]): Frame {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    out[k] = byteFields.indexOf(k) >= 0 && typeof v === 'string' ? fromHex(v) : v;
  }
  // Built from a vector, not a Frame: the codec validates it on encode.
  return out as unknown as Frame;
}

/** Names of the fields a vector gives as bare bytes (no value). */
export function byteFieldsOf(fields: FieldBytes[]): string[] {
  return fields.filter((f) => f.value === undefined).map((f) => f.field);
}
