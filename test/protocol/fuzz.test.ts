import { expect } from 'chai';
import { checkCase, fuzzCases } from './fuzz';

describe('protocol: decoder fuzz', () => {
  it('100,000 random and mutated frames: each a frame that re-encodes identically, or a typed error', () => {
    const next = fuzzCases(0xb0d1);
    let frames = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) frames += checkCase(next());
    // Both outcomes must be well represented, or the fuzzer is not reaching the field checks.
    expect(frames).to.be.above(n * 0.05);
    expect(n - frames).to.be.above(n * 0.3);
  });
});
