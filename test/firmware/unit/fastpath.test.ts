import { expect } from 'chai';
import fc from 'fast-check';
import { FrameType, decodeFrame, encodeFrame } from '@budlink/protocol';
import type { Frame } from '@budlink/protocol';
import {
  encodeEnd,
  encodePong,
  encodeStatus,
  encodeWake,
  fastAck,
  fastPlay,
  fastWelcome,
} from '../../../firmware/src/core/fastpath';

function generic(f: Frame): Uint8Array {
  const r = encodeFrame(f, 244);
  if (!r.ok) throw new Error(r.error.message);
  return r.bytes;
}

describe('firmware fast-path decoding (ACK, PLAY)', () => {
  const frames = fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 60 }),
    fc
      .tuple(
        fc.constantFrom(FrameType.ACK, FrameType.PLAY, FrameType.NACK),
        fc.uint8Array({ minLength: 0, maxLength: 60 }),
      )
      .map(([t, rest]) => Uint8Array.from([t, ...rest])),
    fc
      .tuple(fc.nat(255), fc.nat(65535), fc.nat(65535))
      .map(([s, q, c]) => Uint8Array.from([FrameType.ACK, s, q & 255, q >> 8, c & 255, c >> 8, 0])),
  );

  it('accepts only what decodeFrame accepts, with the same fields', () => {
    fc.assert(
      fc.property(frames, (bytes) => {
        const fast = fastAck(bytes) ?? fastPlay(bytes, 50);
        if (!fast) return;
        const slow = decodeFrame(bytes, 50);
        expect(slow.ok, 'decodeFrame refused what the fast path took').to.equal(true);
        if (slow.ok) expect(fast).to.deep.equal(slow.frame);
      }),
      { numRuns: 3000, seed: 2026 },
    );
  });

  it('takes the common frames (plain ACK, PLAY) and leaves the rest to decodeFrame', () => {
    expect(fastAck(Uint8Array.from([6, 3, 1, 0, 9, 0, 0]))).to.deep.equal({
      type: 6,
      stream: 3,
      seq: 1,
      cumulative: 9,
      gaps: [],
    });
    expect(fastAck(Uint8Array.from([6, 3, 1, 0, 9, 0, 1, 9, 0, 1]))).to.equal(null);
    expect(fastAck(Uint8Array.from([7, 3, 1, 0, 9, 0, 0]))).to.equal(null);
    expect(fastPlay(Uint8Array.from([10, 1, 0, 0, 5, 6]), 50)?.samples).to.deep.equal(
      Uint8Array.from([5, 6]),
    );
    expect(fastPlay(new Uint8Array(51).fill(10), 50)).to.equal(null);
    expect(fastPlay(Uint8Array.from([10, 1, 0]), 50)).to.equal(null);
  });

  it('fastWelcome accepts only valid WELCOMEs, with the fields decodeFrame reads', () => {
    const welcomes = fc.oneof(
      fc.uint8Array({ minLength: 15, maxLength: 19 }).map((b) => {
        b[0] = FrameType.WELCOME;
        return b;
      }),
      fc
        .record({
          seq: fc.nat(65535),
          protoMajor: fc.nat(255),
          protoMinor: fc.nat(255),
          payloadSize: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 20, max: 244 })),
          codec: fc.nat(3),
          sampleRate: fc.oneof(fc.nat(65535), fc.integer({ min: 4000, max: 16000 })),
          keepAliveMs: fc.nat(65535),
          nonce: fc.nat(0xffffffff),
          stream: fc.constantFrom(0, 0, 0, 1),
        })
        .map((w) => {
          const b = new Uint8Array(17);
          const v = new DataView(b.buffer);
          b[0] = FrameType.WELCOME;
          b[1] = w.stream;
          v.setUint16(2, w.seq, true);
          b[4] = w.protoMajor;
          b[5] = w.protoMinor;
          v.setUint16(6, w.payloadSize, true);
          b[8] = w.codec;
          v.setUint16(9, w.sampleRate, true);
          v.setUint16(11, w.keepAliveMs, true);
          v.setUint32(13, w.nonce, true);
          return b;
        }),
    );
    let taken = 0;
    fc.assert(
      fc.property(welcomes, (bytes) => {
        const fast = fastWelcome(bytes);
        const slow = decodeFrame(bytes, 50);
        if (fast) {
          taken++;
          expect(slow.ok, 'decodeFrame refused what fastWelcome took').to.equal(true);
          if (slow.ok) expect(fast).to.deep.equal(slow.frame);
        } else if (slow.ok) {
          expect.fail('fastWelcome refused a valid WELCOME');
        }
      }),
      { numRuns: 3000, seed: 11 },
    );
    expect(taken).to.be.greaterThan(100);
  });

  it('hand encoders produce the bytes encodeFrame produces (WAKE, END, STATUS, PONG)', () => {
    fc.assert(
      fc.property(
        fc.nat(255),
        fc.nat(65535),
        fc.nat(0xffffffff),
        fc.nat(0xffffffff),
        fc.integer({ min: 4000, max: 16000 }),
        (stream, seq, a, b, rate) => {
          const lo = Math.min(a, b);
          const hi = Math.max(a, b);
          const trigger = (a % 4) + 1;
          const codec = (b % 2) + 1;
          expect(encodeWake(stream, seq, trigger, a & 255, codec, rate, b & 0xffff, lo, hi)).to.deep.equal(
            generic({
              type: FrameType.WAKE,
              stream,
              seq,
              trigger: trigger as 1,
              score: a & 255,
              codec,
              sampleRate: rate,
              preRollMs: b & 0xffff,
              wakeStart: lo,
              wakeEnd: hi,
            }),
          );
          const reason = (a % 6) + 1;
          expect(encodeEnd(stream, seq, reason, b & 0xffff, a)).to.deep.equal(
            generic({
              type: FrameType.END,
              stream,
              seq,
              reason: reason as 1,
              lastSeq: b & 0xffff,
              totalSamples: a,
            }),
          );
          const battery = a % 3 === 0 ? 255 : a % 101;
          expect(
            encodeStatus(seq, battery, a & 0xffff, b & 0xffff, (a >> 16) & 0xffff, (b >> 16) & 0xffff, b),
          ).to.deep.equal(
            generic({
              type: FrameType.STATUS,
              stream: 0,
              seq,
              battery,
              freeVars: a & 0xffff,
              overruns: b & 0xffff,
              drops: (a >> 16) & 0xffff,
              errors: (b >> 16) & 0xffff,
              uptimeS: b,
            }),
          );
          expect(encodePong(seq, a)).to.deep.equal(
            generic({ type: FrameType.PONG, stream: 0, seq, token: a }),
          );
        },
      ),
      { numRuns: 2000, seed: 5 },
    );
  });
});
