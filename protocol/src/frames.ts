/**
 * Budlink wire protocol: frame types and their decoded forms.
 *
 * This file is the contract every other part of the codebase builds on; docs/PROTOCOL.md is the
 * human spec of record and cites these names. FRAME_SPEC below is the machine-readable layout of every
 * frame type: the codec runs from it and the frame types (HelloFrame, …, Frame) are derived from it. It compiles into the firmware (Espruino) as well as
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

/** A run of missing sequence numbers: start, start+1, ..., start+count-1 (mod 65536). */
export interface SeqGap {
  start: number; // u16
  count: number; // u8, 1..255
}

/** Width of a fixed field in bytes: u8, u16 or u32 (little-endian, unsigned). */
export type FieldWidth = 1 | 2 | 4;

/**
 * One fixed field of a frame's spec. Its domain is `min..max` (defaults: 0 and the largest value of
 * the width), or, with `values`, the values of that constant object (which are contiguous: §9 adds no
 * enum values), whose union is then the field's decoded type.
 */
export interface FieldSpec {
  readonly name: string;
  readonly width: FieldWidth;
  readonly min?: number;
  readonly max?: number;
  readonly values?: { readonly [name: string]: number };
}

/**
 * What follows the fixed fields, always "the rest of the frame": `bytes` (a zero-copy Uint8Array),
 * `name` (printable ASCII, at most NAME_MAX), `text` (printable ASCII plus TAB, LF, CR), `gaps`
 * (u8 count, then count x (u16 start, u8 count): SeqGap[]). No tail: the frame ends after its fields.
 */
export type TailKind = 'bytes' | 'name' | 'text' | 'gaps';

/** The layout of one frame type after its 4-byte header (docs/PROTOCOL.md §4). */
export interface FrameSpec {
  /** Session frame: the header's stream byte must be 0. */
  readonly session: boolean;
  /** Fixed fields in wire order, from offset 4. */
  readonly fields: readonly FieldSpec[];
  readonly tail?: { readonly name: string; readonly kind: TailKind };
}

/** The ACK and NACK layout (one object, so both derive one frame shape). */
const ACK_SPEC = {
  session: false,
  fields: [{ name: 'cumulative', width: 2 }], // next expected seq: every seq before it was received
  tail: { name: 'gaps', kind: 'gaps' },
} as const;

/** The PING and PONG layout. */
const PING_SPEC = { session: true, fields: [{ name: 'token', width: 4 }] } as const; // PONG echoes the token

/**
 * The frame spec (docs/PROTOCOL.md §4), one entry per FrameType name: the codec's encoder, decoder and
 * validator run from it, and the frame types below are derived from it. A FrameType without an entry,
 * or an entry FrameType does not name, does not compile. Cross-field rules (WAKE.wakeEnd, STATUS.battery,
 * CONFIG value lengths, ACK/NACK gap order) are the codec's `checkRules`/`checkGaps`.
 * Numbers here are literals or plain constants, never property reads (`Codec.PCM_U8`): a property read
 * could have a side effect, so bundlers would keep the table in the firmware, which never uses it.
 */
export const FRAME_SPEC = {
  /** Device -> host, first frame after subscribing. */
  HELLO: {
    session: true,
    fields: [
      { name: 'protoMajor', width: 1 },
      { name: 'protoMinor', width: 1 },
      { name: 'capabilities', width: 2 }, // Capability bits
      { name: 'codecs', width: 1, min: 1 }, // Codec bits the device can send and play
      { name: 'sampleRate', width: 2, min: MIN_SAMPLE_RATE, max: MAX_SAMPLE_RATE }, // microphone rate
      { name: 'maxPayload', width: 2, min: MIN_PAYLOAD }, // the largest frame the device can build
      { name: 'ringFrames', width: 2 }, // frames the device keeps for re-send
      { name: 'nonce', width: 4 },
    ],
    tail: { name: 'board', kind: 'name' },
  },
  /** Host -> device, answers HELLO. */
  WELCOME: {
    session: true,
    fields: [
      { name: 'protoMajor', width: 1 },
      { name: 'protoMinor', width: 1 },
      { name: 'payloadSize', width: 2, min: MIN_PAYLOAD, max: MAX_PAYLOAD }, // negotiated frame size
      { name: 'codec', width: 1, min: 1, max: 2 }, // one Codec (PCM_U8..PCM_S16LE), uplink and PLAY
      { name: 'sampleRate', width: 2, min: MIN_SAMPLE_RATE, max: MAX_SAMPLE_RATE },
      { name: 'keepAliveMs', width: 2 }, // PING interval; 0 = none
      { name: 'nonce', width: 4 }, // HELLO.nonce
    ],
  },
  /** Device -> host: an utterance starts (seq 0 of the stream). */
  WAKE: {
    session: false,
    fields: [
      { name: 'trigger', width: 1, values: Trigger },
      { name: 'score', width: 1 }, // detector confidence (255 for tap/host)
      { name: 'codec', width: 1, min: 1, max: 2 },
      { name: 'sampleRate', width: 2, min: MIN_SAMPLE_RATE, max: MAX_SAMPLE_RATE },
      { name: 'preRollMs', width: 2 }, // audio before the trigger included in the stream
      { name: 'wakeStart', width: 4 }, // sample index where the wake word starts
      { name: 'wakeEnd', width: 4 }, // sample index where it ends (== wakeStart for tap/host)
    ],
  },
  /** Device -> host: samples of the utterance stream; sample order is seq order. */
  AUDIO: { session: false, fields: [], tail: { name: 'samples', kind: 'bytes' } },
  /** Device -> host: the utterance stream ends. */
  END: {
    session: false,
    fields: [
      { name: 'reason', width: 1, values: EndReason },
      { name: 'lastSeq', width: 2 }, // seq of the last AUDIO frame (== WAKE seq if none)
      { name: 'totalSamples', width: 4 },
    ],
  },
  /** Progress report: host -> device (utterance stream) or device -> host (playback stream). */
  ACK: ACK_SPEC,
  /** Re-send the gaps now (at least one gap). */
  NACK: ACK_SPEC,
  /** Host -> device: verdict on the utterance stream. */
  GATE: {
    session: false,
    fields: [
      { name: 'verdict', width: 1, values: Verdict },
      { name: 'reason', width: 1 }, // free for diagnostics (0 = none)
    ],
  },
  /** Either direction: the assistant state. */
  STATE: {
    session: true,
    fields: [
      { name: 'state', width: 1, values: AssistantState },
      { name: 'detail', width: 1 }, // ERROR: an ErrorCode or earcon id; else 0
    ],
  },
  /** Host -> device: reply audio on a playback stream, in the WELCOME codec and rate. */
  PLAY: { session: false, fields: [], tail: { name: 'samples', kind: 'bytes' } },
  /** Host -> device: the playback stream ends (or is cancelled). */
  PLAY_END: {
    session: false,
    fields: [
      { name: 'reason', width: 1, values: PlayEndReason },
      { name: 'lastSeq', width: 2 }, // seq of the last PLAY frame (65535 if none)
      { name: 'totalSamples', width: 4 },
    ],
  },
  /** Device -> host: flow control for a playback stream. */
  CREDIT: {
    session: false,
    fields: [
      { name: 'upTo', width: 2 }, // the host may send PLAY frames with seq before this
      { name: 'freeBytes', width: 2 }, // free space in the playback buffer
      { name: 'playedSamples', width: 4 }, // samples of this stream actually played so far
    ],
  },
  /** Device -> host: health. */
  STATUS: {
    session: true,
    fields: [
      { name: 'battery', width: 1 }, // percent, 255 = unknown (0..100 or 255: a codec rule)
      { name: 'freeVars', width: 2 }, // JsVars free
      { name: 'overruns', width: 2 }, // audio buffers lost to a slow handler (wraps)
      { name: 'drops', width: 2 }, // notifications re-sent after NACK (wraps)
      { name: 'errors', width: 2 }, // handler errors caught (wraps)
      { name: 'uptimeS', width: 4 },
    ],
  },
  /** Either direction: configuration get / set / value. */
  CONFIG: {
    session: true,
    fields: [
      { name: 'op', width: 1, values: ConfigOp },
      { name: 'key', width: 1, min: 1 }, // ConfigKey
    ],
    tail: { name: 'value', kind: 'bytes' }, // empty for GET; per-key lengths are a codec rule
  },
  PING: PING_SPEC,
  PONG: PING_SPEC,
  /** Either direction: a typed error report. */
  ERROR: {
    session: true,
    fields: [
      { name: 'code', width: 1, values: ErrorCode },
      { name: 'fault', width: 1, values: Fault },
      { name: 'refType', width: 1 }, // frame type that caused it (0 = none)
    ],
    tail: { name: 'message', kind: 'text' },
  },
  /** Device -> host: a log line. */
  LOG: {
    session: true,
    fields: [{ name: 'level', width: 1, max: 3 }], // 0 debug, 1 info, 2 warn, 3 error
    tail: { name: 'text', kind: 'text' },
  },
} as const satisfies { readonly [K in FrameName]: FrameSpec };

/** A frame type's name, e.g. 'AUDIO'. */
export type FrameName = keyof typeof FrameType;

type Spec = typeof FRAME_SPEC;
/** A fixed field's decoded type: the union of its `values`, else number. */
type FieldValue<F> = F extends { readonly values: infer E } ? E[keyof E] : number;
type TailValue<K> = K extends 'bytes' ? Uint8Array : K extends 'gaps' ? SeqGap[] : string;
type FixedFields<S extends FrameSpec> = {
  -readonly [F in S['fields'][number] as F['name']]: FieldValue<F>;
};
type TailField<S extends FrameSpec> = S extends {
  readonly tail: { readonly name: infer N; readonly kind: infer K };
}
  ? { [P in N & string]: TailValue<K> }
  : Record<never, never>;
type Flatten<T> = { [P in keyof T]: T[P] };

/** The decoded form of the frame type(s) `K`, derived from FRAME_SPEC. */
export type FrameOf<K extends FrameName> = Flatten<
  { type: (typeof FrameType)[K]; stream: number; seq: number } & FixedFields<Spec[K]> & TailField<Spec[K]>
>;

export type HelloFrame = FrameOf<'HELLO'>;
export type WelcomeFrame = FrameOf<'WELCOME'>;
export type WakeFrame = FrameOf<'WAKE'>;
/** AUDIO.samples is a zero-copy view. */
export type AudioFrame = FrameOf<'AUDIO'>;
export type EndFrame = FrameOf<'END'>;
/** ACK (progress report) and NACK (re-send the gaps now) share one shape. */
export type AckFrame = FrameOf<'ACK' | 'NACK'>;
export type GateFrame = FrameOf<'GATE'>;
export type StateFrame = FrameOf<'STATE'>;
/** PLAY.samples is a zero-copy view. */
export type PlayFrame = FrameOf<'PLAY'>;
export type PlayEndFrame = FrameOf<'PLAY_END'>;
export type CreditFrame = FrameOf<'CREDIT'>;
export type StatusFrame = FrameOf<'STATUS'>;
/** CONFIG.value is a zero-copy view. */
export type ConfigFrame = FrameOf<'CONFIG'>;
/** PING and PONG share one shape. */
export type PingFrame = FrameOf<'PING' | 'PONG'>;
export type ErrorFrame = FrameOf<'ERROR'>;
export type LogFrame = FrameOf<'LOG'>;

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

/** Compile-time: `Frame` has a member for every type in FRAME_SPEC ("'false' does not satisfy 'true'" if not). */
type _FrameCoversEveryType = Assert<[Exclude<FrameTypeCode, Frame['type']>] extends [never] ? true : false>;
type Assert<T extends true> = T;

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
