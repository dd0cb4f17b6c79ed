'use strict';
// Mocha's spec reporter, plus the one summary line CI reads: "tests: N passed, N failed".
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class BudlinkReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || { passes: 0, failures: 0, pending: 0 };
      const skipped = s.pending ? `, ${s.pending} skipped` : '';
      process.stdout.write(`tests: ${s.passes} passed, ${s.failures} failed${skipped}\n`);
    });
  }
}
module.exports = BudlinkReporter;
