/**
 * Fuzzing every parser reachable from outside (test/fuzz/targets.ts): 100,000 cases in all, mutated
 * from the vectors and valid inputs. Each case must give a valid result that round-trips where there is
 * an encoder, or the parser's documented typed error, within MAX_CASE_MS. A failure names the target,
 * the seed and the case; BUDLINK_FUZZ_SEED=<n> runs other cases.
 */
import { expect } from 'chai';
import { fuzzSeed, MAX_CASE_MS } from './fuzz';
import { runEntry, TARGETS, TEST_CASES } from './targets';

describe('fuzz: parsers reachable from outside', function () {
  this.timeout(120_000);
  const seed = fuzzSeed(0xf022);

  it(`runs ${TEST_CASES.toLocaleString('en-US')} cases in all`, () => {
    expect(TARGETS.reduce((n, e) => n + e.cases, 0)).to.equal(TEST_CASES);
  });

  for (const entry of TARGETS) {
    const { name } = entry.target;
    it(`${name}: ${entry.cases.toLocaleString('en-US')} cases, each valid or a typed refusal within ${String(MAX_CASE_MS)} ms`, async () => {
      const s = await runEntry(entry, entry.cases, seed);
      expect(s.cases).to.equal(entry.cases);
      // both outcomes well represented, or the mutations are not reaching past the header checks
      expect(s.accepted, `${name} cases accepted`).to.be.above(entry.cases * 0.02);
      expect(s.refused, `${name} cases refused`).to.be.above(entry.cases * 0.01);
    });
  }
});
