/**
 * `npm run bench`: runs every bench/*.bench.ts, prints one table, writes bench/results.json
 * (one flat object, metric name -> number). Benchmarks are not part of the test run.
 * Each bench module default-exports a Bench and runs in a process of its own. Pass names to run a subset: `npm run bench -- protocol`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync, writeSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Bench {
  name: string;
  run(): Promise<Record<string, number>>;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The child hands its figures to the parent on this extra pipe, so its own output stays on the terminal. */
const RESULT_FD = 3;

const child = process.env.BUDLINK_BENCH_CHILD;
if (child !== undefined) {
  const mod = (await import(pathToFileURL(join(here, child)).href)) as { default: Bench };
  writeSync(RESULT_FD, JSON.stringify(await mod.default.run()));
  process.exit(0);
}

const filter = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();

const resultsPath = join(here, 'results.json');
const results: Record<string, number> =
  filter.length > 0 && existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};
let failed = 0;
// Each bench runs in its own process, so one bench's garbage or warm JIT never shows up in
// another's figures (the soak's RSS growth in particular).
for (const f of files) {
  const t0 = performance.now();
  process.stdout.write(`bench ${f.replace('.bench.ts', '')} ...\n`);
  const out = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, BUDLINK_BENCH_CHILD: f },
    encoding: 'utf8',
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
  });
  const figures = String(out.output[RESULT_FD] ?? '');
  if (out.status === 0 && figures !== '') {
    const r = JSON.parse(figures) as Record<string, number>;
    for (const k of Object.keys(r)) results[k] = r[k] as number;
    process.stdout.write(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  } else {
    failed++;
    process.stdout.write(`  FAILED (exit ${String(out.status)})\n`);
  }
}
const keys = Object.keys(results).sort();
const w = Math.max(...keys.map((k) => k.length), 6);
process.stdout.write(`\n${'metric'.padEnd(w)}  value\n${'-'.repeat(w)}  ${'-'.repeat(12)}\n`);
for (const k of keys) {
  const v = results[k] as number;
  const s = Number.isInteger(v) ? String(v) : v.toPrecision(6);
  process.stdout.write(`${k.padEnd(w)}  ${s}\n`);
}
writeFileSync(
  resultsPath,
  JSON.stringify(Object.fromEntries(keys.map((k) => [k, results[k]])), null, 2) + '\n',
);
process.stdout.write(`\nwrote ${resultsPath}\n`);
// the figures in the docs come from this file, never typed by hand (scripts/doc-figures.ts)
spawnSync(process.execPath, ['--import', 'tsx', join(here, '..', 'scripts', 'doc-figures.ts')], {
  stdio: 'inherit',
});
if (failed > 0) process.exit(1);
