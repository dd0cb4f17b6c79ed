/**
 * Fitting the vm's cost model to the real interpreter (`ratios.ts --fit`): non-negative least squares
 * of the JavaScript coefficients on the plain-JS snippets, of each native's fixed and per-element cost,
 * of the built-ins priced by name, and of the job and ADC/DAC sample costs on the machine programs.
 */
import { BOARDS } from '@budlink/firmware/boards';
import {
  FITTED_MODEL,
  JS_FEATURES,
  NATIVES,
  X86_PER_UNIT,
  type CostModel,
  type JsFeature,
} from '../../vm/loop';
import { JS_SNIPPETS, MACHINES, NATIVE_SNIPPETS, type Snippet } from './programs';
import { pretokenisedDeploy, realMachineCost, realSnippetCost } from './real';
import { vmMachineCost, vmSnippetCost } from './vm';

/** Non-negative least squares (Lawson–Hanson): min |A x − y| with x ≥ 0. */
export function nnls(A: number[][], y: number[]): number[] {
  const m = A.length;
  const n = A[0]?.length ?? 0;
  const x = new Array<number>(n).fill(0);
  const passive = new Set<number>();
  const grad = (): number[] => {
    const r = y.map((yi, i) => yi - A[i]!.reduce((s, a, j) => s + a * x[j]!, 0));
    return Array.from({ length: n }, (_, j) => A.reduce((s, row, i) => s + row[j]! * r[i]!, 0));
  };
  const solve = (cols: number[]): number[] => {
    // normal equations on the passive columns (small systems), Gaussian elimination with pivoting
    const k = cols.length;
    const M = cols.map((a) => cols.map((b) => A.reduce((s, row) => s + row[a]! * row[b]!, 0)));
    const v = cols.map((a) => A.reduce((s, row, i) => s + row[a]! * y[i]!, 0));
    for (let i = 0; i < k; i++) M[i]![i]! += 1e-12;
    for (let c = 0; c < k; c++) {
      let p = c;
      for (let r = c + 1; r < k; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
      [M[c], M[p]] = [M[p]!, M[c]!];
      [v[c], v[p]] = [v[p]!, v[c]!];
      for (let r = 0; r < k; r++) {
        if (r === c || M[c]![c] === 0) continue;
        const f = M[r]![c]! / M[c]![c]!;
        for (let j = c; j < k; j++) M[r]![j]! -= f * M[c]![j]!;
        v[r]! -= f * v[c]!;
      }
    }
    return cols.map((_, i) => (M[i]![i] === 0 ? 0 : v[i]! / M[i]![i]!));
  };
  for (let iter = 0; iter < 3 * n + 10; iter++) {
    const w = grad();
    let best = -1;
    for (let j = 0; j < n; j++)
      if (!passive.has(j) && w[j]! > 1e-9 * m && (best < 0 || w[j]! > w[best]!)) best = j;
    if (best < 0) break;
    passive.add(best);
    for (;;) {
      const cols = [...passive];
      const z = solve(cols);
      if (z.every((v) => v > 0)) {
        cols.forEach((c, i) => (x[c] = z[i]!));
        break;
      }
      let alpha = 1;
      cols.forEach((c, i) => {
        if (z[i]! <= 0) alpha = Math.min(alpha, x[c]! / (x[c]! - z[i]!));
      });
      cols.forEach((c, i) => {
        x[c] = x[c]! + alpha * (z[i]! - x[c]!);
        if (x[c]! <= 1e-12) {
          x[c] = 0;
          passive.delete(c);
        }
      });
      if (passive.size === 0) break;
    }
  }
  return x;
}

/** A model with every coefficient 0 except those `set` gives. */
function basis(set: (m: CostModel) => void): CostModel {
  const js = {} as Record<JsFeature, number>;
  for (const k of JS_FEATURES) js[k] = 0;
  const natives = {} as CostModel['natives'];
  for (const k of NATIVES) natives[k] = { fixed: 0, perElement: 0 };
  const m: CostModel = {
    js,
    names: {},
    natives,
    jobs: { default: 0 },
    adcSample: 0,
    dacSample: 0,
    pretokenised: false,
  };
  set(m);
  return m;
}

export interface Fit {
  model: CostModel;
  /** Per snippet: real x86, vm x86 (the fitted model), ratio vm / real. */
  rows: { name: string; real: number; vm: number; ratio: number }[];
}

/**
 * Fit the model on `board`'s measurements: the JavaScript coefficients on the plain-JS snippets (relative
 * least squares, non-negative), then each native's fixed and per-element cost on what its snippets cost
 * beyond their JavaScript. Job and interrupt costs are kept from `base`.
 */
export async function fitModel(board = 'puckjs', base: CostModel = FITTED_MODEL): Promise<Fit> {
  const pretokenised = pretokenisedDeploy(board);
  const real = new Map<string, number>();
  for (const s of [...JS_SNIPPETS, ...NATIVE_SNIPPETS]) real.set(s.name, await realSnippetCost(board, s));
  // Feature counts of every snippet: the vm under a model with one coefficient 1, the rest 0.
  const counts = (s: Snippet, set: (m: CostModel) => void): number =>
    vmSnippetCost(
      board,
      s,
      basis((m) => ((m.pretokenised = pretokenised), set(m))),
    );
  const rowsOf = (list: Snippet[]): number[][] =>
    list.map((s) => JS_FEATURES.map((k) => counts(s, (m) => (m.js[k] = 1))));
  const jsRows = rowsOf(JS_SNIPPETS);
  const w = JS_SNIPPETS.map((s) => 1 / (real.get(s.name)! / X86_PER_UNIT));
  const coef = nnls(
    jsRows.map((r, i) => r.map((v) => v * w[i]!)),
    JS_SNIPPETS.map((s, i) => (real.get(s.name)! / X86_PER_UNIT) * w[i]!),
  );
  const model: CostModel = structuredClone(base);
  model.pretokenised = pretokenised;
  model.names = {};
  JS_FEATURES.forEach((k, i) => (model.js[k] = round(coef[i]!)));
  // Natives: what the snippet costs beyond its JavaScript (the fitted JS model, natives at 0).
  const jsOnly = structuredClone(model);
  for (const k of NATIVES) jsOnly.natives[k] = { fixed: 0, perElement: 0 };
  for (const k of NATIVES) {
    const list = NATIVE_SNIPPETS.filter((s) => s.model === k);
    if (list.length === 0) continue;
    const A = list.map((s) => [
      counts(s, (m) => (m.natives[k].fixed = 1)),
      counts(s, (m) => (m.natives[k].perElement = 1)),
    ]);
    const y = list.map((s) => real.get(s.name)! / X86_PER_UNIT - vmSnippetCost(board, s, jsOnly));
    const wn = list.map((s) => 1 / (real.get(s.name)! / X86_PER_UNIT));
    const [fixed, per] = nnls(
      A.map((r, i) => r.map((v) => v * wn[i]!)),
      y.map((v, i) => v * wn[i]!),
    );
    model.natives[k] = { fixed: round(fixed!), perElement: round(per!, 5) };
  }
  // Natives the vm does not charge: the price of their names, so that their snippets cost what they do
  // (the lookup default, `builtin` or `global`, plus what the snippet costs beyond the model, shared).
  const groups = new Map<string, Snippet[]>();
  for (const s of NATIVE_SNIPPETS)
    if (s.names) groups.set(s.names.join(), [...(groups.get(s.names.join()) ?? []), s]);
  for (const list of groups.values()) {
    const names = list[0]!.names!;
    let r = 0;
    for (const s of list) r += real.get(s.name)! / X86_PER_UNIT - vmSnippetCost(board, s, model);
    r /= list.length;
    for (const n of names) {
      const dflt = n.startsWith('g:') ? model.js.global : model.js.builtin;
      model.names[n.slice(2)] = round(Math.max(0, dflt + r / names.length));
    }
  }
  // The interpreter's own work around jobs: per ADC and DAC sample, per buffer event and per timer run,
  // from the machine programs (what each costs beyond its JavaScript).
  const machineModel = structuredClone(model);
  machineModel.jobs = { default: 0 };
  machineModel.adcSample = 0;
  machineModel.dacSample = 0;
  const b = BOARDS[board]!;
  const mRows: number[][] = [];
  const mY: number[] = [];
  for (const m of MACHINES) {
    const r = (await realMachineCost(board, m)) / X86_PER_UNIT;
    const p = m.per(b);
    mRows.push([p.adc / r, p.dac / r, p.buffer / r, p.timer / r]);
    mY.push((r - vmMachineCost(board, m, machineModel)) / r);
  }
  const [adc, dac, buffer, timer] = nnls(mRows, mY);
  model.adcSample = round(adc!, 5);
  model.dacSample = round(dac!, 5);
  // Events (buffer, write, connect, watch, emit) dispatch alike; REPL lines and boot are not modelled.
  model.jobs = { default: round(buffer!), timer: round(timer!), repl: 0, boot: 0 };
  const rows = [...JS_SNIPPETS, ...NATIVE_SNIPPETS].map((s) => {
    const r = real.get(s.name)!;
    const v = vmSnippetCost(board, s, model) * X86_PER_UNIT;
    return { name: s.name, real: r, vm: v, ratio: v / r };
  });
  for (const m of MACHINES) {
    const r = await realMachineCost(board, m);
    const v = vmMachineCost(board, m, model) * X86_PER_UNIT;
    rows.push({ name: `machine ${m.name}`, real: r, vm: v, ratio: v / r });
  }
  return { model, rows };
}

function round(v: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
