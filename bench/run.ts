/**
 * `npm run bench`: runs every bench/*.bench.ts, prints one table, writes bench/results.json
 * (one flat object, metric name -> number). Benchmarks are not part of the test run.
 * Each bench module default-exports a Bench. Pass names to run a subset: `npm run bench -- protocol`.
 */
import { readdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Bench {
  name: string;
  run(): Promise<Record<string, number>>;
}

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();

const resultsPath = join(here, 'results.json');
const results: Record<string, number> =
  filter.length > 0 && existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};
let failed = 0;
for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { default: Bench };
  const t0 = performance.now();
  process.stdout.write(`bench ${mod.default.name} ...\n`);
  try {
    const r = await mod.default.run();
    for (const k of Object.keys(r)) results[k] = r[k] as number;
    process.stdout.write(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  } catch (e) {
    failed++;
    process.stdout.write(`  FAILED: ${e instanceof Error ? e.stack : String(e)}\n`);
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
if (failed > 0) process.exit(1);
