import { expect } from 'chai';
import fc from 'fast-check';
import { FrameType, RetransmitWindow } from '@budlink/protocol';
import type { AckFrame } from '@budlink/protocol';
import { FrameWindow } from '../../../firmware/src/core/window';

type Op =
  | { k: 'push'; n: number }
  | { k: 'ack'; d: number }
  | { k: 'nack'; d: number; gaps: { o: number; c: number }[] }
  | { k: 'evict' }
  | { k: 'reset' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('push' as const), n: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ k: fc.constant('ack' as const), d: fc.integer({ min: -3, max: 20 }) }),
  fc.record({
    k: fc.constant('nack' as const),
    d: fc.integer({ min: -2, max: 10 }),
    gaps: fc.array(fc.record({ o: fc.integer({ min: 0, max: 6 }), c: fc.integer({ min: 1, max: 4 }) }), {
      maxLength: 3,
    }),
  }),
  fc.record({ k: fc.constant('evict' as const) }),
  fc.record({ k: fc.constant('reset' as const) }),
);

describe('firmware FrameWindow (same behaviour as the protocol RetransmitWindow)', () => {
  it('matches RetransmitWindow on random push/ACK/NACK/evict sequences, across seq wrap-around', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 65535 }),
        fc.array(op, { maxLength: 60 }),
        (cap, start, ops) => {
          const a = new FrameWindow(cap);
          const b = new RetransmitWindow(cap);
          let seq = start;
          let stream = 0;
          for (const o of ops) {
            if (o.k === 'push') {
              for (let i = 0; i < o.n; i++) {
                const f = Uint8Array.from([FrameType.AUDIO, stream, seq & 255, seq >> 8]);
                const ra = a.push(seq, f);
                expect(ra).to.equal(b.push(seq, f));
                if (ra) seq = (seq + 1) & 0xffff;
              }
            } else if (o.k === 'ack' || o.k === 'nack') {
              const base = a.oldest() < 0 ? seq : a.oldest();
              const cum = (base + o.d + 0x10000) & 0xffff;
              const gaps =
                o.k === 'nack'
                  ? o.gaps.reduce<{ start: number; count: number }[]>((acc, g) => {
                      const prev = acc.length ? acc[acc.length - 1]! : { start: cum, count: 0 };
                      acc.push({ start: (prev.start + prev.count + g.o + 1) & 0xffff, count: g.c });
                      return acc;
                    }, [])
                  : [];
              const ack: AckFrame = {
                type: o.k === 'nack' ? FrameType.NACK : FrameType.ACK,
                stream,
                seq: 0,
                cumulative: cum,
                gaps,
              };
              expect(a.onAck(ack)).to.deep.equal(b.onAck(ack));
            } else if (o.k === 'evict') {
              expect(a.evictOldest()).to.equal(b.evictOldest());
            } else {
              // reset() forgets without nulling the slots: stale frames must never show through.
              a.reset();
              b.clear();
              stream++;
            }
            expect(a.count, 'size').to.equal(b.size);
            expect(a.used === a.capacity, 'full').to.equal(b.full);
            expect(a.oldest(), 'oldest').to.equal(b.oldest());
            for (let d = -2; d < cap + 2; d++) {
              const s = (seq - cap + d + 0x10000) & 0xffff;
              expect(a.get(s), 'get ' + s).to.equal(b.get(s));
            }
          }
        },
      ),
      { numRuns: 400, seed: 7 },
    );
  });

  it('a plain ACK frees in O(1) without holes; after a NACK freed a middle frame it still trims', () => {
    const w = new FrameWindow(8);
    const f = (i: number) => Uint8Array.from([4, 0, i, 0]);
    for (let i = 0; i < 6; i++) w.push(65533 + i > 65535 ? i - 3 : 65533 + i, f(i));
    expect(w.count).to.equal(6);
    w.ackTo(65535); // frees 65533, 65534
    expect(w.count).to.equal(4);
    expect(w.oldest()).to.equal(65535);
    const again = w.onAck({
      type: FrameType.NACK,
      stream: 0,
      seq: 0,
      cumulative: 0,
      gaps: [{ start: 1, count: 1 }],
    });
    expect(again).to.deep.equal([f(4)]);
    expect(w.count).to.equal(2); // 1 (gap) and 2 held; 0 freed
    w.ackTo(2);
    expect(w.count).to.equal(1);
    expect(w.oldest()).to.equal(2);
    expect(() => w.push(9, f(9))).to.throw(RangeError);
    w.clear();
    expect(w.count).to.equal(0);
    expect(w.frames.every((x) => x === null)).to.equal(true);
  });
});
