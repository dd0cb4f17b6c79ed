/**
 * Fuzz targets for frames on both sides of the link: the reference codec (decodeFrame), the device's
 * own decoder (decodeDown) and its write handler (App.onWrite on the fake HAL), and the host's deframe
 * operator. Seed corpus: the golden and error vectors, and a valid frame of every type built by the
 * encoder from FRAME_SPEC.
 */
import { Subject } from 'rxjs';
import {
  decodeFrame,
  encodeFrame,
  ErrorCode,
  Fault,
  FRAME_SPEC,
  FrameType,
  MAX_PAYLOAD,
  type FieldSpec,
  type Frame,
  type FrameSpec,
  type ProtocolError,
} from '@budlink/protocol';
import { App } from '../../firmware/src/core/app';
import { decodeDown } from '../../firmware/src/core/wire';
import { BOARDS, type BoardProfile } from '../../firmware/boards/index';
import { deframe } from '../../host/src/pipeline/deframe';
import { FakeHal } from '../firmware/unit/fake-hal';
import { checkCase, vectorBytes } from '../protocol/fuzz';
import {
  below,
  between,
  hex,
  mutateBytes,
  pick,
  randomBytes,
  rng,
  type ByteMutation,
  type LengthField,
  type Rand,
  type Target,
} from './fuzz';

type FrameName = keyof typeof FRAME_SPEC;
const NAMES = Object.keys(FRAME_SPEC) as FrameName[];
/** Frame types the host writes to the device. */
const DOWN: FrameName[] = [
  'WELCOME',
  'ACK',
  'NACK',
  'GATE',
  'STATE',
  'PLAY',
  'PLAY_END',
  'CONFIG',
  'PING',
  'ERROR',
];
/** Value bytes of each CONFIG key (index = key); NAME (8) is 0..16 printable ASCII. */
const CONFIG_VALUE_BYTES = [0, 2, 1, 2, 2, 2, 1, 1, -1];

function printable(r: Rand, n: number, text = false): string {
  let s = '';
  for (let i = 0; i < n; i++)
    s += text && r() < 0.1 ? pick(r, ['\t', '\n', '\r']) : String.fromCharCode(0x20 + below(r, 0x5f));
  return s;
}

/** A random frame of type `name` with every field in its domain (the encoder refuses the rare misfit). */
function randomFrame(r: Rand, name: FrameName): Frame {
  const spec: FrameSpec = FRAME_SPEC[name];
  const f: Record<string, unknown> = {
    type: FrameType[name],
    stream: spec.session ? 0 : below(r, 256),
    seq: between(r, 0, 0xffff),
  };
  let room = MAX_PAYLOAD - 4;
  for (const field of spec.fields as readonly FieldSpec[]) {
    const top = field.width === 4 ? 0xffffffff : field.width === 2 ? 0xffff : 0xff;
    f[field.name] = field.values
      ? pick(r, Object.values(field.values))
      : between(r, field.min ?? 0, field.max ?? top);
    room -= field.width;
  }
  // CONFIG: mostly the keys a device knows (a random u8 is rarely one)
  if (name === 'CONFIG' && r() < 0.8) f.key = 1 + below(r, 8);
  if (name === 'WAKE') f.wakeEnd = Math.min(0xffffffff, (f.wakeStart as number) + below(r, 8000));
  if (name === 'STATUS') f.battery = r() < 0.2 ? 255 : below(r, 101);
  const tail = spec.tail;
  if (tail?.kind === 'bytes') f[tail.name] = randomBytes(r, below(r, Math.min(room, 64) + 1));
  if (tail?.kind === 'name') f[tail.name] = printable(r, below(r, 17));
  if (tail?.kind === 'text') f[tail.name] = printable(r, below(r, 40), true);
  if (tail?.kind === 'gaps') {
    const gaps: { start: number; count: number }[] = [];
    let at = f.cumulative as number;
    const n = (name === 'NACK' ? 1 : 0) + below(r, 5);
    for (let i = 0; i < n; i++) {
      const start = i === 0 ? at : (at + below(r, 20)) & 0xffff;
      const count = 1 + below(r, 30);
      gaps.push({ start, count });
      at = (start + count) & 0xffff;
    }
    f.gaps = gaps;
  }
  if (name === 'CONFIG') {
    const want =
      f.op === 1
        ? 0
        : (((f.key as number) < 9 ? CONFIG_VALUE_BYTES[f.key as number] : below(r, 8)) as number);
    f.value = want === -1 ? new TextEncoder().encode(printable(r, below(r, 17))) : randomBytes(r, want);
  }
  return f as unknown as Frame;
}

/** A random frame of `name`, encoded (retried until the encoder takes it). */
function randomFrameBytes(r: Rand, name: FrameName): Uint8Array {
  for (;;) {
    const e = encodeFrame(randomFrame(r, name));
    if (e.ok) return e.bytes;
  }
}

/** Golden and error vectors, and three encoder-built frames of every type. */
function frameCorpus(names: readonly FrameName[] = NAMES): Uint8Array[] {
  const r = rng(names.length);
  const built = names.flatMap((n) => [0, 1, 2].map(() => randomFrameBytes(r, n)));
  const vectors = [...vectorBytes('golden.json'), ...vectorBytes('errors.json')].filter((b) =>
    names.some((n) => FrameType[n] === b[0]),
  );
  return [...vectors, ...built];
}

/** ACK/NACK gap count and CONFIG's op/key: the frame fields that say how long the rest is. */
function frameLengthFields(b: Uint8Array): LengthField[] {
  if (b[0] === FrameType.ACK || b[0] === FrameType.NACK) return [{ at: 6, width: 1 }];
  if (b[0] === FrameType.CONFIG) return [{ at: 5, width: 1 }];
  return [{ at: 2, width: 2 }];
}

/** Frame cases: a third fresh frames from the spec, the rest mutated corpus frames; a few left intact. */
function frameCases(r: Rand, names: readonly FrameName[]): () => Uint8Array {
  const corpus = frameCorpus(names);
  const m: ByteMutation = { corpus, maxLength: MAX_PAYLOAD + 8, lengthFields: frameLengthFields };
  return () => {
    const base = r() < 0.3 ? randomFrameBytes(r, pick(r, names)) : pick(r, corpus);
    return r() < 0.1 ? base : mutateBytes(r, base, m);
  };
}

const PAYLOADS = [undefined, 20, 50, 128, MAX_PAYLOAD];

interface Sized {
  bytes: Uint8Array;
  maxPayload: number | undefined;
}

const showSized = (c: Sized): string => `${hex(c.bytes)} maxPayload ${String(c.maxPayload)}`;

const CODES = Object.values(ErrorCode) as number[];
const FAULTS = Object.values(Fault) as number[];

/** A ProtocolError with a known code and fault and an offset inside the frame, or throw. */
function checkError(e: ProtocolError, length: number): void {
  if (!CODES.includes(e.code) || !FAULTS.includes(e.fault) || typeof e.message !== 'string')
    throw new Error(`untyped error ${JSON.stringify(e)}`);
  if (typeof e.offset !== 'number' || e.offset < 0 || e.offset > Math.max(length, MAX_PAYLOAD))
    throw new Error(`error offset outside the frame: ${JSON.stringify(e)}`);
}

/** The frame re-encodes to exactly `bytes`. */
function roundTrips(frame: Frame, bytes: Uint8Array, maxPayload: number | undefined): void {
  const e = encodeFrame(frame, maxPayload);
  if (!e.ok) throw new Error(`decoded frame does not re-encode: ${e.error.message}`);
  if (Buffer.compare(e.bytes, bytes) !== 0) throw new Error(`re-encodes to ${hex(e.bytes)}`);
}

export const codecTarget: Target<Sized> = {
  name: 'codec',
  sources: [
    {
      file: 'protocol/src/codec.ts',
      functions: [
        'decodeFrame',
        'validate',
        'checkGaps',
        'checkRules',
        'badChar',
        'isInt',
        'layoutAt',
        'frameTypeName',
        'offsetOf',
        'limitOf',
        'failed',
        'protocolError',
      ],
    },
  ],
  open(r) {
    const next = frameCases(r, NAMES);
    return {
      next: () => ({ bytes: next(), maxPayload: pick(r, PAYLOADS) }),
      check: (c) => (checkCase(c.bytes, c.maxPayload) === 1 ? 'accepted' : 'refused'),
    };
  },
  show: showSized,
};

export const wireTarget: Target<Sized> = {
  name: 'wire_decode_down',
  sources: [{ file: 'firmware/src/core/wire.ts', functions: ['decodeDown', 'fail'] }],
  open(r) {
    const next = frameCases(r, DOWN);
    return {
      next: () => ({ bytes: next(), maxPayload: pick(r, PAYLOADS) ?? MAX_PAYLOAD }),
      check: ({ bytes, maxPayload }) => {
        const got = decodeDown(bytes, maxPayload as number);
        if ((got as Frame).type === undefined) {
          checkError(got as ProtocolError, bytes.length);
          return 'refused';
        }
        if (!decodeFrame(bytes, maxPayload).ok)
          throw new Error('decodeDown took a frame decodeFrame refuses');
        roundTrips(got as Frame, bytes, maxPayload);
        return 'accepted';
      },
    };
  },
  show: showSized,
};

interface Write {
  bytes: Uint8Array;
  /** Device time passing after the write (ms). */
  advanceMs: number;
}

/** The unit tests' Puck.js and the nRF52840 DK (a 128-byte payload). */
const RIG_BOARDS: BoardProfile[] = [
  { ...(BOARDS.puckjs as BoardProfile), bufferSamples: 256 },
  BOARDS.nrf52840dk as BoardProfile,
];
/** Writes per device before a fresh one boots (the state a long fuzz run drives it into is kept bounded). */
const WRITES_PER_RIG = 400;

/** A WELCOME for `board`, so most writes land on a welcomed device. */
function welcome(board: BoardProfile): Uint8Array {
  const e = encodeFrame({
    type: FrameType.WELCOME,
    stream: 0,
    seq: 0,
    protoMajor: 1,
    protoMinor: 0,
    payloadSize: board.maxPayload,
    codec: 1,
    sampleRate: board.sampleRate,
    keepAliveMs: 0,
    nonce: 0x12345678,
  });
  if (!e.ok) throw new Error(e.error.message);
  return e.bytes;
}

export const appTarget: Target<Write> = {
  name: 'app_on_write',
  sources: [
    { file: 'firmware/src/core/app.ts', functions: ['onWrite', 'onFrame', 'onWelcome', 'onConfig'] },
    { file: 'firmware/src/core/wire.ts', functions: ['decodeDown', 'fail'] },
  ],
  open(r) {
    const next = frameCases(r, DOWN);
    let hal = new FakeHal();
    let app: App | undefined;
    let board = RIG_BOARDS[0] as BoardProfile;
    let writes = 0;
    const boot = (): App => {
      board = pick(r, RIG_BOARDS);
      hal = new FakeHal();
      const a = new App(board, hal);
      a.boot();
      hal.connect();
      if (r() < 0.8) a.onWrite(welcome(board));
      hal.take();
      writes = 0;
      return a;
    };
    return {
      next: () => ({ bytes: next(), advanceMs: r() < 0.2 ? below(r, 2000) : 0 }),
      check: ({ bytes, advanceMs }) => {
        if (!app || writes++ >= WRITES_PER_RIG) app = boot();
        const errors = app.counters.errors;
        app.onWrite(bytes);
        hal.advance(advanceMs);
        if (app.counters.errors !== errors)
          throw new Error(`device counted an internal error: ${hal.logs.at(-1)}`);
        let refused = false;
        for (const sent of hal.take()) {
          const d = decodeFrame(sent, board.maxPayload);
          if (!d.ok) throw new Error(`device sent an undecodable frame ${hex(sent)}: ${d.error.message}`);
          if (d.frame.type === FrameType.ERROR) {
            if (d.frame.fault === Fault.INTERNAL) throw new Error(`device reported ${d.frame.message}`);
            refused = true;
          }
        }
        return refused ? 'refused' : 'accepted';
      },
    };
  },
  show: (w) => `${hex(w.bytes)} then ${String(w.advanceMs)} ms`,
};

export const deframeTarget: Target<Sized> = {
  name: 'deframe',
  sources: [{ file: 'host/src/pipeline/deframe.ts' }],
  open(r) {
    const next = frameCases(r, NAMES);
    const source = new Subject<Uint8Array>();
    let max: number | undefined;
    const frames: Frame[] = [];
    const errors: ProtocolError[] = [];
    let failed: unknown;
    const sub = source
      .pipe(
        deframe(
          (e) => errors.push(e),
          () => max,
        ),
      )
      .subscribe({
        next: (f) => frames.push(f),
        error: (e: unknown) => (failed = e),
        complete: () => (failed = new Error('deframe completed')),
      });
    return {
      next: () => ({ bytes: next(), maxPayload: pick(r, PAYLOADS) }),
      check: ({ bytes, maxPayload }) => {
        max = maxPayload;
        frames.length = 0;
        errors.length = 0;
        source.next(bytes);
        if (failed !== undefined) throw failed;
        if (frames.length + errors.length !== 1)
          throw new Error(
            `${String(frames.length)} frames and ${String(errors.length)} errors for one notification`,
          );
        if (errors[0]) {
          checkError(errors[0], bytes.length);
          return 'refused';
        }
        roundTrips(frames[0] as Frame, bytes, maxPayload);
        return 'accepted';
      },
      close: () => sub.unsubscribe(),
    };
  },
  show: showSized,
};
