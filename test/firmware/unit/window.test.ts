import { expect } from 'chai';
import fc from 'fast-check';
import { FrameType, RetransmitWindow } from '@budlink/protocol';
import type { AckFrame } from '@budlink/protocol';
import { FrameWindow, HELD } from '../../../firmware/src/core/window';

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

describe('firmware FrameWindow (the protocol RetransmitWindow semantics, without frame bytes)', () => {
  /** Seqs the firmware window holds, oldest first. */
  function heldSeqs(w: FrameWindow): number[] {
    const out: number[] = [];
    for (let i = 0; i < w.used; i++)
      if (w.flag[(w.head + i) % w.capacity]! & HELD) out.push((w.first + i) & 0xffff);
    return out;
  }

  it('holds and frees what RetransmitWindow does, and asks again for exactly what it returns (once each)', () => {
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
          const pending = new Set<number>(); // re-sends the reference asked for, not yet taken
          for (const o of ops) {
            if (o.k === 'push') {
              for (let i = 0; i < o.n; i++) {
                const f = Uint8Array.from([FrameType.AUDIO, stream, seq & 255, seq >> 8]);
                if (a.used === a.capacity) {
                  expect(b.push(seq, f), 'reference full too').to.equal(false);
                  continue;
                }
                expect(b.push(seq, f)).to.equal(true);
                a.push(seq, 0, seq * 10, 1);
                seq = (seq + 1) & 0xffff;
              }
            } else if (o.k === 'ack' || o.k === 'nack') {
              const base = a.count ? a.first : seq;
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
              for (const f of b.onAck(ack)) pending.add((f[2]! | (f[3]! << 8)) & 0xffff);
              a.ack(cum, gaps, o.k === 'nack');
              for (const p of [...pending]) if (a.slot(p) < 0) pending.delete(p); // freed since
            } else if (o.k === 'evict') {
              expect(a.count ? a.first : -1).to.equal(b.evictOldest());
              if (a.count) {
                pending.delete(a.first);
                a.drop(a.first);
              }
            } else {
              a.reset();
              b.clear();
              pending.clear();
              stream++;
            }
            const ref = b.held().map((f) => (f[2]! | (f[3]! << 8)) & 0xffff);
            expect(heldSeqs(a), 'held').to.deep.equal(ref);
            expect(a.count, 'count').to.equal(b.size);
            expect(a.used === a.capacity, 'full').to.equal(b.full);
            expect(a.resends, 'one re-send per asked frame').to.equal(pending.size);
          }
          // takeResend hands them out oldest first, each once
          const order = heldSeqs(a).filter((x) => pending.has(x));
          const got: number[] = [];
          for (let s = a.takeResend(); s >= 0; s = a.takeResend()) got.push(s);
          expect(got).to.deep.equal(order);
        },
      ),
      { numRuns: 400, seed: 7 },
    );
  });

  it('a NACK flood costs nothing: the same frame asked 1,000 times is re-sent once', () => {
    const w = new FrameWindow(16);
    for (let i = 0; i < 10; i++) w.push(i, 0, i * 46, 46);
    for (let k = 0; k < 1000; k++) w.ack(3, [{ start: 3, count: 2 }], true);
    expect(w.resends).to.equal(2);
    expect([w.takeResend(), w.takeResend(), w.takeResend()]).to.deep.equal([3, 4, -1]);
    expect(w.count).to.equal(7);
  });

  it('across the seq wrap: a plain ACK frees, a NACK marks, drop() frees one', () => {
    const w = new FrameWindow(8);
    for (let i = 0; i < 6; i++) w.push((65533 + i) & 0xffff, 0, i, 1);
    w.ack(65535, [], false); // frees 65533, 65534
    expect([w.count, w.first]).to.deep.equal([4, 65535]);
    w.ack(0, [{ start: 1, count: 1 }], true); // frees 65535; 0 freed (between); 1 asked again; 2 held
    expect(w.count).to.equal(2);
    expect(w.takeResend()).to.equal(1);
    expect(w.drop(2)).to.equal(true);
    expect(w.drop(2)).to.equal(false);
    expect(w.count).to.equal(1);
    w.reset();
    expect([w.count, w.used, w.resends]).to.deep.equal([0, 0, 0]);
  });
});
