/**
 * Frame codec (docs/PROTOCOL.md §Frames). `decodeFrame` never throws: it returns a frame or a typed
 * ProtocolError (fault PEER for bad bytes, UNSUPPORTED for a type code a later 1.x minor may define).
 * `encodeFrame` refuses an inconsistent frame before writing a byte (fault INTERNAL: the caller's bug).
 * Both directions share one table of fields and one validator, so what one accepts the other can build.
 *
 * Runs on Espruino: plain arrays, no DataView, no Map, every read bounds-checked by hand.
 */
import {
  ErrorCode,
  Fault,
  FrameType,
  HEADER_BYTES,
  MAX_PAYLOAD,
  MIN_PAYLOAD,
  MIN_SAMPLE_RATE,
  MAX_SAMPLE_RATE,
  ConfigOp,
  NAME_MAX,
} from './frames';
import type { DecodeResult, EncodeResult, ErrorCodeValue, FaultCode, Frame, ProtocolError } from './frames';
import { seqAdd, seqDiff } from './seq';

/** Tail kinds: what follows the fixed fields. */
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

const RATE = ':' + MIN_SAMPLE_RATE + ':' + MAX_SAMPLE_RATE;

/**
 * Per frame type (index = type code): the tail kind digit and the tail field name, then one
 * "name:width[:min[:max]]" per fixed field in wire order (widths 1, 2 or 4 bytes, little-endian,
 * unsigned; min defaults to 0, max to the largest value of the width). Kept as text and parsed on use
 * (`specOf`): on Espruino a few strings cost far fewer JsVars than arrays of fields held in RAM.
 */
const SPEC_TEXT = [
  '',
  /* 0x01 HELLO */ T_NAME + 'board protoMajor:1 protoMinor:1 capabilities:2 codecs:1:1 sampleRate:2' + RATE +
    ' maxPayload:2:' + MIN_PAYLOAD + ' ringFrames:2 nonce:4',
  /* 0x02 WELCOME */ T_NONE + ' protoMajor:1 protoMinor:1 payloadSize:2:' + MIN_PAYLOAD + ':' + MAX_PAYLOAD +
    ' codec:1:1:2 sampleRate:2' + RATE + ' keepAliveMs:2 nonce:4',
  /* 0x03 WAKE */ T_NONE + ' trigger:1:1:4 score:1 codec:1:1:2 sampleRate:2' + RATE +
    ' preRollMs:2 wakeStart:4 wakeEnd:4',
  /* 0x04 AUDIO */ T_BYTES + 'samples',
  /* 0x05 END */ T_NONE + ' reason:1:1:6 lastSeq:2 totalSamples:4',
  /* 0x06 ACK */ T_GAPS + 'gaps cumulative:2',
  /* 0x07 NACK */ T_GAPS + 'gaps cumulative:2',
  /* 0x08 GATE */ T_NONE + ' verdict:1:1:3 reason:1',
  /* 0x09 STATE */ T_NONE + ' state:1:0:5 detail:1',
  /* 0x0a PLAY */ T_BYTES + 'samples',
  /* 0x0b PLAY_END */ T_NONE + ' reason:1:1:3 lastSeq:2 totalSamples:4',
  /* 0x0c CREDIT */ T_NONE + ' upTo:2 freeBytes:2 playedSamples:4',
  /* 0x0d STATUS */ T_NONE + ' battery:1 freeVars:2 overruns:2 drops:2 errors:2 uptimeS:4',
  /* 0x0e CONFIG */ T_BYTES + 'value op:1:1:3 key:1:1',
  /* 0x0f PING */ T_NONE + ' token:4',
  /* 0x10 PONG */ T_NONE + ' token:4',
  /* 0x11 ERROR */ T_TEXT + 'message code:1:1:9 fault:1:1:3 refType:1',
  /* 0x12 LOG */ T_TEXT + 'text level:1:0:3',
]; // prettier-ignore

/**
 * The parsed spec of a known type: [tail kind, tail field name, then (field name, width, min, max) per
 * fixed field in wire order].
 */
function specOf(type: number): (string | number)[] {
  const parts = (SPEC_TEXT[type] as string).split(' ');
  const head = parts[0] as string;
  const spec: (string | number)[] = [head.charCodeAt(0) - 48, head.slice(1)];
  for (let i = 1; i < parts.length; i++) {
    const p = (parts[i] as string).split(':');
    const w = +(p[1] as string);
    spec.push(
      p[0] as string,
      w,
      p.length > 2 ? +(p[2] as string) : 0,
      p.length > 3 ? +(p[3] as string) : w === 4 ? U32 : w === 2 ? U16 : U8,
    );
  }
  return spec;
}

/** Types whose header stream byte must be 0 (session frames): bit n set for type code n. */
const SESSION_TYPES =
  (1 << FrameType.HELLO) |
  (1 << FrameType.WELCOME) |
  (1 << FrameType.STATE) |
  (1 << FrameType.STATUS) |
  (1 << FrameType.CONFIG) |
  (1 << FrameType.PING) |
  (1 << FrameType.PONG) |
  (1 << FrameType.ERROR) |
  (1 << FrameType.LOG);

/** Value length in bytes of each known CONFIG key (index = key); NAME is variable (-1). */
const CONFIG_VALUE_BYTES = [0, 2, 1, 2, 2, 2, 1, 1, -1];

/** A frame seen as a bag of named fields: the codec is table-driven. */
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

/** True for a frame type code this version knows. */
export function isKnownType(type: number): boolean {
  return type > 0 && type < SPEC_TEXT.length;
}

/** True for the session frame types (header stream must be 0). */
export function isSessionType(type: number): boolean {
  return type > 0 && type < 32 && ((SESSION_TYPES >> type) & 1) === 1;
}

/** Name of a frame type code, e.g. "AUDIO", or "0x2a" when unknown. */
export function frameTypeName(type: number): string {
  const keys = Object.keys(FrameType);
  for (let i = 0; i < keys.length; i++) {
    if ((FrameType as Record<string, number>)[keys[i] as string] === type) return keys[i] as string;
  }
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

/** Byte offset of field `name` in frames of this spec. */
function offsetOf(spec: (string | number)[], name: string): number {
  let o = HEADER_BYTES;
  for (let i = 2; i < spec.length; i += 4) {
    if (spec[i] === name) return o;
    o += spec[i + 1] as number;
  }
  return o;
}

/**
 * Check every field of `f` against its type's table and the cross-field rules. Returns the frame's
 * encoded length, or the first violation (with the byte offset of the offending field).
 */
function validate(f: Fields, fault: FaultCode, parsed: (string | number)[] | null): number | ProtocolError {
  if (typeof f !== 'object' || f === null)
    return protocolError(ErrorCode.BAD_FIELD, fault, 'not a frame object', 0);
  const type = f.type as number;
  if (!isInt(type, 1, U8) || !isKnownType(type)) {
    return protocolError(
      ErrorCode.UNKNOWN_TYPE,
      fault === Fault.PEER && type > 0 && type < 0x40 ? Fault.UNSUPPORTED : fault,
      'unknown frame type ' + String(type),
      0,
    );
  }
  const spec = parsed || specOf(type);
  if (!isInt(f.stream, 0, U8))
    return protocolError(ErrorCode.BAD_FIELD, fault, frameTypeName(type) + '.stream not a u8', 1);
  if (f.stream !== 0 && isSessionType(type)) {
    return protocolError(
      ErrorCode.BAD_FIELD,
      fault,
      frameTypeName(type) + ' is a session frame: stream must be 0',
      1,
    );
  }
  if (!isInt(f.seq, 0, U16))
    return protocolError(ErrorCode.BAD_FIELD, fault, frameTypeName(type) + '.seq not a u16', 2);
  let o = HEADER_BYTES;
  for (let i = 2; i < spec.length; i += 4) {
    const key = spec[i] as string;
    if (!isInt(f[key], spec[i + 2] as number, spec[i + 3] as number)) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        frameTypeName(type) +
          '.' +
          key +
          ' = ' +
          String(f[key]) +
          ' outside ' +
          spec[i + 2] +
          '..' +
          spec[i + 3],
        o,
      );
    }
    o += spec[i + 1] as number;
  }
  const kind = spec[0];
  const tailName = spec[1] as string;
  const tail = f[tailName];
  if (kind === T_BYTES) {
    if (!(tail instanceof Uint8Array)) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        frameTypeName(type) + '.' + tailName + ' not a Uint8Array',
        o,
      );
    }
    o += tail.length;
  } else if (kind === T_NAME || kind === T_TEXT) {
    if (typeof tail !== 'string') {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        frameTypeName(type) + '.' + tailName + ' not a string',
        o,
      );
    }
    if (kind === T_NAME && tail.length > NAME_MAX) {
      return protocolError(
        ErrorCode.BAD_LENGTH,
        fault,
        frameTypeName(type) + '.' + tailName + ' longer than 16',
        o + NAME_MAX,
      );
    }
    const bad = badChar(tail, kind === T_TEXT);
    if (bad >= 0) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        frameTypeName(type) + '.' + tailName + ' not ASCII at ' + bad,
        o + bad,
      );
    }
    o += tail.length;
  } else if (kind === T_GAPS) {
    const r = checkGaps(f, type, tail, fault);
    if (r !== null) return r;
    o += 1 + GAP_BYTES * (tail as unknown[]).length;
  }
  const extra = checkRules(f, type, spec, fault);
  return extra === null ? o : extra;
}

/** ACK/NACK gaps: ascending, non-overlapping runs, the first one starting at `cumulative`. */
function checkGaps(f: Fields, type: number, gaps: unknown, fault: FaultCode): ProtocolError | null {
  const base = ACK_FIXED_BYTES - 1;
  if (!(gaps instanceof Array) || gaps.length > U8) {
    return protocolError(
      ErrorCode.BAD_FIELD,
      fault,
      frameTypeName(type) + '.gaps not an array of <= 255 gaps',
      base,
    );
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
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        frameTypeName(type) + '.gaps[' + i + '].start not a u16',
        at,
      );
    }
    if (!isInt(g.count, 1, U8)) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        frameTypeName(type) + '.gaps[' + i + '].count outside 1..255',
        at + 2,
      );
    }
    const start = g.start as number;
    if (i === 0 ? start !== cumulative : seqDiff(start, end) < 0) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        frameTypeName(type) +
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
      return protocolError(ErrorCode.BAD_FIELD, fault, frameTypeName(type) + '.gaps span 32768 or more', at);
    }
  }
  return null;
}

/** Rules that involve more than one field. */
function checkRules(
  f: Fields,
  type: number,
  spec: (string | number)[],
  fault: FaultCode,
): ProtocolError | null {
  if (type === FrameType.WAKE) {
    if ((f.wakeEnd as number) < (f.wakeStart as number)) {
      return protocolError(
        ErrorCode.BAD_FIELD,
        fault,
        'WAKE.wakeEnd before wakeStart',
        offsetOf(spec, 'wakeEnd'),
      );
    }
  } else if (type === FrameType.STATUS) {
    if ((f.battery as number) > 100 && f.battery !== 255) {
      return protocolError(ErrorCode.BAD_FIELD, fault, 'STATUS.battery outside 0..100 and not 255', 4);
    }
  } else if (type === FrameType.CONFIG) {
    const value = f.value as Uint8Array;
    const key = f.key as number;
    const want = f.op === ConfigOp.GET ? 0 : key < CONFIG_VALUE_BYTES.length ? CONFIG_VALUE_BYTES[key] : -2;
    if (want === -1) {
      if (value.length > NAME_MAX)
        return protocolError(ErrorCode.BAD_LENGTH, fault, 'CONFIG NAME longer than 16', 22);
      for (let i = 0; i < value.length; i++) {
        if ((value[i] as number) < 0x20 || (value[i] as number) > 0x7e) {
          return protocolError(ErrorCode.BAD_FIELD, fault, 'CONFIG NAME not printable ASCII', 6 + i);
        }
      }
    } else if (want !== -2 && value.length !== want) {
      return protocolError(
        ErrorCode.BAD_LENGTH,
        fault,
        'CONFIG ' + (f.op === ConfigOp.GET ? 'GET' : 'key ' + key) + ' value must be ' + want + ' bytes',
        6,
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
  if (!isKnownType(type)) {
    return failed(
      ErrorCode.UNKNOWN_TYPE,
      type === 0 || type >= 0x40 ? Fault.PEER : Fault.UNSUPPORTED,
      'unknown frame type ' + frameTypeName(type),
      0,
    );
  }
  const seq = (bytes[2] as number) | ((bytes[3] as number) << 8);
  if (type === FrameType.AUDIO || type === FrameType.PLAY) {
    // Hot path: no fields to check, the samples are the rest.
    return {
      ok: true,
      frame: { type: type, stream: bytes[1] as number, seq: seq, samples: bytes.subarray(4) },
    };
  }
  const spec = specOf(type);
  const f: Fields = { type: type, stream: bytes[1], seq: seq };
  let o = HEADER_BYTES;
  for (let i = 2; i < spec.length; i += 4) {
    const w = spec[i + 1] as number;
    if (o + w > len) {
      return failed(ErrorCode.TRUNCATED, Fault.PEER, frameTypeName(type) + ' truncated at ' + spec[i], len);
    }
    let v = bytes[o] as number;
    if (w > 1) v |= (bytes[o + 1] as number) << 8;
    if (w > 2) v += (bytes[o + 2] as number) * 0x10000 + (bytes[o + 3] as number) * 0x1000000;
    f[spec[i] as string] = v;
    o += w;
  }
  const kind = spec[0];
  if (kind === T_NONE) {
    if (o !== len) {
      return failed(
        ErrorCode.BAD_LENGTH,
        Fault.PEER,
        frameTypeName(type) + ': ' + (len - o) + ' extra bytes',
        o,
      );
    }
  } else if (kind === T_BYTES) {
    f[spec[1] as string] = bytes.subarray(o);
  } else if (kind === T_GAPS) {
    if (o >= len)
      return failed(ErrorCode.TRUNCATED, Fault.PEER, frameTypeName(type) + ' truncated at gap count', len);
    const n = bytes[o] as number;
    if (len !== o + 1 + n * GAP_BYTES) {
      return failed(
        ErrorCode.BAD_LENGTH,
        Fault.PEER,
        frameTypeName(type) + ': ' + n + ' gaps do not fit ' + len,
        o,
      );
    }
    const gaps = [];
    for (let p = o + 1; p < len; p += GAP_BYTES) {
      gaps.push({
        start: (bytes[p] as number) | ((bytes[p + 1] as number) << 8),
        count: bytes[p + 2] as number,
      });
    }
    f.gaps = gaps;
  } else {
    let s = '';
    for (let p = o; p < len; p++) s += String.fromCharCode(bytes[p] as number);
    f[spec[1] as string] = s;
  }
  const r = validate(f, Fault.PEER, spec);
  // The table's types are the Frame union's: a validated bag of fields is that frame.
  return typeof r === 'number' ? { ok: true, frame: f as unknown as Frame } : { ok: false, error: r };
}

/**
 * Check `frame` and return its encoded length, or the error encodeFrame would give. `maxPayload`
 * as for encodeFrame.
 */
export function encodedLength(frame: Frame, maxPayload?: number): number | ProtocolError {
  // Frames are validated as bags of named fields (see SPEC_TEXT).
  const n = validate(frame as unknown as Fields, Fault.INTERNAL, null);
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

/** Write the 4-byte header at `out[at]`: the hot path for AUDIO/PLAY built in place. */
export function writeHeader(out: Uint8Array, at: number, type: number, stream: number, seq: number): void {
  out[at] = type;
  out[at + 1] = stream;
  out[at + 2] = seq & 0xff;
  out[at + 3] = (seq >> 8) & 0xff;
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
  write(frame as unknown as Fields, out, at);
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
      writeHeader(out, 0, frame.type, frame.stream, frame.seq);
      out.set(frame.samples, HEADER_BYTES);
      return { ok: true, bytes: out };
    }
  }
  const n = encodedLength(frame, maxPayload);
  if (typeof n !== 'number') return { ok: false, error: n };
  const out = new Uint8Array(n);
  write(frame as unknown as Fields, out, 0);
  return { ok: true, bytes: out };
}

/** Write an already validated frame. */
function write(f: Fields, out: Uint8Array, at: number): void {
  const type = f.type as number;
  const spec = specOf(type);
  writeHeader(out, at, type, f.stream as number, f.seq as number);
  let o = at + HEADER_BYTES;
  for (let i = 2; i < spec.length; i += 4) {
    const w = spec[i + 1] as number;
    const v = f[spec[i] as string] as number;
    out[o] = v & 0xff;
    if (w > 1) out[o + 1] = (v >> 8) & 0xff;
    if (w > 2) {
      out[o + 2] = (v >> 16) & 0xff;
      out[o + 3] = (v >>> 24) & 0xff;
    }
    o += w;
  }
  const kind = spec[0];
  const tail = f[spec[1] as string];
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
