/**
 * Fuzz benchmark: 1,000,000 cases over every parser reachable from outside (test/fuzz/targets.ts, ten
 * times the test run's cases), under V8 precise coverage.
 *
 * reliability.fuzz_cases: cases run in all (goal >= 1,000,000); every one passed its checks, or the
 *   bench fails naming the seed and the case.
 * reliability.fuzz_target_cases.<parser>: cases per parser.
 * reliability.fuzz_branch_coverage.<parser>: share of the parser's branch arms (test/fuzz/coverage.ts)
 *   that its own cases ran, over the functions its target lists.
 * reliability.fuzz_seconds: the whole run, coverage included.
 */
import { V8Coverage } from '../test/fuzz/coverage';
import type { Bench } from './run';

const bench: Bench = {
  name: 'fuzz',
  async run() {
    const t0 = performance.now();
    const cov = new V8Coverage();
    // before the parsers load: only functions compiled from here on get block counters
    await cov.start();
    const { BENCH_FACTOR, TARGETS, runEntry } = await import('../test/fuzz/targets');
    const { fuzzSeed } = await import('../test/fuzz/fuzz');
    const seed = fuzzSeed(0xbe7c);
    const out: Record<string, number> = {};
    let total = 0;
    for (const entry of TARGETS) {
      const { name, sources } = entry.target;
      await cov.take(); // taking resets the counts: what follows is this target's alone
      const s = await runEntry(entry, entry.cases * BENCH_FACTOR, seed);
      const b = await cov.branches(sources, await cov.take());
      total += s.cases;
      out[`reliability.fuzz_target_cases.${name}`] = s.cases;
      out[`reliability.fuzz_branch_coverage.${name}`] = Number((b.covered / b.arms).toFixed(4));
      process.stdout.write(
        `  ${name}: ${s.cases} cases in ${(s.ms / 1000).toFixed(1)} s (${s.accepted} valid, ${s.refused} refused, ` +
          `longest ${s.maxCaseMs.toFixed(1)} ms), ${b.covered}/${b.arms} branch arms\n`,
      );
    }
    await cov.stop();
    out['reliability.fuzz_cases'] = total;
    out['reliability.fuzz_seconds'] = Number(((performance.now() - t0) / 1000).toFixed(1));
    return out;
  },
};
export default bench;
