'use strict';
// Mocha's spec reporter, plus the one summary line CI reads: "tests: N passed, N failed".
//
// Mocha runs without `exit: true`, so a test that leaves a socket, server, child process or timer
// behind keeps the process alive. Rather than hang CI, a guard (an unref'd timer: it never keeps the
// process alive itself) names what is still open after LEAK_GRACE_MS, counts it as one more failure
// and exits non-zero.
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;

const LEAK_GRACE_MS = Number(process.env.BUDLINK_LEAK_GRACE_MS) || 10000;

class BudlinkReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || { passes: 0, failures: 0, pending: 0 };
      const line = (failures) =>
        `tests: ${s.passes} passed, ${failures} failed${s.pending ? `, ${s.pending} skipped` : ''}\n`;
      process.stdout.write(line(s.failures));
      setTimeout(() => {
        const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
        process.stdout.write(
          `\nleaked handles: the tests ended ${LEAK_GRACE_MS / 1000} s ago and these are still open: ` +
            `${open.join(', ') || '(none listed: a worker or a native handle)'}\n` +
            line(s.failures + 1),
        );
        // mocha's own 'exit' listener sets the exit code to the failure count: this one runs after it
        process.on('exit', () => {
          process.exitCode = 1;
        });
        process.exit(1);
      }, LEAK_GRACE_MS).unref();
    });
  }
}
module.exports = BudlinkReporter;
