import { expect } from 'chai';
import {
  decodeFrame,
  encodeFrame,
  encodeInto,
  encodedLength,
  ErrorCode,
  Fault,
  FrameType,
  FRAME_SPEC,
  isKnownType,
  isSessionType,
  frameTypeName,
  maxGapsFor,
  writeHeader,
  MAX_PAYLOAD,
} from '@budlink/protocol';
import type {
  AckFrame,
  ErrorCodeValue,
  Frame,
  FrameOf,
  HelloFrame,
  ProtocolError,
  SeqGap,
  TriggerCode,
  WakeFrame,
} from '@budlink/protocol';

const hello: Frame = {
  type: FrameType.HELLO,
  stream: 0,
  seq: 1,
  protoMajor: 1,
  protoMinor: 0,
  capabilities: 3,
  codecs: 1,
  sampleRate: 8000,
  maxPayload: 128,
  ringFrames: 32,
  nonce: 7,
  board: 'PUCKJS',
};

/** A copy of `f` with fields changed, typed loosely: these are deliberately invalid frames. */
function bad(f: Frame, patch: Record<string, unknown>): Frame {
  return Object.assign({}, f, patch) as unknown as Frame;
}

function refusal(f: Frame, maxPayload?: number): ProtocolError {
  const r = encodeFrame(f, maxPayload);
  if (r.ok) expect.fail('encoded an invalid frame');
  expect(r.error.fault).to.equal(Fault.INTERNAL);
  return r.error;
}

describe('protocol: codec', () => {
  describe('encode refuses inconsistent frames', () => {
    it('fields out of range, at the field offset', () => {
      const e = refusal(bad(hello, { sampleRate: 3999 }));
      expect(e.code).to.equal(ErrorCode.BAD_FIELD);
      expect(e.offset).to.equal(9);
      expect(e.message).to.contain('sampleRate');
      expect(refusal(bad(hello, { nonce: 2 ** 32 })).offset).to.equal(15);
      expect(refusal(bad(hello, { nonce: -1 })).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal(bad(hello, { capabilities: 1.5 })).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal(bad(hello, { capabilities: '3' })).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal(bad(hello, { capabilities: NaN })).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal(bad(hello, { seq: 65536 })).offset).to.equal(2);
      expect(refusal(bad(hello, { seq: undefined })).offset).to.equal(2);
    });

    it('session frames on a stream other than 0', () => {
      const e = refusal(bad(hello, { stream: 2 }));
      expect(e.code).to.equal(ErrorCode.BAD_FIELD);
      expect(e.offset).to.equal(1);
    });

    it('something that is not a frame', () => {
      expect(refusal(null as unknown as Frame).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal(42 as unknown as Frame).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal({} as unknown as Frame).code).to.equal(ErrorCode.UNKNOWN_TYPE);
    });

    it('an unknown type', () => {
      const e = refusal(bad(hello, { type: 0x30 }));
      expect(e.code).to.equal(ErrorCode.UNKNOWN_TYPE);
    });

    it('strings that are not ASCII or too long', () => {
      expect(refusal(bad(hello, { board: 'Puck\u00e9' })).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal(bad(hello, { board: 'Puck\n' })).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal(bad(hello, { board: 'x'.repeat(17) })).code).to.equal(ErrorCode.BAD_LENGTH);
      expect(refusal(bad(hello, { board: 5 })).code).to.equal(ErrorCode.BAD_FIELD);
      const log: Frame = { type: FrameType.LOG, stream: 0, seq: 0, level: 1, text: 'ok\ttab\r\n' };
      expect(encodeFrame(log).ok).to.equal(true);
      expect(refusal(bad(log, { text: 'snow \u2603' })).offset).to.equal(10);
    });

    it('a frame longer than maxPayload, and the cap at MAX_PAYLOAD', () => {
      const audio: Frame = { type: FrameType.AUDIO, stream: 1, seq: 0, samples: new Uint8Array(17) };
      const e = refusal(audio, 20);
      expect(e.code).to.equal(ErrorCode.TOO_LONG);
      expect(encodeFrame(audio, 21).ok).to.equal(true);
      const big: Frame = { type: FrameType.AUDIO, stream: 1, seq: 0, samples: new Uint8Array(241) };
      expect(refusal(big, 1000).code).to.equal(ErrorCode.TOO_LONG);
      expect(encodedLength(big)).to.have.property('code', ErrorCode.TOO_LONG);
      expect(encodedLength(audio)).to.equal(21);
    });

    it('samples that are not bytes', () => {
      const f = bad(
        { type: FrameType.PLAY, stream: 1, seq: 0, samples: new Uint8Array(1) },
        { samples: [1, 2] },
      );
      expect(refusal(f).code).to.equal(ErrorCode.BAD_FIELD);
    });

    it('cross-field rules: wakeEnd, battery, CONFIG lengths, gaps', () => {
      const wake: Frame = {
        type: FrameType.WAKE,
        stream: 1,
        seq: 0,
        trigger: 1,
        score: 9,
        codec: 1,
        sampleRate: 8000,
        preRollMs: 500,
        wakeStart: 10,
        wakeEnd: 9,
      };
      expect(refusal(wake).offset).to.equal(15);
      // lastSeq is not tied to seq by the codec (a stream-level rule, PROTOCOL.md §3).
      const end: Frame = { type: FrameType.END, stream: 1, seq: 0, reason: 1, lastSeq: 0, totalSamples: 0 };
      expect(encodeFrame(end).ok).to.equal(true);
      const status: Frame = {
        type: FrameType.STATUS,
        stream: 0,
        seq: 0,
        battery: 150,
        freeVars: 0,
        overruns: 0,
        drops: 0,
        errors: 0,
        uptimeS: 0,
      };
      expect(refusal(status).offset).to.equal(4);
      const cfg: Frame = {
        type: FrameType.CONFIG,
        stream: 0,
        seq: 0,
        op: 2,
        key: 7,
        value: new Uint8Array(2),
      };
      expect(refusal(cfg).code).to.equal(ErrorCode.BAD_LENGTH);
      expect(encodeFrame(bad(cfg, { value: new Uint8Array(1) })).ok).to.equal(true);
      expect(refusal(bad(cfg, { op: 1 })).code).to.equal(ErrorCode.BAD_LENGTH);
      const nack: Frame = { type: FrameType.NACK, stream: 1, seq: 0, cumulative: 5, gaps: [] };
      expect(refusal(nack).code).to.equal(ErrorCode.BAD_LENGTH);
      expect(refusal(bad(nack, { gaps: [{ start: 6, count: 1 }] })).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal(bad(nack, { gaps: [{ start: 5, count: 0 }] })).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal(bad(nack, { gaps: [{ start: 5, count: 256 }] })).code).to.equal(ErrorCode.BAD_FIELD);
      expect(refusal(bad(nack, { gaps: [null] })).code).to.equal(ErrorCode.BAD_FIELD);
      expect(
        refusal(
          bad(nack, {
            gaps: [
              { start: 5, count: 3 },
              { start: 6, count: 1 },
            ],
          }),
        ).offset,
      ).to.equal(10);
    });

    it('refuses without writing: encodeInto leaves the buffer untouched', () => {
      const out = new Uint8Array(8).fill(0xaa);
      const r = encodeInto(bad(hello, { sampleRate: 1 }), out, 0);
      expect(r.ok).to.equal(false);
      const small = encodeInto(hello, out, 0);
      expect(small.ok).to.equal(false);
      if (!small.ok) expect(small.error.code).to.equal(ErrorCode.OVERFLOW);
      expect([...out]).to.deep.equal(new Array(8).fill(0xaa));
    });
  });

  describe('decode', () => {
    it('reads every width little-endian, u32 unsigned above 2^31', () => {
      const bytes = new Uint8Array([0x0f, 0, 0x34, 0x12, 0xfe, 0xff, 0xff, 0xff]);
      const r = decodeFrame(bytes);
      if (!r.ok) expect.fail(r.error.message);
      expect(r.frame).to.deep.equal({ type: FrameType.PING, stream: 0, seq: 0x1234, token: 0xfffffffe });
    });

    it('gives zero-copy views into the input, at any byteOffset', () => {
      const backing = new Uint8Array([9, 9, 4, 7, 1, 0, 10, 20, 30]);
      const r = decodeFrame(backing.subarray(2));
      if (!r.ok || r.frame.type !== FrameType.AUDIO) return expect.fail('not AUDIO');
      expect([...r.frame.samples]).to.deep.equal([10, 20, 30]);
      backing[7] = 99;
      expect(r.frame.samples[1]).to.equal(99);
    });

    it('never reads past the end of a view (bytes beyond the subarray are ignored)', () => {
      const backing = new Uint8Array([0x0f, 0, 0, 0, 1, 2, 3, 4]);
      const r = decodeFrame(backing.subarray(0, 7));
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.code).to.equal(ErrorCode.TRUNCATED);
    });

    it('caps maxPayload at MAX_PAYLOAD and honours smaller limits', () => {
      const f = new Uint8Array(MAX_PAYLOAD + 1);
      f[0] = FrameType.AUDIO;
      const r = decodeFrame(f, 4096);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.code).to.equal(ErrorCode.TOO_LONG);
      expect(decodeFrame(f.subarray(0, 50), 50).ok).to.equal(true);
      expect(decodeFrame(f.subarray(0, 51), 50).ok).to.equal(false);
    });

    it('tells a future minor type (UNSUPPORTED) from garbage (PEER)', () => {
      const at = (t: number) => {
        const r = decodeFrame(new Uint8Array([t, 0, 0, 0]));
        return r.ok ? 0 : r.error.fault;
      };
      expect(at(0x13)).to.equal(Fault.UNSUPPORTED);
      expect(at(0x3f)).to.equal(Fault.UNSUPPORTED);
      expect(at(0x00)).to.equal(Fault.PEER);
      expect(at(0x40)).to.equal(Fault.PEER);
      expect(at(0xff)).to.equal(Fault.PEER);
    });
  });

  describe('FRAME_SPEC', () => {
    it('derives the frame types (checked by tsc: a drifting type fails the build)', () => {
      type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
      const checks: [
        Equals<WakeFrame['trigger'], TriggerCode>,
        Equals<WakeFrame['wakeEnd'], number>,
        Equals<AckFrame['type'], 0x06 | 0x07>,
        Equals<AckFrame['gaps'], SeqGap[]>,
        Equals<FrameOf<'ERROR'>['code'], ErrorCodeValue>,
        Equals<
          keyof HelloFrame,
          | 'type'
          | 'stream'
          | 'seq'
          | 'protoMajor'
          | 'protoMinor'
          | 'capabilities'
          | 'codecs'
          | 'sampleRate'
          | 'maxPayload'
          | 'ringFrames'
          | 'nonce'
          | 'board'
        >,
      ] = [true, true, true, true, true, true];
      expect(checks.every(Boolean)).to.equal(true);
      // @ts-expect-error -- a field FRAME_SPEC does not give HELLO
      const extra: HelloFrame = { ...(hello as HelloFrame), rssi: 1 };
      // @ts-expect-error -- a WAKE without its wakeEnd
      const missing: WakeFrame = {
        type: 3,
        stream: 1,
        seq: 0,
        trigger: 1,
        score: 0,
        codec: 1,
        sampleRate: 8000,
        preRollMs: 0,
        wakeStart: 0,
      };
      expect(extra.type + missing.type).to.equal(4);
    });

    it('enum fields have contiguous values (the codec checks them as min..max)', () => {
      for (const [type, spec] of Object.entries(FRAME_SPEC)) {
        for (const f of spec.fields) {
          if (!('values' in f)) continue;
          const v = Object.values(f.values).sort((a, b) => a - b);
          expect(v[v.length - 1]! - v[0]!, `${type}.${f.name}`).to.equal(v.length - 1);
        }
      }
    });

    it('session frames are the ones PROTOCOL.md §3 lists', () => {
      const session = Object.entries(FRAME_SPEC)
        .filter(([, s]) => s.session)
        .map(([t]) => t);
      expect(session).to.deep.equal([
        'HELLO',
        'WELCOME',
        'STATE',
        'STATUS',
        'CONFIG',
        'PING',
        'PONG',
        'ERROR',
        'LOG',
      ]);
    });
  });

  describe('helpers', () => {
    it('type tables', () => {
      expect(isKnownType(FrameType.LOG)).to.equal(true);
      expect(isKnownType(0)).to.equal(false);
      expect(isKnownType(0x13)).to.equal(false);
      expect(isSessionType(FrameType.PING)).to.equal(true);
      expect(isSessionType(FrameType.AUDIO)).to.equal(false);
      expect(frameTypeName(FrameType.PLAY_END)).to.equal('PLAY_END');
      expect(frameTypeName(0x2a)).to.equal('0x2a');
    });

    it('maxGapsFor matches what fits in an ACK', () => {
      expect(maxGapsFor(20)).to.equal(4);
      expect(maxGapsFor(244)).to.equal(79);
      expect(maxGapsFor(10000)).to.equal(79);
    });

    it('writeHeader builds the same header as encodeFrame', () => {
      const samples = new Uint8Array([1, 2, 3]);
      const out = new Uint8Array(7);
      writeHeader(out, 0, { type: FrameType.AUDIO, stream: 200, seq: 0xbeef });
      out.set(samples, 4);
      const r = encodeFrame({ type: FrameType.AUDIO, stream: 200, seq: 0xbeef, samples });
      if (!r.ok) expect.fail(r.error.message);
      expect([...out]).to.deep.equal([...r.bytes]);
    });
  });
});
