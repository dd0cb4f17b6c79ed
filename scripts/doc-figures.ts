/**
 * Figures in the docs are generated, never typed: each block between
 *   <!-- figures:NAME -->  and  <!-- /figures:NAME -->
 * in the files below is rewritten from bench/results.json (written by `npm run bench`, which runs this
 * at its end). `npx tsx scripts/doc-figures.ts [--check]`: --check exits 1 when a block would change.
 * A block whose figures are missing from results.json says so instead of showing stale numbers.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOCS = ['docs/FIRMWARE.md', 'docs/ESPRUINO-ENGINE.md', 'firmware/sim/README.md', 'README.md'];
const BOARDS = ['nrf52840dk', 'puckjs', 'mdbt42q', 'thingy52', 'microbit2'];

type Results = Record<string, number>;

const int = (v: number | undefined): string =>
  v === undefined ? '—' : Math.round(v).toLocaleString('en-US');
const pct = (v: number | undefined): string => (v === undefined ? '—' : `${(v * 100).toFixed(0)} %`);
const mega = (v: number | undefined): string => (v === undefined ? '—' : `${(v / 1e6).toFixed(1)} M`);

/** Each generator returns the block's markdown, or null when the figures it needs are missing. */
const GENERATORS: Record<string, (r: Results) => string | null> = {
  'real-memory': (r) => {
    if (!BOARDS.some((b) => r[`firmware.real_peak_free_jsvars.${b}`] !== undefined)) return null;
    const rows = BOARDS.map((b) => {
      const peak = r[`firmware.real_peak_free_jsvars.${b}`];
      const pass = r[`firmware.real_90pct_jsvars_pass.${b}`];
      return `| ${b} | ${int(r[`firmware.real_boot_free_jsvars.${b}`])} | ${int(peak)} | ${pass === undefined ? '—' : pass ? 'yes' : '**no**'} |`;
    });
    return [
      '| board | free JsVars after boot | free JsVars at the peak (all scenarios) | whole set on 90 % of the JsVars |',
      '|---|---|---|---|',
      ...rows,
    ].join('\n');
  },
  'real-cpu': (r) => {
    if (r['firmware.real_listen_cpu_share'] === undefined) return null;
    const rows = BOARDS.filter((b) => r[`firmware.real_listen_instr_per_s.${b}`] !== undefined).map((b) => {
      const cell = (k: 'listen' | 'stream'): string =>
        r[`firmware.real_${k}_instr_per_s.${b}`] === undefined
          ? '— (no microphone driven)'
          : `${mega(r[`firmware.real_${k}_instr_per_s.${b}`])} → **${pct(r[`firmware.real_${k}_cpu_share.${b}`])}** (${pct(r[`firmware.real_${k}_cpu_share_low.${b}`])}–${pct(r[`firmware.real_${k}_cpu_share_high.${b}`])})`;
      return `| ${b} | ${cell('listen')} | ${cell('stream')} |`;
    });
    return [
      '| board | listening: x86 instr/s → nRF52 share (band) | streaming: x86 instr/s → nRF52 share (band) |',
      '|---|---|---|',
      ...rows,
    ].join('\n');
  },
  'sim-real': (r) => {
    if (r['firmware.sim_real_frame_diffs'] === undefined) return null;
    const lines = [
      `- scenarios whose frames differ between the engines: **${int(r['firmware.sim_real_frame_diffs'])}**`,
    ];
    if (r['firmware.sim_real_cost_ratio_min'] !== undefined)
      lines.push(
        `- vm cost / real cost over natives and scenarios: **${r['firmware.sim_real_cost_ratio_min']!.toFixed(2)}–${r['firmware.sim_real_cost_ratio_max']!.toFixed(2)}**`,
      );
    return lines.join('\n');
  },
};

export function renderDoc(text: string, results: Results): string {
  return text.replace(
    /(<!-- figures:([a-z-]+) -->\n)([\s\S]*?)(<!-- \/figures:\2 -->)/g,
    (_all, open: string, name: string, _old: string, close: string) => {
      const gen = GENERATORS[name];
      if (!gen) throw new Error(`unknown figures block '${name}'`);
      const body =
        gen(results) ??
        '_Not measured yet: run `npm run bench` (these figures come from bench/results.json)._';
      return `${open}${body}\n${close}`;
    },
  );
}

function main(): number {
  const check = process.argv.includes('--check');
  const path = join(root, 'bench', 'results.json');
  const results: Results = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Results) : {};
  let changed = 0;
  for (const doc of DOCS) {
    const file = join(root, doc);
    if (!existsSync(file)) continue;
    const before = readFileSync(file, 'utf8');
    const after = renderDoc(before, results);
    if (after === before) continue;
    changed++;
    if (check) process.stdout.write(`${doc}: figures differ from bench/results.json\n`);
    else writeFileSync(file, after);
  }
  if (!check && changed)
    process.stdout.write(`doc figures: ${changed} file(s) updated from bench/results.json\n`);
  return check && changed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exit(main());
