/**
 * The vm simulator's cost model against the real interpreter (firmware/sim/README.md, "Cost units").
 *
 * Both engines run the same snippets of JavaScript: plain-JS snippets that vary what dominates the
 * interpreter's cost (tokens lexed, statements, expressions, name lookups, property reads, calls, skipped
 * text, closures, block scopes) and the natives the firmware uses at two or three sizes. The real cost is
 * x86 instructions counted by callgrind on the board's release build (as cpu.ts counts, shim I/O
 * excluded), between two calls of a marker native (E.getTemperature, `--dump-before`), minus an empty
 * snippet; the vm cost is the units the simulator charges for the same call. Results of the real
 * interpreter are cached per binary and program in .cache/espruino/cost/, so reruns are cheap.
 *
 *   npx tsx firmware/sim/espruino/cost/ratios.ts --fit [board]  fit the model's coefficients
 *                                                               (prints FITTED_MODEL)
 *   npx tsx firmware/sim/espruino/cost/ratios.ts [board...]     every ratio vm / real (snippets,
 *                                                               natives, scenarios)
 *
 * The code is deployed as cpu.ts's engine deploys the firmware: pretokenised when the build made
 * <board>.tok.js (firmware/scripts/pretokenise.ts), as plain text otherwise.
 *
 * This file computes the ratios and runs the command line; the measurement programs are programs.ts,
 * the callgrind driver real.ts, the vm's side vm.ts, the fit fit.ts (index.ts re-exports them).
 */
import { fileURLToPath } from 'node:url';
import { X86_PER_UNIT } from '../../vm/loop';
import { fitModel } from './fit';
import { JS_SNIPPETS, MACHINES, NATIVE_SNIPPETS, SPEECH } from './programs';
import { realMachineCost, realScenarioCost, realSnippetCost } from './real';
import { vmMachineCost, vmScenarioCost, vmSnippetCost } from './vm';

// ---------------------------------------------------------------------------------------------------
// Ratios for the bench

export interface CostRatio {
  kind: 'snippet' | 'native' | 'machine' | 'scenario';
  name: string;
  /** x86 instructions (scenarios: per audio second). */
  real: number;
  /** The vm's units in x86 instructions (× X86_PER_UNIT). */
  vm: number;
  ratio: number;
}

/**
 * Every ratio vm / real on `board`, measured live (cached real counts are reused): the natives
 * (each size), the plain-JS snippets, the machine programs (ADC/DAC samples, buffer events, timers),
 * and the listening and streaming scenarios.
 */
export async function costRatios(board: string, fixture = SPEECH): Promise<CostRatio[]> {
  const out: CostRatio[] = [];
  for (const s of [...NATIVE_SNIPPETS, ...JS_SNIPPETS]) {
    const real = await realSnippetCost(board, s);
    const vm = vmSnippetCost(board, s) * X86_PER_UNIT;
    out.push({ kind: s.native ? 'native' : 'snippet', name: s.name, real, vm, ratio: vm / real });
  }
  for (const m of MACHINES) {
    const real = await realMachineCost(board, m);
    const vm = vmMachineCost(board, m) * X86_PER_UNIT;
    out.push({ kind: 'machine', name: m.name, real, vm, ratio: vm / real });
  }
  for (const sc of ['listen', 'stream'] as const) {
    const real = await realScenarioCost(board, sc, fixture);
    const vm = vmScenarioCost(board, sc, fixture) * X86_PER_UNIT;
    out.push({ kind: 'scenario', name: sc, real, vm, ratio: vm / real });
  }
  return out;
}

/**
 * The bench's figures: min and max of vm / real over natives (the firmware's natives and the
 * interpreter's own: ADC/DAC samples, buffer events, timers) and scenarios (goal 0.8–1.2).
 */
export function ratioRange(ratios: CostRatio[]): { min: number; max: number } {
  const r = ratios.filter((x) => x.kind !== 'snippet').map((x) => x.ratio);
  return { min: Math.min(...r), max: Math.max(...r) };
}

function table(rows: { name: string; real: number; vm: number; ratio: number }[]): string {
  return rows
    .map(
      (r) =>
        `${r.name.padEnd(30)} real ${Math.round(r.real).toString().padStart(10)}  vm ${Math.round(r.vm)
          .toString()
          .padStart(10)}  ${r.ratio.toFixed(2)}`,
    )
    .join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--fit') {
    const board = args[1] ?? 'puckjs';
    const fit = await fitModel(board);
    process.stdout.write(
      `${table(fit.rows)}\n\nFITTED_MODEL (${board}):\n${JSON.stringify(fit.model, null, 2)}\n`,
    );
    return;
  }
  const boards = args.length > 0 ? args : ['puckjs', 'nrf52840dk'];
  for (const board of boards) {
    const ratios = await costRatios(board);
    const { min, max } = ratioRange(ratios);
    process.stdout.write(
      `${board}:\n${table(ratios)}\nnatives and scenarios: vm / real ${min.toFixed(2)} .. ${max.toFixed(2)}\n\n`,
    );
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
