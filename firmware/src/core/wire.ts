/**
 * The device's side of the wire format (docs/PROTOCOL.md): decoding what the host may send it, and
 * the two helpers every device frame is built with.
 *
 * Why not the protocol package's codec: on Espruino it costs ~250 JsVars for as long as the program
 * runs (its 18 functions and the spec table held in RAM), a tenth of a Puck.js heap, to encode frames
 * the device builds in a few statements and to decode frames it never receives. Here the layouts live
 * inside the function bodies, so they cost JsVars only while a frame is being decoded. The property
 * tests (test/firmware/unit/wire.test.ts) hold `decodeDown` equal to the reference `decodeFrame` on
 * every device-bound type, valid or mutated, and the uplink frames equal to `encodeFrame`'s.
 *
 * Frames the device never receives (HELLO, WAKE, AUDIO, END, CREDIT, STATUS, PONG, LOG) are refused
 * with BAD_STATE before their fields are checked (PROTOCOL.md §8 allows a receiver that).
 */
import { ErrorCode, Fault, FrameType, MAX_PAYLOAD } from '@budlink/protocol';
import type { ErrorCodeValue, FaultCode, Frame, ProtocolError, SeqGap } from '@budlink/protocol';

/** A new frame of `len` bytes with its 4-byte header written. */
export function frame(len: number, type: number, stream: number, seq: number): Uint8Array {
  const b = new Uint8Array(len);
  b[0] = type;
  b[1] = stream;
  b[2] = seq;
  b[3] = seq >> 8;
  return b;
}

/** Write `v` little-endian in `width` bytes (1, 2 or 4) at `at`. */
export function put(b: Uint8Array, at: number, v: number, width: number): void {
  b[at] = v;
  if (width > 1) b[at + 1] = v >> 8;
  if (width > 2) {
    b[at + 2] = v >> 16;
    b[at + 3] = v >>> 24;
  }
}

function fail(code: ErrorCodeValue, fault: FaultCode, message: string, offset: number): ProtocolError {
  return { code: code, fault: fault, message: message, offset: offset };
}

/** The gap list of a plain ACK (shared: a literal per frame would allocate one). */
export const NO_GAPS: SeqGap[] = [];

/**
 * Decode one frame written by the host, at most `maxPayload` bytes (capped to 244). Returns the frame
 * (the same shape as the reference codec's) or a ProtocolError; never throws. PLAY.samples and
 * CONFIG.value are views into `b`.
 */
export function decodeDown(b: Uint8Array, maxPayload: number): Frame | ProtocolError {
  const len = b.length;
  const limit = maxPayload < MAX_PAYLOAD ? maxPayload : MAX_PAYLOAD;
  const P = Fault.PEER;
  if (len < 4) return fail(ErrorCode.TRUNCATED, P, len + '-byte frame: no header', len);
  if (len > limit) return fail(ErrorCode.TOO_LONG, P, len + '-byte frame over ' + limit, limit);
  const t = b[0] as number;
  if (t === 0 || t > FrameType.LOG) {
    const name = '0x' + (t < 16 ? '0' : '') + t.toString(16);
    return fail(
      ErrorCode.UNKNOWN_TYPE,
      t >= 0x40 || t === 0 ? P : Fault.UNSUPPORTED,
      'unknown frame type ' + name,
      0,
    );
  }
  const seq = (b[2] as number) | ((b[3] as number) << 8);
  const f: Record<string, unknown> = { type: t, stream: b[1], seq: seq };
  if (t === FrameType.PLAY) {
    f.samples = b.subarray(4);
    return f as unknown as Frame;
  }
  // Per type: its name, "s" for a session frame (stream 0) or "-", the tail kind (0 none, 1 bytes, 3
  // text, 4 gaps) and name, then "field:width:min:max" per fixed field in wire order.
  let spec: string;
  if (t === FrameType.WELCOME)
    spec =
      'WELCOME s0 protoMajor:1:0:255 protoMinor:1:0:255 payloadSize:2:20:244 codec:1:1:2 sampleRate:2:4000:16000 keepAliveMs:2:0:65535 nonce:4:0:4294967295';
  else if (t === FrameType.ACK) spec = 'ACK -4gaps cumulative:2:0:65535';
  else if (t === FrameType.NACK) spec = 'NACK -4gaps cumulative:2:0:65535';
  else if (t === FrameType.GATE) spec = 'GATE -0 verdict:1:1:3 reason:1:0:255';
  else if (t === FrameType.STATE) spec = 'STATE s0 state:1:0:5 detail:1:0:255';
  else if (t === FrameType.PLAY_END)
    spec = 'PLAY_END -0 reason:1:1:3 lastSeq:2:0:65535 totalSamples:4:0:4294967295';
  else if (t === FrameType.CONFIG) spec = 'CONFIG s1value op:1:1:3 key:1:1:255';
  else if (t === FrameType.PING) spec = 'PING s0 token:4:0:4294967295';
  else if (t === FrameType.ERROR) spec = 'ERROR s3message code:1:1:9 fault:1:1:3 refType:1:0:255';
  else return fail(ErrorCode.BAD_STATE, P, 'frame type ' + t + ' is not for the device', 0);
  const parts = spec.split(' ');
  const name = parts[0] as string;
  const kind = (parts[1] as string).charCodeAt(1) - 48;
  const tail = (parts[1] as string).slice(2);
  // 1. fixed fields present
  let o = 4;
  for (let i = 2; i < parts.length; i++) {
    const p = (parts[i] as string).split(':');
    const w = +(p[1] as string);
    if (o + w > len) return fail(ErrorCode.TRUNCATED, P, name + ' truncated at ' + p[0], len);
    let v = b[o] as number;
    if (w > 1) v |= (b[o + 1] as number) << 8;
    if (w > 2) v += (b[o + 2] as number) * 0x10000 + (b[o + 3] as number) * 0x1000000;
    f[p[0] as string] = v;
    o += w;
  }
  // 2. the variable part's length
  const fixed = o;
  if (kind === 0 && o !== len)
    return fail(ErrorCode.BAD_LENGTH, P, name + ': ' + (len - o) + ' extra bytes', o);
  if (kind === 4) {
    if (o >= len) return fail(ErrorCode.TRUNCATED, P, name + ' truncated at gap count', len);
    const n = b[o] as number;
    if (len !== o + 1 + n * 3)
      return fail(ErrorCode.BAD_LENGTH, P, name + ': ' + n + ' gaps do not fit ' + len, o);
  }
  // 3. stream of a session frame, then each field's domain in wire order
  if (parts[1]![0] === 's' && b[1] !== 0)
    return fail(ErrorCode.BAD_FIELD, P, name + ' is a session frame: stream must be 0', 1);
  o = 4;
  for (let i = 2; i < parts.length; i++) {
    const p = (parts[i] as string).split(':');
    const v = f[p[0] as string] as number;
    if (v < +(p[2] as string) || v > +(p[3] as string))
      return fail(
        ErrorCode.BAD_FIELD,
        P,
        name + '.' + p[0] + ' = ' + v + ' outside ' + p[2] + '..' + p[3],
        o,
      );
    o += +(p[1] as string);
  }
  // 4. the tail and the rules that involve more than one field
  if (kind === 1) f[tail] = b.subarray(fixed);
  else if (kind === 3) {
    let s = '';
    for (let i = fixed; i < len; i++) {
      const c = b[i] as number;
      if ((c < 0x20 || c > 0x7e) && c !== 9 && c !== 10 && c !== 13)
        return fail(ErrorCode.BAD_FIELD, P, name + '.' + tail + ' not ASCII at ' + (i - fixed), i);
      s += String.fromCharCode(c);
    }
    f[tail] = s;
  } else if (kind === 4) {
    const n = b[fixed] as number;
    if (t === FrameType.NACK && n === 0) return fail(ErrorCode.BAD_LENGTH, P, 'NACK without gaps', fixed);
    const gaps = [];
    let end = f.cumulative as number;
    for (let i = 0; i < n; i++) {
      const at = fixed + 1 + i * 3;
      const start = (b[at] as number) | ((b[at + 1] as number) << 8);
      const count = b[at + 2] as number;
      if (count < 1)
        return fail(ErrorCode.BAD_FIELD, P, name + '.gaps[' + i + '].count outside 1..255', at + 2);
      const d = (start - end) & 0xffff;
      if (i === 0 ? start !== end : d >= 0x8000)
        return fail(
          ErrorCode.BAD_FIELD,
          P,
          name +
            '.gaps[' +
            i +
            '] starts at ' +
            start +
            (i === 0 ? ', not at cumulative' : ', before the previous gap ends'),
          at,
        );
      end = (start + count) & 0xffff;
      const span = (end - (f.cumulative as number)) & 0xffff;
      if (span === 0 || span >= 0x8000)
        return fail(ErrorCode.BAD_FIELD, P, name + '.gaps span 32768 or more', at);
      gaps.push({ start: start, count: count });
    }
    f.gaps = gaps;
  }
  if (t === FrameType.CONFIG) {
    const v = f.value as Uint8Array;
    const key = f.key as number;
    // value bytes per key (index = key): NAME (8) is 0..16 printable ASCII; unknown keys are the device's call
    const want = f.op === 1 ? 0 : key <= 7 ? +('2122211'[key - 1] as string) : key === 8 ? -1 : -2;
    if (want === -1) {
      if (v.length > 16) return fail(ErrorCode.BAD_LENGTH, P, 'CONFIG NAME longer than 16', 22);
      for (let i = 0; i < v.length; i++)
        if ((v[i] as number) < 0x20 || (v[i] as number) > 0x7e)
          return fail(ErrorCode.BAD_FIELD, P, 'CONFIG NAME not printable ASCII', 6 + i);
    } else if (want !== -2 && v.length !== want)
      return fail(
        ErrorCode.BAD_LENGTH,
        P,
        'CONFIG ' + (f.op === 1 ? 'GET' : 'key ' + key) + ' value must be ' + want + ' bytes',
        6,
      );
  }
  return f as unknown as Frame;
}
