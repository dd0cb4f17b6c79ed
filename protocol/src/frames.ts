/**
 * Budlink wire protocol: frame types and their decoded forms.
 *
 * This file is the contract every other part of the codebase builds on; docs/PROTOCOL.md is the
 * human spec of record and cites these names. It compiles into the firmware (Espruino) as well as
 * into the host, so it uses only the language subset the syntax gate allows (firmware/scripts/espruino-gate.ts):
 * plain objects instead of enums, no Map/Set, no spread/destructuring/default parameters.
 *
 * Every frame is one GATT notification or write: a 4-byte header, then a typed payload.
 *
 *   offset 0  u8   type     (FrameType)
 *   offset 1  u8   stream   utterance id (uplink WAKE/AUDIO/END, ACK/NACK/GATE), playback id
 *                           (PLAY/PLAY_END/CREDIT), 0 for session frames
 *   offset 2  u16  seq      little-endian; per stream for WAKE/AUDIO/END and PLAY/PLAY_END,
 *                           a per-direction message counter for everything else; wraps at 65536
 *
 * All multi-byte integers are little-endian.
 */

/** Protocol version spoken by this implementation. */
export const PROTOCOL_MAJOR = 1;
export const PROTOCOL_MINOR = 0;

/** Header length in bytes. */
export const HEADER_BYTES = 4;
/** Smallest payload (MTU - 3) every peer must support: BLE's default ATT MTU of 23. */
export const MIN_PAYLOAD = 20;
/** Largest frame this implementation will ever build or accept (MTU 247 - 3). */
export const MAX_PAYLOAD = 244;

/** Frame type codes (byte 0). Codes 0x00 and >= 0x40 are never assigned by 1.x. */
export const FrameType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  WAKE: 0x03,
  AUDIO: 0x04,
  END: 0x05,
  ACK: 0x06,
  NACK: 0x07,
  GATE: 0x08,
  STATE: 0x09,
  PLAY: 0x0a,
  PLAY_END: 0x0b,
  CREDIT: 0x0c,
  STATUS: 0x0d,
  CONFIG: 0x0e,
  PING: 0x0f,
  PONG: 0x10,
  ERROR: 0x11,
  LOG: 0x12,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/** Audio codecs (bit flags in HELLO.codecs; a single value elsewhere). */
export const Codec = {
  /** 8-bit unsigned PCM, 128 = silence: what Espruino's ADC gives natively. */
  PCM_U8: 0x01,
  /** 16-bit signed little-endian PCM. */
  PCM_S16LE: 0x02,
} as const;
export type CodecCode = (typeof Codec)[keyof typeof Codec];

/** Lowest and highest audio sample rates (Hz) the protocol allows. */
/** Longest HELLO.board / CONFIG NAME value. */
export const NAME_MAX = 16;

export const MIN_SAMPLE_RATE = 4000;
export const MAX_SAMPLE_RATE = 16000;

/** Device capability bits (HELLO.capabilities). */
export const Capability = {
  WAKEWORD: 0x0001,
  TAP: 0x0002,
  VAD: 0x0004,
  PLAYBACK: 0x0008,
  BATTERY: 0x0010,
  PDM_MIC: 0x0020,
  CONFIG_STORE: 0x0040,
} as const;

/** What opened the gate (WAKE.trigger). */
export const Trigger = { WAKEWORD: 1, TAP: 2, HOST: 3, VAD: 4 } as const;
export type TriggerCode = (typeof Trigger)[keyof typeof Trigger];

/** Why an utterance ended (END.reason). */
export const EndReason = {
  SILENCE: 1,
  TAP: 2,
  MAX_LENGTH: 3,
  CANCELLED: 4,
  HOST: 5,
  ERROR: 6,
} as const;
export type EndReasonCode = (typeof EndReason)[keyof typeof EndReason];

/** The host's verdict on an utterance (GATE.verdict). */
export const Verdict = { ACCEPT: 1, REJECT: 2, CANCEL: 3 } as const;
export type VerdictCode = (typeof Verdict)[keyof typeof Verdict];

/** Assistant state shown on the earbud (STATE.state). */
export const AssistantState = {
  IDLE: 0,
  LISTENING: 1,
  VERIFYING: 2,
  THINKING: 3,
  SPEAKING: 4,
  ERROR: 5,
} as const;
export type AssistantStateCode = (typeof AssistantState)[keyof typeof AssistantState];

/** Why playback ended (PLAY_END.reason). */
export const PlayEndReason = { COMPLETE: 1, CANCELLED: 2, ERROR: 3 } as const;
export type PlayEndReasonCode = (typeof PlayEndReason)[keyof typeof PlayEndReason];

/** CONFIG.op */
export const ConfigOp = { GET: 1, SET: 2, VALUE: 3 } as const;
export type ConfigOpCode = (typeof ConfigOp)[keyof typeof ConfigOp];

/** CONFIG keys; value encodings are given in docs/PROTOCOL.md. */
export const ConfigKey = {
  SAMPLE_RATE: 1, // u16 Hz
  VAD_THRESHOLD: 2, // u8
  PREROLL_MS: 3, // u16
  MAX_UTTERANCE_MS: 4, // u16 (in units of 10 ms is NOT used: plain ms, max 65535)
  HANGOVER_MS: 5, // u16 silence before END
  WAKE_SENSITIVITY: 6, // u8
  VOLUME: 7, // u8 0..255
  NAME: 8, // ASCII, <= 16 bytes
} as const;

/** ERROR.code, also used in ProtocolError.code for decoding failures. */
export const ErrorCode = {
  TRUNCATED: 1, // fewer bytes than the header or the type's fixed payload
  TOO_LONG: 2, // frame longer than the negotiated / maximum payload
  UNKNOWN_TYPE: 3, // type code not known to this version
  BAD_FIELD: 4, // a field has a value outside its domain
  BAD_LENGTH: 5, // variable part inconsistent with a count or a codec's sample size
  UNSUPPORTED_VERSION: 6, // peer's major version differs
  BAD_STATE: 7, // frame not allowed in the receiver's current state
  OVERFLOW: 8, // buffer / window full
  INTERNAL: 9, // our own bug
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Whose fault an error is. */
export const Fault = { PEER: 1, UNSUPPORTED: 2, INTERNAL: 3 } as const;
export type FaultCode = (typeof Fault)[keyof typeof Fault];

/** A typed protocol error; decoding returns these instead of throwing. */
export interface ProtocolError {
  code: ErrorCodeValue;
  fault: FaultCode;
  message: string;
  /** Byte offset in the input where the problem was found, when meaningful. */
  offset?: number;
}

export interface Header {
  type: FrameTypeCode;
  stream: number; // u8
  seq: number; // u16
}

/** Device -> host, first frame after subscribing. */
export interface HelloFrame extends Header {
  type: 0x01;
  protoMajor: number; // u8
  protoMinor: number; // u8
  capabilities: number; // u16 Capability bits
  codecs: number; // u8 Codec bits the device can send and play
  sampleRate: number; // u16 Hz, the device's microphone rate
  maxPayload: number; // u16, the largest payload the device can build (its board profile)
  ringFrames: number; // u16, frames the device keeps for re-send
  nonce: number; // u32
  board: string; // ASCII, rest of the frame, <= 16 bytes
}

/** Host -> device, answers HELLO. */
export interface WelcomeFrame extends Header {
  type: 0x02;
  protoMajor: number; // u8
  protoMinor: number; // u8
  payloadSize: number; // u16, negotiated: min(device max, ATT MTU - 3), >= MIN_PAYLOAD
  codec: number; // u8 Codec for uplink and PLAY
  sampleRate: number; // u16 Hz for uplink and PLAY
  keepAliveMs: number; // u16, PING interval; 0 = none
  nonce: number; // u32
}

/** Device -> host: an utterance starts. seq is the utterance stream's first sequence number. */
export interface WakeFrame extends Header {
  type: 0x03;
  trigger: TriggerCode; // u8
  score: number; // u8, detector confidence 0..255 (255 for tap/host)
  codec: number; // u8
  sampleRate: number; // u16
  preRollMs: number; // u16, audio before the trigger included in the stream
  wakeStart: number; // u32 sample index (from the utterance's first sample) where the wake word starts
  wakeEnd: number; // u32 sample index where it ends (== wakeStart for tap/host)
}

/** Device -> host: samples of the utterance stream; sample order is seq order. Zero-copy view. */
export interface AudioFrame extends Header {
  type: 0x04;
  samples: Uint8Array;
}

/** Device -> host: the utterance stream ends. */
export interface EndFrame extends Header {
  type: 0x05;
  reason: EndReasonCode; // u8
  lastSeq: number; // u16, seq of the last AUDIO frame (== WAKE seq if none)
  totalSamples: number; // u32
}

/** A run of missing sequence numbers: start, start+1, ..., start+count-1 (mod 65536). */
export interface SeqGap {
  start: number; // u16
  count: number; // u8, 1..255
}

/** Host -> device (utterance stream) or device -> host (playback stream). */
export interface AckFrame extends Header {
  type: 0x06 | 0x07; // ACK: progress report; NACK: re-send the gaps now
  cumulative: number; // u16, next expected seq: every seq before it was received
  gaps: SeqGap[]; // u8 count, then count x (u16 start, u8 count)
}

/** Host -> device: verdict on the utterance stream. */
export interface GateFrame extends Header {
  type: 0x08;
  verdict: VerdictCode; // u8
  reason: number; // u8, free for diagnostics (0 = none)
}

/** Either direction: the assistant state (host -> device drives LEDs/earcons; device -> host reports). */
export interface StateFrame extends Header {
  type: 0x09;
  state: AssistantStateCode; // u8
  detail: number; // u8 (ERROR: an ErrorCode or earcon id; else 0)
}

/** Host -> device: reply audio on a playback stream, in the WELCOME codec and rate. Zero-copy view. */
export interface PlayFrame extends Header {
  type: 0x0a;
  samples: Uint8Array;
}

/** Host -> device: the playback stream ends (or is cancelled). */
export interface PlayEndFrame extends Header {
  type: 0x0b;
  reason: PlayEndReasonCode; // u8
  lastSeq: number; // u16
  totalSamples: number; // u32
}

/** Device -> host: flow control for a playback stream. */
export interface CreditFrame extends Header {
  type: 0x0c;
  upTo: number; // u16: the host may send PLAY frames with seq before this (wrap-around order)
  freeBytes: number; // u16 free space in the playback buffer
  playedSamples: number; // u32 samples of this stream actually played so far (barge-in truncation)
}

/** Device -> host: health. */
export interface StatusFrame extends Header {
  type: 0x0d;
  battery: number; // u8 percent, 255 = unknown
  freeVars: number; // u16 JsVars free
  overruns: number; // u16 audio buffers lost to a slow handler (wraps)
  drops: number; // u16 notifications re-sent after NACK (wraps)
  errors: number; // u16 handler errors caught (wraps)
  uptimeS: number; // u32 seconds
}

/** Either direction: configuration get / set / value. */
export interface ConfigFrame extends Header {
  type: 0x0e;
  op: ConfigOpCode; // u8
  key: number; // u8 ConfigKey
  value: Uint8Array; // rest of the frame (empty for GET); zero-copy view
}

export interface PingFrame extends Header {
  type: 0x0f | 0x10; // PING or PONG
  token: number; // u32
}

/** Either direction: a typed error report. */
export interface ErrorFrame extends Header {
  type: 0x11;
  code: ErrorCodeValue; // u8
  fault: FaultCode; // u8
  refType: number; // u8 frame type that caused it (0 = none)
  message: string; // ASCII rest, <= payload
}

/** Device -> host: a log line. */
export interface LogFrame extends Header {
  type: 0x12;
  level: number; // u8: 0 debug, 1 info, 2 warn, 3 error
  text: string; // ASCII rest
}

export type Frame =
  | HelloFrame
  | WelcomeFrame
  | WakeFrame
  | AudioFrame
  | EndFrame
  | AckFrame
  | GateFrame
  | StateFrame
  | PlayFrame
  | PlayEndFrame
  | CreditFrame
  | StatusFrame
  | ConfigFrame
  | PingFrame
  | ErrorFrame
  | LogFrame;

export type DecodeResult = { ok: true; frame: Frame } | { ok: false; error: ProtocolError };
export type EncodeResult = { ok: true; bytes: Uint8Array } | { ok: false; error: ProtocolError };

/** GATT layout (docs/PROTOCOL.md §GATT). All custom UUIDs share one 128-bit base. */
export const SERVICE_UUID = 'b1d10001-5a1e-4c6e-9a3b-6275646c6e6b';
/** Device -> host frames (notify, read). */
export const UPLINK_UUID = 'b1d10002-5a1e-4c6e-9a3b-6275646c6e6b';
/** Host -> device frames (write, write-without-response). */
export const DOWNLINK_UUID = 'b1d10003-5a1e-4c6e-9a3b-6275646c6e6b';
/** Nordic UART service: Espruino's REPL, flashing and console logs; never audio. */
export const NUS_SERVICE_UUID = '6e400001-b5a3-f393-e0a9-e50e24dcca9e';
export const NUS_RX_UUID = '6e400002-b5a3-f393-e0a9-e50e24dcca9e';
export const NUS_TX_UUID = '6e400003-b5a3-f393-e0a9-e50e24dcca9e';
