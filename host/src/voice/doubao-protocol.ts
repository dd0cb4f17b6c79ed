/**
 * The binary frame format of Volcengine's Doubao end-to-end realtime speech dialogue API
 * ("端到端实时语音大模型API接入文档", https://www.volcengine.com/docs/6561/1594356, section 2.2).
 *
 * A frame is one WebSocket binary message, every integer big-endian:
 *
 *   byte 0  protocol version (high 4 bits, 0b0001) | header size in 4-byte words (low 4 bits, 0b0001)
 *   byte 1  message type (high 4 bits) | message-type-specific flags (low 4 bits)
 *   byte 2  serialization (high 4 bits: 0 raw, 1 JSON) | compression (low 4 bits: 0 none, 1 gzip)
 *   byte 3  reserved, 0
 *   then, in this order and only when present:
 *   code (4)                 error frames (message type 0b1111)
 *   sequence (4, signed)     flags 0b0001 (positive) or 0b0011 (negative)
 *   event (4)                flag 0b0100 (the documentation requires it)
 *   connect id size + id     connection events (1, 2, 50, 51, 52), optional
 *   session id size + id     session events (everything else), required
 *   payload size (4) + payload
 *
 * The documentation's own byte dumps are the golden vectors of test/host/voice/doubao-protocol.test.ts
 * (StartConnection: 17 20 16 0 0 0 0 1 0 0 0 2 123 125). A client's StartConnection carries no
 * connect id; the server's connection events carry one (possibly empty), as the official demos read
 * them. Since a frame is a whole message, an optional id is recognised by the lengths adding up,
 * which they cannot do both with and without it.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

/** Message types (byte 1, high nibble). */
export const MessageType = {
  /** Client event with a JSON payload. */
  FullClient: 0b0001,
  /** Client audio (TaskRequest). */
  AudioOnlyClient: 0b0010,
  /** Server event with a JSON payload. */
  FullServer: 0b1001,
  /** Server audio (TTSResponse). */
  AudioOnlyServer: 0b1011,
  /** Server error: a 4-byte code, then the payload `{ "error": "…" }`. */
  Error: 0b1111,
} as const;

export const Serialization = { Raw: 0, Json: 1 } as const;
export const Compression = { None: 0, Gzip: 1 } as const;

/** Flag: an event id follows. */
export const FLAG_EVENT = 0b0100;
const FLAG_SEQUENCE = 0b0001;
const FLAG_LAST = 0b0010;

/** Client events (section 2.3, 客户端事件). */
export const ClientEvent = {
  StartConnection: 1,
  FinishConnection: 2,
  StartSession: 100,
  FinishSession: 102,
  TaskRequest: 200,
  UpdateConfig: 201,
  SayHello: 300,
  EndASR: 400,
  ChatTTSText: 500,
  ChatTextQuery: 501,
  ChatRAGText: 502,
  ConversationCreate: 510,
  ConversationUpdate: 511,
  ConversationRetrieve: 512,
  ConversationTruncate: 513,
  ConversationDelete: 514,
  ClientInterrupt: 515,
} as const;

/** Server events (section 2.3, 服务端事件). */
export const ServerEvent = {
  ConnectionStarted: 50,
  ConnectionFailed: 51,
  ConnectionFinished: 52,
  SessionStarted: 150,
  SessionFinished: 152,
  SessionFailed: 153,
  UsageResponse: 154,
  ConfigUpdated: 251,
  TTSSentenceStart: 350,
  TTSSentenceEnd: 351,
  TTSResponse: 352,
  TTSEnded: 359,
  ASRInfo: 450,
  ASRResponse: 451,
  ASREnded: 459,
  ChatResponse: 550,
  ChatTextQueryConfirmed: 553,
  ChatEnded: 559,
  ConversationCreated: 567,
  ConversationUpdated: 568,
  ConversationRetrieved: 569,
  ConversationTruncated: 570,
  ConversationDeleted: 571,
  DialogCommonError: 599,
} as const;

/** The fixed X-Api-App-Key value the documentation gives (section 2.1). */
export const DOUBAO_APP_KEY = 'PlgvMymc7f3tQnJ6';

/** Connection-level events carry a connect id (optional); all others a session id. */
export function isConnectionEvent(event: number): boolean {
  return event === 1 || event === 2 || (event >= 50 && event <= 52);
}

export interface Frame {
  type: number;
  flags: number;
  serialization: number;
  compression: number;
  /** Error frames only. */
  code?: number;
  sequence?: number;
  event?: number;
  connectId?: string;
  sessionId?: string;
  /** Decompressed payload. */
  payload: Buffer;
}

/** A frame that cannot be decoded (or encoded): the message says which field is wrong. */
export class DoubaoProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DoubaoProtocolError';
  }
}

export interface FrameSpec {
  type: number;
  event?: number;
  /** Signed; 0 or undefined = no sequence field. Negative marks the last packet (flags 0b0011). */
  sequence?: number;
  code?: number;
  connectId?: string;
  sessionId?: string;
  serialization: number;
  compression?: number;
  payload: Uint8Array;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function sized(s: string): Buffer[] {
  const bytes = Buffer.from(s, 'utf8');
  return [u32(bytes.length), bytes];
}

/** Encode one frame (compressing the payload when spec.compression is gzip). */
export function encodeFrame(spec: FrameSpec): Buffer {
  const compression = spec.compression ?? Compression.None;
  let flags = 0;
  const seq = spec.sequence ?? 0;
  if (seq > 0) flags |= FLAG_SEQUENCE;
  if (seq < 0) flags |= FLAG_SEQUENCE | FLAG_LAST;
  if (spec.event !== undefined) flags |= FLAG_EVENT;
  const parts: Buffer[] = [
    Buffer.from([0x11, ((spec.type & 0xf) << 4) | flags, (spec.serialization << 4) | compression, 0]),
  ];
  if (spec.type === MessageType.Error) parts.push(u32(spec.code ?? 0));
  if (seq !== 0) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(seq, 0);
    parts.push(b);
  }
  if (spec.event !== undefined) parts.push(u32(spec.event));
  if (spec.connectId !== undefined) parts.push(...sized(spec.connectId));
  if (spec.sessionId !== undefined) parts.push(...sized(spec.sessionId));
  const payload = compression === Compression.Gzip ? gzipSync(spec.payload) : Buffer.from(spec.payload);
  parts.push(u32(payload.length), payload);
  return Buffer.concat(parts);
}

/** A client event with a JSON payload (message type 0b0001, flags 0b0100, JSON, no compression). */
export function clientEvent(event: number, json: unknown, sessionId?: string): Buffer {
  return encodeFrame({
    type: MessageType.FullClient,
    event,
    ...(sessionId !== undefined ? { sessionId } : {}),
    serialization: Serialization.Json,
    payload: Buffer.from(JSON.stringify(json), 'utf8'),
  });
}

/** TaskRequest: raw 16 kHz s16le audio (message type 0b0010, raw serialization). */
export function audioRequest(sessionId: string, pcm: Uint8Array): Buffer {
  return encodeFrame({
    type: MessageType.AudioOnlyClient,
    event: ClientEvent.TaskRequest,
    sessionId,
    serialization: Serialization.Raw,
    payload: pcm,
  });
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get left(): number {
    return this.buf.length - this.pos;
  }

  u32(what: string): number {
    if (this.left < 4)
      throw new DoubaoProtocolError(`truncated frame: no room for ${what} (${String(this.left)} bytes left)`);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(what: string): number {
    const v = this.u32(what);
    return v | 0;
  }

  peekU32(): number | undefined {
    return this.left >= 4 ? this.buf.readUInt32BE(this.pos) : undefined;
  }

  bytes(n: number, what: string): Buffer {
    if (n > this.left) {
      throw new DoubaoProtocolError(
        `truncated frame: ${what} size ${String(n)} but ${String(this.left)} bytes follow`,
      );
    }
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  id(what: string): string {
    const n = this.u32(`${what} size`);
    return this.bytes(n, what).toString('utf8');
  }
}

/** True when what is left is exactly an id (size + bytes) followed by a payload (size + bytes). */
function idThenPayload(r: Reader, buf: Buffer): boolean {
  const idLen = r.peekU32();
  if (idLen === undefined || 4 + idLen + 4 > r.left) return false;
  const at = r.pos + 4 + idLen;
  return 4 + idLen + 4 + buf.readUInt32BE(at) === r.left;
}

/** Decode one frame (one WebSocket message). Throws DoubaoProtocolError on anything malformed. */
export function decodeFrame(data: Uint8Array): Frame {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 4) throw new DoubaoProtocolError(`frame of ${String(buf.length)} bytes has no header`);
  const version = buf[0]! >> 4;
  const headerWords = buf[0]! & 0xf;
  if (version !== 1) throw new DoubaoProtocolError(`protocol version ${String(version)}, expected 1`);
  if (headerWords < 1 || headerWords * 4 > buf.length)
    throw new DoubaoProtocolError(`header size ${String(headerWords * 4)} bytes does not fit the frame`);
  const type = buf[1]! >> 4;
  const flags = buf[1]! & 0xf;
  const serialization = buf[2]! >> 4;
  const compression = buf[2]! & 0xf;
  if (!(Object.values(MessageType) as number[]).includes(type))
    throw new DoubaoProtocolError(`unknown message type 0b${type.toString(2).padStart(4, '0')}`);
  if (serialization !== Serialization.Raw && serialization !== Serialization.Json)
    throw new DoubaoProtocolError(`unknown serialization ${String(serialization)}`);
  if (compression !== Compression.None && compression !== Compression.Gzip)
    throw new DoubaoProtocolError(`unknown compression ${String(compression)}`);
  const r = new Reader(buf);
  r.pos = headerWords * 4;
  const frame: Frame = { type, flags, serialization, compression, payload: Buffer.alloc(0) };
  if (type === MessageType.Error) frame.code = r.u32('error code');
  if (flags & FLAG_SEQUENCE) frame.sequence = r.i32('sequence');
  if (flags & FLAG_EVENT) frame.event = r.u32('event');
  if (frame.event !== undefined) {
    const optional = type === MessageType.Error || isConnectionEvent(frame.event);
    if (!optional || idThenPayload(r, buf)) {
      const id = r.id(isConnectionEvent(frame.event) ? 'connect id' : 'session id');
      if (isConnectionEvent(frame.event)) frame.connectId = id;
      else frame.sessionId = id;
    }
  }
  const size = r.u32('payload size');
  const raw = r.bytes(size, 'payload');
  if (r.left !== 0)
    throw new DoubaoProtocolError(`${String(r.left)} bytes after a payload of ${String(size)} bytes`);
  if (compression === Compression.Gzip && raw.length > 0) {
    try {
      frame.payload = gunzipSync(raw);
    } catch {
      throw new DoubaoProtocolError('gzip payload does not decompress');
    }
  } else {
    frame.payload = Buffer.from(raw);
  }
  return frame;
}

/** The payload of a JSON frame as an object (`{}` for an empty payload). */
export function jsonOf(frame: Frame): Record<string, unknown> {
  if (frame.serialization !== Serialization.Json)
    throw new DoubaoProtocolError(`event ${String(frame.event)} payload is not JSON-serialized`);
  if (frame.payload.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(frame.payload.toString('utf8'));
  } catch {
    throw new DoubaoProtocolError(`event ${String(frame.event)} payload is not valid JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new DoubaoProtocolError(`event ${String(frame.event)} payload is not a JSON object`);
  return v as Record<string, unknown>;
}
