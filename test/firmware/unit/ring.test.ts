import { expect } from 'chai';
import fc from 'fast-check';
import { SampleRing } from '../../../firmware/src/core/ring';

describe('firmware SampleRing (fast path for non-wrapping writes)', () => {
  it('holds exactly the last `size` samples written, whatever the write sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 60 }), { maxLength: 20 }),
        (size, writes) => {
          const r = new SampleRing(size);
          const all: number[] = [];
          for (const w of writes) {
            r.write(w);
            for (const v of w) all.push(v);
            expect(r.written).to.equal(all.length);
            const from = r.oldest();
            const n = all.length - from;
            const out = new Uint8Array(n);
            expect(r.read(from, out, 0, n)).to.equal(true);
            expect(Array.from(out)).to.deep.equal(all.slice(from));
          }
        },
      ),
      { numRuns: 500, seed: 3 },
    );
  });
});
