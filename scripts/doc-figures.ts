/**
 * Figures in the docs are generated, never typed: each block between
 *   <!-- figures:NAME -->  and  <!-- /figures:NAME -->
 * in the files below is rewritten from bench/results.json (written by `npm run bench`, which runs this
 * at its end) or, for the board table, from the board profiles themselves.
 * `npx tsx scripts/doc-figures.ts [--check]`: --check exits 1 when a block would change.
 * A block whose figures are missing from results.json says so instead of showing stale numbers.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { BOARDS as PROFILES } from '../firmware/boards/index';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOCS = [
  'docs/FIRMWARE.md',
  'docs/ESPRUINO-ENGINE.md',
  'firmware/sim/README.md',
  'README.md',
  'docs/VOICE.md',
];
const BOARDS = Object.keys(PROFILES);
/** The issue's goals for the nRF52 CPU share at the central estimate, and for the band's high end. */
const CPU_GOALS = { listen: 0.1, stream: 0.4, high: 1 };

type Results = Record<string, number>;

const int = (v: number | undefined): string =>
  v === undefined ? '—' : Math.round(v).toLocaleString('en-US');
const pct = (v: number | undefined): string => (v === undefined ? '—' : `${(v * 100).toFixed(0)} %`);
const mega = (v: number | undefined): string => (v === undefined ? '—' : `${(v / 1e6).toFixed(1)} M`);

/** Each generator returns the block's markdown, or null when the figures it needs are missing. */
const GENERATORS: Record<string, (r: Results) => string | null> = {
  boards: () => {
    const rows = BOARDS.map((id) => {
      const b = PROFILES[id]!;
      const mic = `${b.mic.source} ${b.mic.pin}${b.mic.powerPin ? ` (power ${b.mic.powerPin})` : ''}`;
      const spk = b.speaker
        ? `${b.speaker.pin}${b.speaker.npin ? ` / npin ${b.speaker.npin}` : ''}${b.speaker.powerPin ? ` (power ${b.speaker.powerPin})` : ''}`
        : '—';
      return `| ${id} | ${b.chip} | ${mic} | ${b.sampleRate} | ${spk} | ${b.maxPayload} | ${int(b.jsVars)} | ${b.bufferSamples} | ${int(b.ringBytes)} B | ${b.ringFrames} | ${int(b.playbackBytes)} B / ${b.playbackBufferSamples} |`;
    });
    return [
      '| id | chip | mic | rate | speaker | payload | JsVars | mic buffer | ring | window | playback FIFO / buffer |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n');
  },
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
    // every board the bench ran (a board without a driven microphone has no CPU run: its cells say so)
    const ran = (b: string): boolean =>
      r[`firmware.real_listen_instr_per_s.${b}`] !== undefined ||
      r[`firmware.real_boot_free_jsvars.${b}`] !== undefined;
    const rows = BOARDS.filter(ran).map((b) => {
      const cell = (k: 'listen' | 'stream'): string => {
        if (r[`firmware.real_${k}_instr_per_s.${b}`] === undefined) return '— (no microphone driven)';
        const central = r[`firmware.real_${k}_cpu_share.${b}`] ?? NaN;
        const high = r[`firmware.real_${k}_cpu_share_high.${b}`] ?? NaN;
        const met = central <= CPU_GOALS[k] && high < CPU_GOALS.high;
        const low = r[`firmware.real_${k}_cpu_share_low.${b}`];
        return `${mega(r[`firmware.real_${k}_instr_per_s.${b}`])} → **${pct(central)}** (${pct(low)}–${pct(high)}) ${met ? 'meets' : 'misses'} the goal`;
      };
      return `| ${b} | ${cell('listen')} | ${cell('stream')} |`;
    });
    return [
      `| board | listening (goal ≤ ${pct(CPU_GOALS.listen)}, band < 100 %) | streaming (goal ≤ ${pct(CPU_GOALS.stream)}, band < 100 %) |`,
      '|---|---|---|',
      ...rows,
      '',
      'Each cell: x86 instructions per audio second → share of a 64 MHz nRF52 at the central calibration (band).',
    ].join('\n');
  },
  'voice-quality': (r) => {
    if (r['voice.wer_source_16k'] === undefined) return null;
    const w = (v: number | undefined): string => (v === undefined ? '—' : v.toFixed(2));
    const d = (v: number | undefined): string =>
      v === undefined ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
    const rows = BOARDS.filter((b) => r[`voice.wer_mic_model.${b}`] !== undefined).map((b) => {
      const rate = PROFILES[b]!.sampleRate;
      const missing = r[`voice.chain_utterances_missing.${b}`] ?? 0;
      return `| ${b} | ${rate} | ${w(r[`voice.wer_ideal.${rate}`])} | ${w(r[`voice.wer_mic_model.${b}`])} | ${w(r[`voice.wer_default_rate.${b}`])} | ${d(r[`voice.chain_wer_delta.${b}`])} | ${int(missing)} |`;
    });
    return [
      `Source at 16 kHz 16-bit: WER **${w(r['voice.wer_source_16k'])}** (the recogniser's own floor on this corpus).`,
      '',
      '| board | rate (Hz) | ideal, 8-bit (sox) | SIMULATED microphone | SIMULATED chain | chain − ideal | utterances not delivered |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `WER over 160 utterances (chain: over those delivered). Bench wall time ${int(r['voice.quality_bench_s'])} s.`,
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

/** The doc with its blocks rendered, formatted as `npm run format` would (tables aligned). */
async function renderFile(file: string, text: string, results: Results): Promise<string> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(renderDoc(text, results), { ...options, filepath: file });
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const path = join(root, 'bench', 'results.json');
  const results: Results = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Results) : {};
  let changed = 0;
  for (const doc of DOCS) {
    const file = join(root, doc);
    if (!existsSync(file)) continue;
    const before = readFileSync(file, 'utf8');
    const after = await renderFile(file, before, results);
    if (after === before) continue;
    changed++;
    if (check) process.stdout.write(`${doc}: figures differ from bench/results.json\n`);
    else writeFileSync(file, after);
  }
  if (!check && changed)
    process.stdout.write(`doc figures: ${changed} file(s) updated from bench/results.json\n`);
  return check && changed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exit(await main());
