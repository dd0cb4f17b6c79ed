import { expect } from 'chai';
import fc from 'fast-check';
import { seqAdd, seqDiff, seqLess } from '@budlink/protocol';

describe('protocol: sequence numbers', () => {
  it('add wraps at 65536 both ways', () => {
    expect(seqAdd(65535, 1)).to.equal(0);
    expect(seqAdd(0, -1)).to.equal(65535);
    expect(seqAdd(65000, 1000)).to.equal(464);
    expect(seqAdd(5, 0)).to.equal(5);
  });

  it('diff is the signed distance across the wrap', () => {
    expect(seqDiff(0, 65535)).to.equal(1);
    expect(seqDiff(65535, 0)).to.equal(-1);
    expect(seqDiff(10, 10)).to.equal(0);
    expect(seqDiff(32767, 0)).to.equal(32767);
    expect(seqDiff(32768, 0)).to.equal(-32768);
    expect(seqDiff(100, 65500)).to.equal(136);
  });

  it('less orders across the wrap', () => {
    expect(seqLess(65535, 0)).to.equal(true);
    expect(seqLess(0, 65535)).to.equal(false);
    expect(seqLess(3, 3)).to.equal(false);
    expect(seqLess(1, 2)).to.equal(true);
  });

  it('diff inverts add for every distance in -32768..32767', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: -32768, max: 32767 }), (a, n) => {
        const b = seqAdd(a, n);
        expect(b).to.be.within(0, 65535);
        expect(seqDiff(b, a)).to.equal(n);
        // 32768 apart is the one ambiguous distance: both orders are "less".
        if (n !== -32768) expect(seqLess(a, b)).to.equal(n > 0);
      }),
      { seed: 1, numRuns: 2000 },
    );
  });
});
