/**
 * The vm simulator's side of the cost measurements (ratios.ts): the units it charges for a snippet, a
 * machine program or a scenario, under the fitted cost model or any other (the fit runs it under
 * one-coefficient models to count features).
 */
import { BOARDS } from '@budlink/firmware/boards';
import { SimulatedEarbud } from '../../vm/earbud';
import { SimHost } from '../../core/host';
import { FITTED_MODEL, useCostModel, type CostModel } from '../../vm/loop';
import { SPEECH, silence, snippetProgram, speech, type Machine, type Snippet } from './programs';
import type { CpuScenario } from './cpu';

/** Units the vm charges for `s`'s body under `model` (default: the fitted one). */
export function vmSnippetCost(board: string, s: Snippet, model: CostModel = FITTED_MODEL): number {
  const restore = useCostModel(model);
  const e = SimulatedEarbud.create({ board, source: snippetProgram(s) });
  try {
    const run = (f: string): number => {
      const c0 = e.stats().byKind.repl?.cost ?? 0;
      e.repl(`${f}()`);
      return (e.stats().byKind.repl?.cost ?? 0) - c0;
    };
    const e1 = run('sE');
    const x1 = run('sX');
    const e2 = run('sE');
    const x2 = run('sX');
    return (x1 - e1 + x2 - e2) / 2;
  } finally {
    e.stop();
    restore();
  }
}

/**
 * vm units per audio second in the same scenario: boot, connect, WELCOME, then the cost of every job
 * between `short` and `long` seconds of audio (so boot and connection cancel out, as in cpuFigure). The
 * vm's CPU runs 10× faster than an nRF52 here: where the firmware needs more CPU than the device has, the
 * vm would drop buffers and do less work, while the real interpreter (on an x86) does it all.
 */
export function vmScenarioCost(
  board: string,
  scenario: CpuScenario,
  fixture = SPEECH,
  short = 2,
  long = 6,
  model: CostModel = FITTED_MODEL,
): number {
  const b = BOARDS[board]!;
  // A CPU fast enough never to fall behind: the same work as the real interpreter does (on an x86).
  const restore = useCostModel({ ...model, cpuSpeed: 10 });
  const audio =
    scenario === 'listen' ? [silence(b, long + 30)] : [silence(b, 1.5), speech(long + 30, fixture)];
  const e = SimulatedEarbud.create({ board, audio });
  try {
    const host = new SimHost(e, { mtu: 247 });
    host.connect();
    const at = (s: number): { cost: number; samples: number } => {
      const target = Math.round(b.sampleRate * (1.5 + s));
      while (e.micSamples().length < target) host.run(10);
      return { cost: e.stats().totalCost, samples: e.micSamples().length };
    };
    const a = at(short);
    const z = at(long);
    return ((z.cost - a.cost) / (z.samples - a.samples)) * b.sampleRate;
  } finally {
    e.stop();
    restore();
  }
}

/** Units per audio second the vm charges for a machine program. */
export function vmMachineCost(board: string, m: Machine, model: CostModel = FITTED_MODEL): number {
  const b = BOARDS[board]!;
  const restore = useCostModel(model);
  const e = SimulatedEarbud.create({ board, source: m.source(b), audio: [silence(b, 10)] });
  try {
    e.advance(1000);
    const c0 = e.stats().totalCost;
    const s0 = e.micSamples().length;
    e.advance(4000);
    return ((e.stats().totalCost - c0) / (e.micSamples().length - s0)) * b.sampleRate;
  } finally {
    e.stop();
    restore();
  }
}
