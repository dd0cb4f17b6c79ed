import { expect } from 'chai';
import fc from 'fast-check';
import { SampleRing } from '../../../firmware/src/core/ring';

/** Write `samples` with `keep` (write() takes the length from its caller). */
function add(r: SampleRing, samples: number[], keep: number): void {
  r.write(Uint8Array.from(samples), keep, samples.length);
}

describe('firmware SampleRing (fast path for non-wrapping writes)', () => {
  it('holds exactly the last `size` samples written, whatever the write sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 60 }), { maxLength: 20 }),
        (size, writes) => {
          const r = new SampleRing(size);
          r.alloc();
          const all: number[] = [];
          for (const w of writes) {
            r.write(w, -1, w.length);
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

  it('drops a buffer rather than overwrite the samples it must keep; audio after the gap reads alone', () => {
    const r = new SampleRing(8);
    r.alloc();
    add(r, [1, 2, 3, 4, 5, 6], -1);
    add(r, [7, 8], 2); // fits: 8 samples, keeps 2..
    expect([r.written, r.oldest()]).to.deep.equal([8, 0]);
    add(r, [9, 10, 11], 2); // would overwrite 0..2 and so 2: dropped
    expect(r.written).to.equal(8);
    const out = new Uint8Array(6);
    expect(r.read(2, out, 0, 6), 'the kept samples still read back').to.equal(true);
    expect(Array.from(out)).to.deep.equal([3, 4, 5, 6, 7, 8]);
    add(r, [12, 13], -1); // kept no more: a new stretch of audio
    expect([r.written, r.oldest()]).to.deep.equal([10, 8]);
    expect(r.read(6, out, 0, 2), 'audio before the gap is not joined to it').to.equal(false);
    expect(r.read(8, out, 0, 2)).to.equal(true);
    expect(Array.from(out.subarray(0, 2))).to.deep.equal([12, 13]);
  });
});
