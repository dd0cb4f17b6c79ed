/**
 * The daily tool's figures:
 *
 *   ux.docs_dead_references     commands, options, npm scripts and repository paths named in README.md,
 *                               docs/ and the package READMEs that don't exist (scripts/doc-refs.ts)
 *   ux.cli_fail_fast_failures   of the cases `budlink` must refuse before booting or connecting
 *                               (test/support/fail-fast-cases.ts), those that don't exit 2 at once
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadReferences } from '../scripts/doc-refs';
import { FAIL_FAST_CASES, prepareFailFast, runFailFast } from '@budlink/test-support/fail-fast-cases';
import type { Bench } from './run';

const bench: Bench = {
  name: 'ux',
  async run() {
    const dead = deadReferences();
    for (const d of dead)
      process.stdout.write(`  dead reference ${d.file}:${d.line}: ${d.what} (${d.why})\n`);
    const dir = mkdtempSync(join(tmpdir(), 'budlink-ux-'));
    let failures = 0;
    try {
      prepareFailFast(dir);
      for (const c of FAIL_FAST_CASES) {
        const r = await runFailFast(c, dir);
        if (!r.ok) {
          failures++;
          process.stdout.write(
            `  not fail-fast: budlink ${c.args.join(' ')} → exit ${r.code} in ${Math.round(r.ms)} ms\n`,
          );
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return { 'ux.docs_dead_references': dead.length, 'ux.cli_fail_fast_failures': failures };
  },
};
export default bench;
