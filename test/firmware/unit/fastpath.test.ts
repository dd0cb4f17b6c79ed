import { expect } from 'chai';
import fc from 'fast-check';
import { FrameType, decodeFrame } from '@budlink/protocol';
import { fastAck, fastPlay } from '../../../firmware/src/core/fastpath';

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
});
