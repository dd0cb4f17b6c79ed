/**
 * Frame codec (docs/PROTOCOL.md §Frames). `decodeFrame` never throws: it returns a frame or a typed
 * ProtocolError (fault PEER for bad bytes, UNSUPPORTED for a type code a later 1.x minor may define).
 * `encodeFrame` refuses an inconsistent frame before writing a byte (fault INTERNAL: the caller's bug).
 * Both directions run from FRAME_SPEC (frames.ts) and share one validator, so what one accepts the
 * other can build.
 *
 * Runs on Espruino: plain arrays, no DataView, no Map, every read bounds-checked by hand. (The firmware
 * itself does not link it: firmware/src/core/wire.ts says why.)
 */
import {
  ErrorCode,
  Fault,
  FrameType,
  FRAME_SPEC,
  HEADER_BYTES,
  MAX_PAYLOAD,
  ConfigOp,
  NAME_MAX,
} from './frames';
import type {
  DecodeResult,
  EncodeResult,
  ErrorCodeValue,
  FaultCode,
  FieldSpec,
  Frame,
  FrameName,
  FrameSpec,
  Header,
  ProtocolError,
  TailKind,
} from './frames';
import { seqAdd, seqDiff } from './seq';

/** Tail kinds (FrameSpec.tail.kind), as small numbers for the hot loops. */
const T_NONE = 0; // nothing: the frame ends after the fixed fields
const T_BYTES = 1; // rest of the frame as a zero-copy Uint8Array view
const T_NAME = 2; // rest as printable ASCII (0x20..0x7e), at most NAME_MAX bytes
const T_TEXT = 3; // rest as ASCII text: printable plus TAB, LF, CR
const T_GAPS = 4; // u8 count, then count x (u16 start, u8 count)

/** Bytes of an ACK/NACK before its gaps (header, cumulative, gap count). */
export const ACK_FIXED_BYTES = 7;
/** Bytes per ACK/NACK gap entry. */
export const GAP_BYTES = 3;

const U8 = 0xff;
const U16 = 0xffff;
const U32 = 0xffffffff;

/** FRAME_SPEC of one type flattened for the codec's loops: parallel arrays, one entry per fixed field. */
interface Layout {
  name: string;
  session: boolean;
  tail: number; // T_*
  tailName: string;
  names: string[];
  widths: number[];
  mins: number[];
  maxs: number[];
  /** Byte offset of each fixed field. */
  offsets: number[];
}

const TAIL_KINDS: { [kind in TailKind]: number } = {
  bytes: T_BYTES,
  name: T_NAME,
  text: T_TEXT,
  gaps: T_GAPS,
};

/** Flatten one FRAME_SPEC entry. An enum field's domain is its values' min..max (they are contiguous). */
function layoutOf(name: FrameName): Layout {
  const spec: FrameSpec = FRAME_SPEC[name];
  const l: Layout = {
    name: name,
    session: spec.session,
    tail: spec.tail ? TAIL_KINDS[spec.tail.kind] : T_NONE,
    tailName: spec.tail ? spec.tail.name : '',
    names: [],
    widths: [],
    mins: [],
    maxs: [],
    offsets: [],
  };
  let o = HEADER_BYTES;
  for (let i = 0; i < spec.fields.length; i++) {
    const f = spec.fields[i] as FieldSpec;
    let min = f.min === undefined ? 0 : f.min;
    let max = f.max === undefined ? (f.width === 4 ? U32 : f.width === 2 ? U16 : U8) : f.max;
    if (f.values) {
      const keys = Object.keys(f.values);
      min = U32;
      max = 0;
      for (let k = 0; k < keys.length; k++) {
        const v = f.values[keys[k] as string] as number;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    l.names.push(f.name);
    l.widths.push(f.width);
    l.mins.push(min);
    l.maxs.push(max);
    l.offsets.push(o);
    o += f.width;
  }
  return l;
}

/** Every FRAME_SPEC entry flattened, by type code (index = code; null where none). */
function buildLayouts(): (Layout | null)[] {
  const out: (Layout | null)[] = [null];
  const names = Object.keys(FrameType) as FrameName[];
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as FrameName;
    while (out.length <= FrameType[name]) out.push(null);
    out[FrameType[name]] = layoutOf(name);
  }
  return out;
}

const LAYOUTS = /* @__PURE__ */ buildLayouts();

/** Value length in bytes of each known CONFIG key (index = key); NAME is variable (-1). */
const CONFIG_VALUE_BYTES = [0, 2, 1, 2, 2, 2, 1, 1, -1];

/** A frame seen as a bag of named fields: what the table-driven loops read and write. */
type Fields = Record<string, unknown>;

/** Build a ProtocolError. */
export function protocolError(
  code: ErrorCodeValue,
  fault: FaultCode,
  message: string,
  offset?: number,
): ProtocolError {
  const e: ProtocolError = { code: code, fault: fault, message: message };
  if (offset !== undefined) e.offset = offset;
  return e;
}

function failed(code: ErrorCodeValue, fault: FaultCode, message: string, offset: number) {
  return { ok: false as const, error: protocolError(code, fault, message, offset) };
}

/** The frame size limit: `maxPayload` (whole frame incl. header) capped to MAX_PAYLOAD. */
function limitOf(maxPayload: number | undefined): number {
  return maxPayload === undefined || !(maxPayload < MAX_PAYLOAD) ? MAX_PAYLOAD : maxPayload;
}

/** The layout of a known type code, else null. */
function layoutAt(type: number): Layout | null {
  const l = type > 0 && type < LAYOUTS.length ? LAYOUTS[type] : null;
  return l === undefined ? null : l;
}

/** True for a frame type code this version knows. */
export function isKnownType(type: number): boolean {
  return layoutAt(type) !== null;
}

/** True for the session frame types (header stream must be 0). */
export function isSessionType(type: number): boolean {
  const l = layoutAt(type);
  return l !== null && l.session;
}

/** Name of a frame type code, e.g. "AUDIO", or "0x2a" when unknown. */
export function frameTypeName(type: number): string {
  const l = layoutAt(type);
  if (l !== null) return l.name;
  return '0x' + (type < 16 ? '0' : '') + type.toString(16);
}

function isInt(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && v >= min && v <= max && Math.floor(v) === v;
}

/** Index of the first character of `s` outside the allowed set, or -1. `text` also allows TAB/LF/CR. */
function badChar(s: string, text: boolean): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      if (!text || (c !== 9 && c !== 10 && c !== 13)) return i;
    }
  }
  return -1;
}

/** Byte offset of field `name` in frames of this layout (the end of the fixed fields if absent). */
function offsetOf(l: Layout, name: string): number {
  const i = l.names.indexOf(name);
  return i >= 0 ? (l.offsets[i] as number) : HEADER_BYTES;
}

/**
 * Check every field of `f` against its type's spec and the cross-field rules. Returns the frame's
 * encoded length, or the first violation (with the byte offset of the offending field).
 */
function validate(f: Fields, fault: FaultCode): number | ProtocolError {
  if (typeof f !== 'object' || f === null)
    return protocolError(ErrorCode.BAD_FIELD, fault, 'not a frame object', 0);
  const type = f.type as number;
  const l = isInt(type, 1, U8) ? layoutAt(type) : null;
  if (l === null) {
    return protocolError(
      ErrorCode.UNKNOWN_TYPE,
      fault === Fault.PEER && type > 0 && type < 0x40 ? Fault.UNSUPPORTED : fault,
      'unknown frame type ' + String(type),
      0,
    );
  }
  if (!isInt(f.stream, 0, U8))
    return protocolError(ErrorCode.BAD_FIELD, fault, l.name + '.stream not a u8', 1);
  if (f.stream !== 0 && l.session) {
    return protocolError(ErrorCode.BAD_FIELD, fault, l.name + ' is a session frame: stream must be 0', 1);
  }
  if (!isInt(f.seq, 0, U16)) return protocolError(ErrorCode.BAD_FIELD, fault, l.name + '.seq not a u16', 2);
  let o = HEADER_BYTES;
  for (let i = 0; i < l.names.length; i++) {
    const key = l.names[i] as string;
    const min = l.mins[i] as number;
    const max = l.maxs[i] as number;
    if (!isInt(f[key], min, max)) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        l.name + '.' + key + ' = ' + String(f[key]) + ' outside ' + min + '..' + max,
        o,
      );
    }
    o += l.widths[i] as number;
  }
  const kind = l.tail;
  const tail = f[l.tailName];
  if (kind === T_BYTES) {
    if (!(tail instanceof Uint8Array)) {
      return protocolError(ErrorCode.BAD_FIELD, fault, l.name + '.' + l.tailName + ' not a Uint8Array', o);
    }
    o += tail.length;
  } else if (kind === T_NAME || kind === T_TEXT) {
    if (typeof tail !== 'string') {
      return protocolError(ErrorCode.BAD_FIELD, fault, l.name + '.' + l.tailName + ' not a string', o);
    }
    if (kind === T_NAME && tail.length > NAME_MAX) {
      return protocolError(
        ErrorCode.BAD_LENGTH,
        fault,
        l.name + '.' + l.tailName + ' longer than ' + NAME_MAX,
        o + NAME_MAX,
      );
    }
    const bad = badChar(tail, kind === T_TEXT);
    if (bad >= 0) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        l.name + '.' + l.tailName + ' not ASCII at ' + bad,
        o + bad,
      );
    }
    o += tail.length;
  } else if (kind === T_GAPS) {
    const r = checkGaps(f, l, tail, fault);
    if (r !== null) return r;
    o += 1 + GAP_BYTES * (tail as unknown[]).length;
  }
  // Every field is in its domain: from here on `f` is the frame its type code says.
  const extra = checkRules(f as unknown as Frame, l, fault);
  return extra === null ? o : extra;
}

/** ACK/NACK gaps: ascending, non-overlapping runs, the first one starting at `cumulative`. */
function checkGaps(f: Fields, l: Layout, gaps: unknown, fault: FaultCode): ProtocolError | null {
  const base = ACK_FIXED_BYTES - 1;
  if (!(gaps instanceof Array) || gaps.length > U8) {
    return protocolError(ErrorCode.BAD_FIELD, fault, l.name + '.gaps not an array of <= 255 gaps', base);
  }
  if (f.type === FrameType.NACK && gaps.length === 0) {
    return protocolError(ErrorCode.BAD_LENGTH, fault, 'NACK without gaps', base);
  }
  const cumulative = f.cumulative as number;
  let end = cumulative;
  for (let i = 0; i < gaps.length; i++) {
    const g = gaps[i] as Fields;
    const at = ACK_FIXED_BYTES + i * GAP_BYTES;
    if (typeof g !== 'object' || g === null || !isInt(g.start, 0, U16)) {
      return protocolError(ErrorCode.BAD_FIELD, fault, l.name + '.gaps[' + i + '].start not a u16', at);
    }
    if (!isInt(g.count, 1, U8)) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        l.name + '.gaps[' + i + '].count outside 1..255',
        at + 2,
      );
    }
    const start = g.start as number;
    if (i === 0 ? start !== cumulative : seqDiff(start, end) < 0) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        l.name +
          '.gaps[' +
          i +
          '] starts at ' +
          start +
          (i === 0 ? ', not at cumulative' : ', before the previous gap ends'),
        at,
      );
    }
    end = seqAdd(start, g.count as number);
    if (seqDiff(end, cumulative) <= 0) {
      return protocolError(ErrorCode.BAD_FIELD, fault, l.name + '.gaps span 32768 or more', at);
    }
  }
  return null;
}

/** Rules that involve more than one field, or a domain a min..max cannot say. */
function checkRules(f: Frame, l: Layout, fault: FaultCode): ProtocolError | null {
  if (f.type === FrameType.WAKE) {
    if (f.wakeEnd < f.wakeStart) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        'WAKE.wakeEnd before wakeStart',
        offsetOf(l, 'wakeEnd'),
      );
    }
  } else if (f.type === FrameType.STATUS) {
    if (f.battery > 100 && f.battery !== 255) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        'STATUS.battery outside 0..100 and not 255',
        offsetOf(l, 'battery'),
      );
    }
  } else if (f.type === FrameType.CONFIG) {
    const at = offsetOf(l, 'key') + 1;
    const want =
      f.op === ConfigOp.GET
        ? 0
        : f.key < CONFIG_VALUE_BYTES.length
          ? (CONFIG_VALUE_BYTES[f.key] as number)
          : -2;
    if (want === -1) {
      if (f.value.length > NAME_MAX)
        return protocolError(
          ErrorCode.BAD_LENGTH,
          fault,
          'CONFIG NAME longer than ' + NAME_MAX,
          at + NAME_MAX,
        );
      for (let i = 0; i < f.value.length; i++) {
        if ((f.value[i] as number) < 0x20 || (f.value[i] as number) > 0x7e) {
          return protocolError(ErrorCode.BAD_FIELD, fault, 'CONFIG NAME not printable ASCII', at + i);
        }
      }
    } else if (want !== -2 && f.value.length !== want) {
      return protocolError(
        ErrorCode.BAD_LENGTH,
        fault,
        'CONFIG ' + (f.op === ConfigOp.GET ? 'GET' : 'key ' + f.key) + ' value must be ' + want + ' bytes',
        at,
      );
    }
  }
  return null;
}

/**
 * Decode one frame (one GATT notification or write). Never throws. `maxPayload` is the largest
 * whole frame accepted (the negotiated payload size), capped to MAX_PAYLOAD.
 * AUDIO.samples, PLAY.samples and CONFIG.value are views into `bytes` (no copy): copy them if the
 * buffer will be reused.
 */
export function decodeFrame(bytes: Uint8Array, maxPayload?: number): DecodeResult {
  const len = bytes.length;
  const limit = limitOf(maxPayload);
  if (len < HEADER_BYTES) return failed(ErrorCode.TRUNCATED, Fault.PEER, len + '-byte frame: no header', len);
  if (len > limit) return failed(ErrorCode.TOO_LONG, Fault.PEER, len + '-byte frame over ' + limit, limit);
  const type = bytes[0] as number;
  const seq = (bytes[2] as number) | ((bytes[3] as number) << 8);
  if (type === FrameType.AUDIO || type === FrameType.PLAY) {
    // Hot path: no fields to check, the samples are the rest.
    return {
      ok: true,
      frame: { type: type, stream: bytes[1] as number, seq: seq, samples: bytes.subarray(4) },
    };
  }
  const l = layoutAt(type);
  if (l === null) {
    return failed(
      ErrorCode.UNKNOWN_TYPE,
      type === 0 || type >= 0x40 ? Fault.PEER : Fault.UNSUPPORTED,
      'unknown frame type ' + frameTypeName(type),
      0,
    );
  }
  const f: Fields = { type: type, stream: bytes[1], seq: seq };
  let o = HEADER_BYTES;
  for (let i = 0; i < l.names.length; i++) {
    const w = l.widths[i] as number;
    if (o + w > len) {
      return failed(ErrorCode.TRUNCATED, Fault.PEER, l.name + ' truncated at ' + l.names[i], len);
    }
    let v = bytes[o] as number;
    if (w > 1) v |= (bytes[o + 1] as number) << 8;
    if (w > 2) v += (bytes[o + 2] as number) * 0x10000 + (bytes[o + 3] as number) * 0x1000000;
    f[l.names[i] as string] = v;
    o += w;
  }
  const kind = l.tail;
  if (kind === T_NONE) {
    if (o !== len) {
      return failed(ErrorCode.BAD_LENGTH, Fault.PEER, l.name + ': ' + (len - o) + ' extra bytes', o);
    }
  } else if (kind === T_BYTES) {
    f[l.tailName] = bytes.subarray(o);
  } else if (kind === T_GAPS) {
    if (o >= len) return failed(ErrorCode.TRUNCATED, Fault.PEER, l.name + ' truncated at gap count', len);
    const n = bytes[o] as number;
    if (len !== o + 1 + n * GAP_BYTES) {
      return failed(ErrorCode.BAD_LENGTH, Fault.PEER, l.name + ': ' + n + ' gaps do not fit ' + len, o);
    }
    const gaps = [];
    for (let p = o + 1; p < len; p += GAP_BYTES) {
      gaps.push({
        start: (bytes[p] as number) | ((bytes[p + 1] as number) << 8),
        count: bytes[p + 2] as number,
      });
    }
    f[l.tailName] = gaps;
  } else {
    let s = '';
    for (let p = o; p < len; p++) s += String.fromCharCode(bytes[p] as number);
    f[l.tailName] = s;
  }
  const r = validate(f, Fault.PEER);
  // FRAME_SPEC is what Frame is derived from: a validated bag of its fields is that frame.
  return typeof r === 'number' ? { ok: true, frame: f as unknown as Frame } : { ok: false, error: r };
}

/**
 * Check `frame` and return its encoded length, or the error encodeFrame would give. `maxPayload`
 * as for encodeFrame.
 */
export function encodedLength(frame: Frame, maxPayload?: number): number | ProtocolError {
  // Validated as a bag of named fields: the caller's object may be anything at run time.
  const n = validate(frame as unknown as Fields, Fault.INTERNAL);
  if (typeof n !== 'number') return n;
  const limit = limitOf(maxPayload);
  if (n > limit) {
    return protocolError(
      ErrorCode.TOO_LONG,
      Fault.INTERNAL,
      frameTypeName(frame.type) + ' of ' + n + ' bytes over ' + limit,
      limit,
    );
  }
  return n;
}

/**
 * Write the 4-byte header of `h` at `out[at]`: the hot path for AUDIO/PLAY built in place (pass the
 * frame itself, or any { type, stream, seq }). Unchecked: the caller keeps stream a u8 and seq a u16.
 */
export function writeHeader(out: Uint8Array, at: number, h: Header): void {
  out[at] = h.type;
  out[at + 1] = h.stream;
  out[at + 2] = h.seq & 0xff;
  out[at + 3] = (h.seq >> 8) & 0xff;
}

/**
 * Encode `frame` into `out` at offset `at` (no allocation besides the result). Returns the number of
 * bytes written, or the error; nothing is written on error, including when `out` is too small.
 */
export function encodeInto(
  frame: Frame,
  out: Uint8Array,
  at: number,
  maxPayload?: number,
): { ok: true; length: number } | { ok: false; error: ProtocolError } {
  const n = encodedLength(frame, maxPayload);
  if (typeof n !== 'number') return { ok: false, error: n };
  if (at < 0 || at + n > out.length) {
    return failed(ErrorCode.OVERFLOW, Fault.INTERNAL, 'output buffer too small for ' + n + ' bytes', at);
  }
  write(frame, out, at);
  return { ok: true, length: n };
}

/**
 * Encode one frame; `maxPayload` is the whole-frame limit (header included): the negotiated payload
 * size, default and cap MAX_PAYLOAD. Refuses (fault INTERNAL) any field out of range, non-ASCII or
 * over-long string, and a frame longer than the limit.
 */
export function encodeFrame(frame: Frame, maxPayload?: number): EncodeResult {
  if (
    frame &&
    (frame.type === FrameType.AUDIO || frame.type === FrameType.PLAY) &&
    frame.samples instanceof Uint8Array
  ) {
    // Hot path: header checks only.
    const len = HEADER_BYTES + frame.samples.length;
    if (isInt(frame.stream, 0, U8) && isInt(frame.seq, 0, U16) && len <= limitOf(maxPayload)) {
      const out = new Uint8Array(len);
      writeHeader(out, 0, frame);
      out.set(frame.samples, HEADER_BYTES);
      return { ok: true, bytes: out };
    }
  }
  const n = encodedLength(frame, maxPayload);
  if (typeof n !== 'number') return { ok: false, error: n };
  const out = new Uint8Array(n);
  write(frame, out, 0);
  return { ok: true, bytes: out };
}

/** Write an already validated frame. */
function write(frame: Frame, out: Uint8Array, at: number): void {
  const l = LAYOUTS[frame.type] as Layout;
  // The layout names the frame's fields: read them by name.
  const f = frame as unknown as Fields;
  writeHeader(out, at, frame);
  let o = at + HEADER_BYTES;
  for (let i = 0; i < l.names.length; i++) {
    const w = l.widths[i] as number;
    const v = f[l.names[i] as string] as number;
    out[o] = v & 0xff;
    if (w > 1) out[o + 1] = (v >> 8) & 0xff;
    if (w > 2) {
      out[o + 2] = (v >> 16) & 0xff;
      out[o + 3] = (v >>> 24) & 0xff;
    }
    o += w;
  }
  const kind = l.tail;
  const tail = f[l.tailName];
  if (kind === T_BYTES) {
    out.set(tail as Uint8Array, o);
  } else if (kind === T_GAPS) {
    const gaps = tail as Fields[];
    out[o++] = gaps.length;
    for (let i = 0; i < gaps.length; i++) {
      const g = gaps[i] as Fields;
      out[o] = (g.start as number) & 0xff;
      out[o + 1] = (g.start as number) >> 8;
      out[o + 2] = g.count as number;
      o += GAP_BYTES;
    }
  } else if (kind !== T_NONE) {
    const s = tail as string;
    for (let i = 0; i < s.length; i++) out[o + i] = s.charCodeAt(i);
  }
}

/** Gap entries that fit in an ACK/NACK of `maxPayload` bytes. */
export function maxGapsFor(maxPayload: number): number {
  const n = Math.floor((limitOf(maxPayload) - ACK_FIXED_BYTES) / GAP_BYTES);
  return n > U8 ? U8 : n;
}
