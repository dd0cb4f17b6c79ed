/**
 * Writes protocol/vectors/golden.json and errors.json: `npx tsx test/conformance/generate-vectors.ts`.
 * The JSON files are committed and are what the conformance test checks; this script only builds them.
 * Golden frames are written here by hand (decoded form) and encoded; each error vector names its
 * expected error by hand, and the script refuses to write a vector the decoder disagrees with, so a
 * change in the codec shows up as a failing generation, not as silently regenerated expectations.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeFrame,
  encodeFrame,
  ErrorCode,
  Fault,
  FrameType as T,
  MAX_PAYLOAD,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
} from '@budlink/protocol';
import type { Frame } from '@budlink/protocol';
import { frameToJson, toHex, fromHex } from './vectors-format';
import type { ErrorVector, GoldenVector, VectorFile } from './vectors-format';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'protocol', 'vectors');

function bytes(n: number, f: (i: number) => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = f(i) & 0xff;
  return b;
}
const ascii = (s: string): Uint8Array => bytes(s.length, (i) => s.charCodeAt(i));

const golden: GoldenVector[] = [];
function g(name: string, comment: string, frame: Frame, maxPayload?: number): void {
  const r = encodeFrame(frame, maxPayload);
  if (!r.ok) throw new Error('golden ' + name + ' does not encode: ' + r.error.message);
  const v: GoldenVector = { name, comment, hex: toHex(r.bytes), frame: frameToJson(frame) };
  if (maxPayload !== undefined) v.maxPayload = maxPayload;
  golden.push(v);
}

const hello = {
  type: T.HELLO,
  stream: 0,
  seq: 0,
  protoMajor: PROTOCOL_MAJOR,
  protoMinor: PROTOCOL_MINOR,
  capabilities: 0x0f,
  codecs: 0x01,
  sampleRate: 8000,
  maxPayload: 128,
  ringFrames: 48,
  nonce: 0x12345678,
  board: 'PUCKJS',
} as const;
g('hello-puck', 'a Puck.js: wake word, tap, VAD, playback; PCM u8 at 8 kHz', { ...hello });
g('hello-minimal', 'smallest values: 4 kHz, payload 20, no ring, empty board name', {
  ...hello,
  capabilities: 0,
  sampleRate: 4000,
  maxPayload: 20,
  ringFrames: 0,
  nonce: 0,
  board: '',
});
g('hello-maximal', 'largest values and a 16-character board name', {
  ...hello,
  seq: 65535,
  protoMajor: 1,
  protoMinor: 255,
  capabilities: 0xffff,
  codecs: 0xff,
  sampleRate: 16000,
  maxPayload: 65535,
  ringFrames: 65535,
  nonce: 0xffffffff,
  board: 'NRF52840DK ~ 1.0',
});

const welcome = {
  type: T.WELCOME,
  stream: 0,
  seq: 0,
  protoMajor: 1,
  protoMinor: 0,
  payloadSize: 128,
  codec: 1,
  sampleRate: 8000,
  keepAliveMs: 2000,
  nonce: 0x12345678,
} as const;
g('welcome-typical', 'payload 128 (MTU 131), PCM u8 8 kHz, PING every 2 s', { ...welcome });
g('welcome-min-payload', 'no MTU exchange: payload 20, keep-alive off', {
  ...welcome,
  payloadSize: 20,
  keepAliveMs: 0,
});
g('welcome-max', 'payload 244, PCM s16le 16 kHz, largest keep-alive and nonce', {
  ...welcome,
  seq: 65535,
  payloadSize: 244,
  codec: 2,
  sampleRate: 16000,
  keepAliveMs: 65535,
  nonce: 0xffffffff,
});

const wake = {
  type: T.WAKE,
  stream: 1,
  seq: 0,
  trigger: 1,
  score: 200,
  codec: 1,
  sampleRate: 8000,
  preRollMs: 500,
  wakeStart: 4000,
  wakeEnd: 9600,
} as const;
g('wake-wakeword', 'wake word at samples 4000..9600 after a 500 ms pre-roll', { ...wake });
g('wake-tap', 'tap: score 255, wakeStart == wakeEnd, no pre-roll', {
  ...wake,
  stream: 2,
  trigger: 2,
  score: 255,
  preRollMs: 0,
  wakeStart: 0,
  wakeEnd: 0,
});
g('wake-host', 'host-initiated listening', {
  ...wake,
  stream: 3,
  trigger: 3,
  score: 255,
  wakeStart: 4000,
  wakeEnd: 4000,
});
g('wake-vad-max', 'VAD trigger, stream 255, every field at its maximum', {
  ...wake,
  stream: 255,
  seq: 65535,
  trigger: 4,
  score: 255,
  codec: 2,
  sampleRate: 16000,
  preRollMs: 65535,
  wakeStart: 0xffffffff,
  wakeEnd: 0xffffffff,
});

g('audio-one-sample', 'one PCM u8 sample (silence)', {
  type: T.AUDIO,
  stream: 1,
  seq: 1,
  samples: bytes(1, () => 128),
});
g('audio-typical', '16 samples of a ramp', {
  type: T.AUDIO,
  stream: 1,
  seq: 2,
  samples: bytes(16, (i) => 120 + i),
});
g('audio-empty', 'no samples: legal, carries only its sequence number', {
  type: T.AUDIO,
  stream: 1,
  seq: 3,
  samples: new Uint8Array(0),
});
g('audio-seq-wrap', 'seq 65535, the last before the wrap', {
  type: T.AUDIO,
  stream: 9,
  seq: 65535,
  samples: bytes(4, (i) => i),
});
g('audio-seq-zero-after-wrap', 'seq 0, right after 65535', {
  type: T.AUDIO,
  stream: 9,
  seq: 0,
  samples: bytes(4, (i) => 4 + i),
});
g('audio-max-frame', '240 samples: a 244-byte frame, the largest', {
  type: T.AUDIO,
  stream: 255,
  seq: 1000,
  samples: bytes(240, (i) => i * 7),
});
g(
  'audio-payload-20',
  '16 samples: the largest AUDIO on a 20-byte link',
  { type: T.AUDIO, stream: 4, seq: 17, samples: bytes(16, (i) => 255 - i) },
  20,
);

g('end-silence', 'END after AUDIO 1..40: seq 41, lastSeq 40', {
  type: T.END,
  stream: 1,
  seq: 41,
  reason: 1,
  lastSeq: 40,
  totalSamples: 4800,
});
g('end-wrap', 'END at seq 0: lastSeq 65535', {
  type: T.END,
  stream: 9,
  seq: 0,
  reason: 3,
  lastSeq: 65535,
  totalSamples: 0xffffffff,
});
g('end-cancelled-no-audio', 'cancelled right after WAKE (seq 0): lastSeq == WAKE seq', {
  type: T.END,
  stream: 2,
  seq: 1,
  reason: 4,
  lastSeq: 0,
  totalSamples: 0,
});

g('ack-plain', 'everything before 42 received, no gaps', {
  type: T.ACK,
  stream: 1,
  seq: 7,
  cumulative: 42,
  gaps: [],
});
g('ack-with-gaps', 'progress report listing the holes', {
  type: T.ACK,
  stream: 1,
  seq: 8,
  cumulative: 10,
  gaps: [
    { start: 10, count: 2 },
    { start: 15, count: 1 },
  ],
});
g('nack-one', 'seq 5 missing', {
  type: T.NACK,
  stream: 1,
  seq: 9,
  cumulative: 5,
  gaps: [{ start: 5, count: 1 }],
});
g('nack-wrap', 'gaps across the wrap: 65534, 65535, 0, then 3', {
  type: T.NACK,
  stream: 9,
  seq: 65535,
  cumulative: 65534,
  gaps: [
    { start: 65534, count: 3 },
    { start: 3, count: 1 },
  ],
});
g('nack-long-run', 'a 300-frame hole split into 255 + 45 (adjacent gaps)', {
  type: T.NACK,
  stream: 1,
  seq: 10,
  cumulative: 100,
  gaps: [
    { start: 100, count: 255 },
    { start: 355, count: 45 },
  ],
});
g(
  'nack-max-gaps',
  '79 gaps: the most that fit in 244 bytes',
  {
    type: T.NACK,
    stream: 1,
    seq: 11,
    cumulative: 0,
    gaps: Array.from({ length: 79 }, (_, i) => ({ start: i * 2, count: 1 })),
  },
  244,
);
g(
  'nack-payload-20',
  '4 gaps: the most that fit in 20 bytes',
  {
    type: T.NACK,
    stream: 1,
    seq: 12,
    cumulative: 1,
    gaps: [
      { start: 1, count: 1 },
      { start: 3, count: 2 },
      { start: 8, count: 1 },
      { start: 10, count: 255 },
    ],
  },
  20,
);

g('gate-accept', 'wake word verified', { type: T.GATE, stream: 1, seq: 3, verdict: 1, reason: 0 });
g('gate-reject', 'false wake, reason 7 (diagnostic)', {
  type: T.GATE,
  stream: 2,
  seq: 4,
  verdict: 2,
  reason: 7,
});
g('gate-cancel', 'host cancels the utterance', {
  type: T.GATE,
  stream: 255,
  seq: 65535,
  verdict: 3,
  reason: 255,
});

g('state-idle', 'idle', { type: T.STATE, stream: 0, seq: 0, state: 0, detail: 0 });
g('state-thinking', 'thinking', { type: T.STATE, stream: 0, seq: 20, state: 3, detail: 0 });
g('state-error', 'error with detail = ErrorCode BAD_STATE', {
  type: T.STATE,
  stream: 0,
  seq: 21,
  state: 5,
  detail: 7,
});

g('play-typical', '32 samples of reply audio', {
  type: T.PLAY,
  stream: 1,
  seq: 0,
  samples: bytes(32, (i) => 128 + (i % 8)),
});
g('play-empty', 'no samples', { type: T.PLAY, stream: 1, seq: 1, samples: new Uint8Array(0) });
g('play-max', '240 samples, stream 255, seq 65535', {
  type: T.PLAY,
  stream: 255,
  seq: 65535,
  samples: bytes(240, (i) => 255 - i),
});

g('play-end-complete', 'after PLAY 0..99', {
  type: T.PLAY_END,
  stream: 1,
  seq: 100,
  reason: 1,
  lastSeq: 99,
  totalSamples: 12000,
});
g('play-end-cancelled-empty', 'cancelled before any PLAY: seq 0, lastSeq 65535', {
  type: T.PLAY_END,
  stream: 2,
  seq: 0,
  reason: 2,
  lastSeq: 65535,
  totalSamples: 0,
});
g('play-end-error', 'error, every number at its maximum', {
  type: T.PLAY_END,
  stream: 255,
  seq: 65535,
  reason: 3,
  lastSeq: 65534,
  totalSamples: 0xffffffff,
});

g('credit-typical', 'send up to seq 16; 2 kB free; 1000 samples played', {
  type: T.CREDIT,
  stream: 1,
  seq: 5,
  upTo: 16,
  freeBytes: 2048,
  playedSamples: 1000,
});
g('credit-zero', 'buffer full, nothing played', {
  type: T.CREDIT,
  stream: 1,
  seq: 0,
  upTo: 0,
  freeBytes: 0,
  playedSamples: 0,
});
g('credit-max', 'every field at its maximum', {
  type: T.CREDIT,
  stream: 255,
  seq: 65535,
  upTo: 65535,
  freeBytes: 65535,
  playedSamples: 0xffffffff,
});

const status = {
  type: T.STATUS,
  stream: 0,
  seq: 3,
  battery: 87,
  freeVars: 1200,
  overruns: 2,
  drops: 5,
  errors: 0,
  uptimeS: 3600,
} as const;
g('status-typical', '87 %, 1200 JsVars free, up one hour', { ...status });
g('status-battery-unknown', 'battery 255 = unknown; zeros', {
  ...status,
  battery: 255,
  freeVars: 0,
  overruns: 0,
  drops: 0,
  uptimeS: 0,
});
g('status-max', 'battery 100 and counters at their maximum', {
  ...status,
  seq: 65535,
  battery: 100,
  freeVars: 65535,
  overruns: 65535,
  drops: 65535,
  errors: 65535,
  uptimeS: 0xffffffff,
});

g('config-get', 'GET SAMPLE_RATE: empty value', {
  type: T.CONFIG,
  stream: 0,
  seq: 1,
  op: 1,
  key: 1,
  value: new Uint8Array(0),
});
g('config-set-rate', 'SET SAMPLE_RATE 6000 (u16 LE)', {
  type: T.CONFIG,
  stream: 0,
  seq: 2,
  op: 2,
  key: 1,
  value: new Uint8Array([0x70, 0x17]),
});
g('config-value-volume', 'VALUE VOLUME 200 (u8)', {
  type: T.CONFIG,
  stream: 0,
  seq: 3,
  op: 3,
  key: 7,
  value: new Uint8Array([200]),
});
g('config-set-name', 'SET NAME "Bud 1"', {
  type: T.CONFIG,
  stream: 0,
  seq: 4,
  op: 2,
  key: 8,
  value: ascii('Bud 1'),
});
g('config-value-name-max', 'VALUE NAME, 16 characters', {
  type: T.CONFIG,
  stream: 0,
  seq: 5,
  op: 3,
  key: 8,
  value: ascii('0123456789abcdef'),
});
g('config-unknown-key', 'SET key 200 (unknown to 1.0: any value length is legal)', {
  type: T.CONFIG,
  stream: 0,
  seq: 6,
  op: 2,
  key: 200,
  value: new Uint8Array([1, 2, 3]),
});

g('ping', 'keep-alive', { type: T.PING, stream: 0, seq: 1, token: 1 });
g('pong', 'answer with the same token', { type: T.PONG, stream: 0, seq: 1, token: 1 });
g('ping-max', 'token and seq at their maximum', { type: T.PING, stream: 0, seq: 65535, token: 0xffffffff });
g('pong-zero', 'token 0', { type: T.PONG, stream: 0, seq: 0, token: 0 });

g('error-unknown-type', 'answer to a frame of type 0x20', {
  type: T.ERROR,
  stream: 0,
  seq: 2,
  code: ErrorCode.UNKNOWN_TYPE,
  fault: Fault.UNSUPPORTED,
  refType: 0x20,
  message: 'unknown frame type 0x20',
});
g('error-empty-message', 'INTERNAL, no message, no frame type', {
  type: T.ERROR,
  stream: 0,
  seq: 3,
  code: ErrorCode.INTERNAL,
  fault: Fault.INTERNAL,
  refType: 0,
  message: '',
});
g('log-info', 'info line with a tab and a newline', {
  type: T.LOG,
  stream: 0,
  seq: 4,
  level: 1,
  text: 'vad\tfloor=12\n',
});
g('log-error-long', 'error line filling a 244-byte frame', {
  type: T.LOG,
  stream: 0,
  seq: 5,
  level: 3,
  text: 'E'.repeat(MAX_PAYLOAD - 5),
});

// ---- error vectors ----
const errors: ErrorVector[] = [];
const codeName = (c: number): string =>
  Object.keys(ErrorCode).find((k) => (ErrorCode as Record<string, number>)[k] === c) as string;
const faultName = (c: number): string =>
  Object.keys(Fault).find((k) => (Fault as Record<string, number>)[k] === c) as string;
const goldenHex = (name: string): string => (golden.find((v) => v.name === name) as GoldenVector).hex;
/** Golden `name` with bytes at `offset` replaced by `patch` (hex). */
function patched(name: string, offset: number, patch: string): string {
  const hex = goldenHex(name);
  return hex.slice(0, offset * 2) + patch + hex.slice(offset * 2 + patch.length);
}
function e(
  name: string,
  comment: string,
  hex: string,
  code: number,
  fault: number,
  offset: number,
  maxPayload?: number,
): void {
  const r = decodeFrame(fromHex(hex), maxPayload);
  if (r.ok || r.error.code !== code || r.error.fault !== fault || r.error.offset !== offset) {
    throw new Error('error vector ' + name + ': decoder says ' + JSON.stringify(r.ok ? r.frame : r.error));
  }
  const v: ErrorVector = {
    name,
    comment,
    hex,
    error: { code, codeName: codeName(code), fault, faultName: faultName(fault), offset },
  };
  if (maxPayload !== undefined) v.maxPayload = maxPayload;
  errors.push(v);
}
const P = Fault.PEER;
const C = ErrorCode;
e('empty', 'no bytes at all: the header is missing', '', C.TRUNCATED, P, 0);
e('header-3-bytes', 'header cut after the seq low byte', '040100', C.TRUNCATED, P, 3);
e(
  'too-long-245',
  'AUDIO of 245 bytes: over MAX_PAYLOAD (244)',
  '04010000' + '80'.repeat(241),
  C.TOO_LONG,
  P,
  244,
);
e(
  'too-long-negotiated',
  'AUDIO of 21 bytes on a 20-byte link',
  '04010000' + '80'.repeat(17),
  C.TOO_LONG,
  P,
  20,
  20,
);
e('type-zero', 'type 0x00 is never assigned', '00000000', C.UNKNOWN_TYPE, P, 0);
e(
  'type-future-minor',
  'type 0x13: may be defined by a later 1.x minor (ignore, answer ERROR)',
  '13000000',
  C.UNKNOWN_TYPE,
  Fault.UNSUPPORTED,
  0,
);
e(
  'type-3f',
  'type 0x3f: last code a 1.x minor may define',
  '3f000000aabb',
  C.UNKNOWN_TYPE,
  Fault.UNSUPPORTED,
  0,
);
e('type-40', 'type 0x40: never assigned by 1.x', '40000000', C.UNKNOWN_TYPE, P, 0);
e('type-ff', 'type 0xff: never assigned by 1.x', 'ff000000', C.UNKNOWN_TYPE, P, 0);
e(
  'hello-stream-1',
  'HELLO is a session frame: stream byte must be 0',
  patched('hello-puck', 1, '01'),
  C.BAD_FIELD,
  P,
  1,
);
e(
  'hello-truncated',
  'HELLO cut inside nonce (18 of 19 fixed bytes)',
  goldenHex('hello-minimal').slice(0, 36),
  C.TRUNCATED,
  P,
  18,
);
e(
  'hello-codecs-zero',
  'HELLO.codecs (offset 8) = 0: no codec',
  patched('hello-puck', 8, '00'),
  C.BAD_FIELD,
  P,
  8,
);
e(
  'hello-rate-3999',
  'HELLO.sampleRate (offset 9) = 3999 Hz',
  patched('hello-puck', 9, '9f0f'),
  C.BAD_FIELD,
  P,
  9,
);
e(
  'hello-rate-16001',
  'HELLO.sampleRate (offset 9) = 16001 Hz',
  patched('hello-puck', 9, '813e'),
  C.BAD_FIELD,
  P,
  9,
);
e(
  'hello-max-payload-19',
  'HELLO.maxPayload (offset 11) = 19 < MIN_PAYLOAD',
  patched('hello-puck', 11, '1300'),
  C.BAD_FIELD,
  P,
  11,
);
e(
  'hello-board-17',
  'HELLO.board 17 characters (max 16)',
  goldenHex('hello-maximal') + '41',
  C.BAD_LENGTH,
  P,
  35,
);
e(
  'hello-board-non-ascii',
  'HELLO.board byte 0x80 at offset 20',
  patched('hello-puck', 20, '80'),
  C.BAD_FIELD,
  P,
  20,
);
e(
  'hello-board-control',
  'HELLO.board byte 0x0a (newline not allowed in a name) at offset 19',
  patched('hello-puck', 19, '0a'),
  C.BAD_FIELD,
  P,
  19,
);
e(
  'welcome-payload-245',
  'WELCOME.payloadSize (offset 6) = 245 > MAX_PAYLOAD',
  patched('welcome-typical', 6, 'f500'),
  C.BAD_FIELD,
  P,
  6,
);
e(
  'welcome-payload-19',
  'WELCOME.payloadSize (offset 6) = 19 < MIN_PAYLOAD',
  patched('welcome-typical', 6, '1300'),
  C.BAD_FIELD,
  P,
  6,
);
e(
  'welcome-codec-3',
  'WELCOME.codec (offset 8) = 3: one codec, not a bit set',
  patched('welcome-typical', 8, '03'),
  C.BAD_FIELD,
  P,
  8,
);
e(
  'welcome-extra-byte',
  'WELCOME with one byte after nonce',
  goldenHex('welcome-typical') + '00',
  C.BAD_LENGTH,
  P,
  17,
);
e('wake-trigger-0', 'WAKE.trigger (offset 4) = 0', patched('wake-wakeword', 4, '00'), C.BAD_FIELD, P, 4);
e('wake-trigger-5', 'WAKE.trigger (offset 4) = 5', patched('wake-wakeword', 4, '05'), C.BAD_FIELD, P, 4);
e(
  'wake-end-before-start',
  'WAKE.wakeEnd (offset 15) = 0 < wakeStart 4000',
  patched('wake-wakeword', 15, '00000000'),
  C.BAD_FIELD,
  P,
  15,
);
e('end-reason-7', 'END.reason (offset 4) = 7', patched('end-silence', 4, '07'), C.BAD_FIELD, P, 4);
e('end-truncated', 'END cut inside totalSamples', goldenHex('end-silence').slice(0, 20), C.TRUNCATED, P, 10);
e('ack-no-count', 'ACK without the gap count byte', goldenHex('ack-plain').slice(0, 12), C.TRUNCATED, P, 6);
e(
  'ack-count-mismatch',
  'ACK gap count (offset 6) = 2 but one gap follows',
  patched('nack-one', 6, '02'),
  C.BAD_LENGTH,
  P,
  6,
);
e('nack-no-gaps', 'NACK with gap count 0: nothing to re-send', '07010900050000', C.BAD_LENGTH, P, 6);
e('nack-gap-count-0', 'NACK gap[0].count (offset 9) = 0', patched('nack-one', 9, '00'), C.BAD_FIELD, P, 9);
e(
  'nack-first-gap-not-cumulative',
  'NACK gap[0].start (offset 7) = 6, cumulative is 5',
  patched('nack-one', 7, '0600'),
  C.BAD_FIELD,
  P,
  7,
);
e(
  'nack-gaps-overlap',
  'NACK gap[1].start (offset 10) = 10, inside gap[0] 10..11',
  '07010800' + '0a00' + '02' + '0a0002' + '0b0001',
  C.BAD_FIELD,
  P,
  10,
);
e(
  'nack-gaps-span',
  'NACK gaps spanning 32768 sequence numbers',
  '07010800' + '0000' + '02' + '0000ff' + '8080' + '80',
  C.BAD_FIELD,
  P,
  10,
);
e('gate-verdict-0', 'GATE.verdict (offset 4) = 0', patched('gate-accept', 4, '00'), C.BAD_FIELD, P, 4);
e('gate-verdict-4', 'GATE.verdict (offset 4) = 4', patched('gate-accept', 4, '04'), C.BAD_FIELD, P, 4);
e('state-6', 'STATE.state (offset 4) = 6', patched('state-idle', 4, '06'), C.BAD_FIELD, P, 4);
e(
  'state-stream-3',
  'STATE is a session frame: stream byte must be 0',
  patched('state-idle', 1, '03'),
  C.BAD_FIELD,
  P,
  1,
);
e(
  'play-end-reason-0',
  'PLAY_END.reason (offset 4) = 0',
  patched('play-end-complete', 4, '00'),
  C.BAD_FIELD,
  P,
  4,
);
e('credit-short', 'CREDIT cut after freeBytes', goldenHex('credit-typical').slice(0, 16), C.TRUNCATED, P, 8);
e(
  'status-battery-101',
  'STATUS.battery (offset 4) = 101: neither a percentage nor 255',
  patched('status-typical', 4, '65'),
  C.BAD_FIELD,
  P,
  4,
);
e('config-op-0', 'CONFIG.op (offset 4) = 0', patched('config-get', 4, '00'), C.BAD_FIELD, P, 4);
e('config-key-0', 'CONFIG.key (offset 5) = 0', patched('config-get', 5, '00'), C.BAD_FIELD, P, 5);
e(
  'config-get-with-value',
  'CONFIG GET with a value byte (GET carries none)',
  goldenHex('config-get') + '01',
  C.BAD_LENGTH,
  P,
  6,
);
e(
  'config-rate-1-byte',
  'CONFIG SET SAMPLE_RATE with a 1-byte value (u16 needed)',
  goldenHex('config-set-rate').slice(0, 14),
  C.BAD_LENGTH,
  P,
  6,
);
e(
  'config-name-control',
  'CONFIG NAME byte 0x00 at offset 7',
  patched('config-set-name', 7, '00'),
  C.BAD_FIELD,
  P,
  7,
);
e('ping-short', 'PING with a 3-byte token', goldenHex('ping').slice(0, 14), C.TRUNCATED, P, 7);
e('pong-extra', 'PONG with a byte after the token', goldenHex('pong') + 'ff', C.BAD_LENGTH, P, 8);
e('error-code-0', 'ERROR.code (offset 4) = 0', patched('error-empty-message', 4, '00'), C.BAD_FIELD, P, 4);
e(
  'error-code-10',
  'ERROR.code (offset 4) = 10: not defined by 1.0',
  patched('error-empty-message', 4, '0a'),
  C.BAD_FIELD,
  P,
  4,
);
e('error-fault-4', 'ERROR.fault (offset 5) = 4', patched('error-empty-message', 5, '04'), C.BAD_FIELD, P, 5);
e(
  'error-message-nul',
  'ERROR.message byte 0x00 at offset 7',
  goldenHex('error-empty-message') + '00',
  C.BAD_FIELD,
  P,
  7,
);
e('log-level-4', 'LOG.level (offset 4) = 4', patched('log-info', 4, '04'), C.BAD_FIELD, P, 4);
e('log-text-del', 'LOG.text byte 0x7f at offset 5', patched('log-info', 5, '7f'), C.BAD_FIELD, P, 5);

function write<T>(file: string, description: string, vectors: T[]): void {
  const body: VectorFile<T> = {
    format: 'budlink-vectors/1',
    protocol: PROTOCOL_MAJOR + '.' + PROTOCOL_MINOR,
    description,
    vectors,
  };
  writeFileSync(join(outDir, file), JSON.stringify(body, null, 2) + '\n');
}
write(
  'golden.json',
  'Golden frames: decoding hex must give frame; encoding frame must give hex. Byte fields (samples, value) are hex. ' +
    'maxPayload, when present, is the frame size limit to decode and encode with (default 244).',
  golden,
);
write(
  'errors.json',
  'Error vectors: decoding hex must fail with error.code and error.fault (offset: where the decoder found it). ' +
    'maxPayload, when present, is the frame size limit to decode with (default 244).',
  errors,
);
process.stdout.write(`wrote ${golden.length} golden and ${errors.length} error vectors to ${outDir}\n`);
