import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { ErrorCode, FrameType, decodeFrame, encodeFrame } from '@budlink/protocol';
import type { Frame, ProtocolError } from '@budlink/protocol';
import { decodeDown, frame, put } from '../../../firmware/src/core/wire';

/** Frame types the device receives (decodeDown checks them field by field). */
const DOWN = [
  FrameType.WELCOME,
  FrameType.ACK,
  FrameType.NACK,
  FrameType.GATE,
  FrameType.STATE,
  FrameType.PLAY,
  FrameType.PLAY_END,
  FrameType.CONFIG,
  FrameType.PING,
  FrameType.ERROR,
] as number[];

function hex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}

/** decodeDown must agree with the reference decoder: same frame, or same error code, fault and offset. */
function agrees(bytes: Uint8Array, maxPayload = 244): void {
  const ref = decodeFrame(bytes, maxPayload);
  const got = decodeDown(bytes, maxPayload);
  const t = bytes[0] ?? 0;
  const bound = bytes.length >= 4 && bytes.length <= Math.min(244, maxPayload) && DOWN.includes(t);
  const headerLevel = bytes.length < 4 || bytes.length > Math.min(244, maxPayload) || t === 0 || t > 0x12;
  if (ref.ok && bound) {
    expect(got).to.deep.equal(ref.frame);
  } else if (!ref.ok && (bound || headerLevel)) {
    const e = got as ProtocolError;
    expect({ code: e.code, fault: e.fault, offset: e.offset }, e.message).to.deep.equal({
      code: ref.error.code,
      fault: ref.error.fault,
      offset: ref.error.offset,
    });
  } else {
    // a known type the device never receives: refused before its fields are checked
    expect((got as ProtocolError).code).to.equal(ErrorCode.BAD_STATE);
  }
}

describe('firmware wire: decodeDown (the device decoder) against the reference codec', () => {
  for (const file of ['golden', 'errors']) {
    it(`agrees on every ${file} vector`, () => {
      const v = JSON.parse(readFileSync(`protocol/vectors/${file}.json`, 'utf8')) as {
        vectors: { name: string; hex: string; maxPayload?: number }[];
      };
      expect(v.vectors.length).to.be.greaterThan(10);
      for (const x of v.vectors) agrees(hex(x.hex), x.maxPayload ?? 244);
    });
  }

  it('agrees on random and mutated frames (100,000 cases)', () => {
    const valid = fc.constantFrom(
      ...JSON.parse(readFileSync('protocol/vectors/golden.json', 'utf8')).vectors.map((x: { hex: string }) =>
        hex(x.hex),
      ),
    ) as fc.Arbitrary<Uint8Array>;
    const mutated = fc
      .tuple(
        valid,
        fc.array(fc.tuple(fc.nat(40), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat(45),
      )
      .map(([b, edits, cut]) => {
        const out = new Uint8Array(b.subarray(0, Math.min(b.length, cut < 40 ? b.length : cut - 20)));
        for (const [i, v] of edits) if (i < out.length) out[i] = v;
        return out;
      });
    const typed = fc
      .tuple(
        fc.constantFrom(...DOWN, FrameType.HELLO, FrameType.AUDIO, 0x13, 0x50),
        fc.uint8Array({ maxLength: 30 }),
      )
      .map(([t, rest]) =>
        Uint8Array.from([t, rest[0] ?? 0, rest[1] ?? 0, rest[2] ?? 0, ...rest.subarray(3)]),
      );
    fc.assert(
      fc.property(
        fc.oneof(valid, mutated, typed, fc.uint8Array({ maxLength: 40 })),
        fc.constantFrom(20, 50, 128, 244),
        (b, max) => agrees(b, max),
      ),
      { numRuns: 100_000, seed: 11 },
    );
  });
});

describe('firmware wire: frame() and put()', () => {
  it('build frames the reference decoder reads back', () => {
    const b = frame(17, FrameType.STATUS, 0, 0x1234);
    b[4] = 87;
    put(b, 5, 2000, 2);
    put(b, 7, 3, 2);
    put(b, 9, 0xffff, 2);
    put(b, 11, 1, 2);
    put(b, 13, 0xfedcba98, 4);
    const r = decodeFrame(b);
    expect(r.ok && r.frame).to.deep.equal({
      type: FrameType.STATUS,
      stream: 0,
      seq: 0x1234,
      battery: 87,
      freeVars: 2000,
      overruns: 3,
      drops: 0xffff,
      errors: 1,
      uptimeS: 0xfedcba98,
    } satisfies Frame);
    expect(encodeFrame(r.ok ? r.frame : (null as never)).ok).to.equal(true);
  });
});
