/** The branch counting bench/fuzz.bench.ts reports with, on a fixture whose branches are known. */
import { expect } from 'chai';
import { V8Coverage } from './coverage';

describe('fuzz: branch coverage from V8', () => {
  it('counts the arms that ran: then/else, ?:, the right of && and ||, switch cases', async () => {
    const cov = new V8Coverage();
    await cov.start();
    try {
      // loaded after start(): its functions are compiled with block counters
      const { classify } = await import('./coverage-fixture');
      for (const n of [5, 500, -1]) classify(n);
      const scripts = await cov.take();
      const file = 'test/fuzz/coverage-fixture.ts';
      // if: both ways; ?: both; && right never (n is never 7); || right yes; cases 1, 2 never, default yes
      expect(await cov.branches([{ file, functions: ['classify'] }], scripts)).to.deep.equal({
        arms: 9,
        covered: 6,
      });
      // the whole file adds unused()'s two arms, never run
      expect(await cov.branches([{ file }], scripts)).to.deep.equal({ arms: 11, covered: 6 });
    } finally {
      await cov.stop();
    }
  });
});
