/**
 * The real interpreter's side of the cost measurements (ratios.ts): callgrind runs of the board's
 * release build counting x86 instructions (shim I/O excluded, as cpu.ts counts) in a snippet between
 * two marker calls, in a machine program per audio second, and in the listening and streaming
 * scenarios (cpu.ts's cpuFigure). Every result is cached per binary and program in .cache/espruino/cost/.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOARDS } from '@budlink/firmware/boards';
import { distDir } from '@budlink/firmware/bundle';
import { SimHost } from '../../core/host';
import { flashImage } from '../flash';
import { Interpreter } from '../interpreter';
import { EspruinoEarbud } from '../earbud';
import { binaryPath, cacheDir } from '../build/build';
import { RUNNER, SPEECH, silence, snippetProgram, type Machine, type Snippet } from './programs';
import { callgrindPrefix, cpuFigure, type CpuScenario } from './cpu';

/** Does the engine deploy the firmware pretokenised (the build made <board>.tok.js)? */
export function pretokenisedDeploy(board: string): boolean {
  return existsSync(join(distDir, `${board}.tok.js`));
}

type Pretokeniser = (code: string) => string;
let pretokeniser: Pretokeniser | null | undefined;
async function deviceText(board: string, code: string): Promise<string> {
  if (!pretokenisedDeploy(board)) return code;
  if (pretokeniser === undefined) {
    const path = join(distDir, '..', 'scripts', 'pretokenise.ts');
    pretokeniser = existsSync(path)
      ? ((await import(path)) as { pretokenise: Pretokeniser }).pretokenise
      : null;
  }
  return pretokeniser === null ? code : pretokeniser(code);
}

function costCache(): string {
  const d = join(cacheDir, 'cost');
  mkdirSync(d, { recursive: true });
  return d;
}

function binaryKey(board: string): string {
  return readFileSync(`${binaryPath(board)}.key`, 'utf8');
}

/** x86 instructions the real interpreter spends in `s`'s body (cached per binary and program). */
export async function realSnippetCost(board: string, s: Snippet): Promise<number> {
  const bin = binaryPath(board);
  const key = binaryKey(board);
  const code = await deviceText(board, snippetProgram(s) + RUNNER);
  const prefix = [...callgrindPrefix(), '--dump-before=jswrap_espruino_getTemperature'];
  const h = createHash('sha256').update(key).update(code).update(prefix.join(' ')).digest('hex').slice(0, 24);
  const file = join(costCache(), `snippet-${h}.json`);
  if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { x86: number }).x86;
  const img = await flashImage(bin, `cost-${key}`, code, join(costCache(), 'flash'));
  const dir = mkdtempSync(join(tmpdir(), 'budlink-cost-'));
  try {
    copyFileSync(img, join(dir, 'espruino.flash'));
    const lines: string[] = [];
    await new Promise<void>((resolve) => {
      const it = new Interpreter({
        binary: bin,
        dir,
        prefix: [...prefix, `--callgrind-out-file=${join(dir, 'cg.out')}`],
        onEvent: () => undefined,
        onConsole: (l) => {
          lines.push(l);
          if (l.includes('BUDLINK-COST-DONE')) it.command('Q');
        },
        onExit: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      const timer = setTimeout(() => it.kill(), 120_000);
    });
    // Dumps: 1 before the first marker, then inside sE, between, inside sX, between, inside sE, ...
    const dumps = readdirSync(dir)
      .map((f) => /^cg\.out\.(\d+)-01$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .map((m) => Number(/^totals:\s+(\d+)/m.exec(readFileSync(join(dir, m[0]), 'utf8'))?.[1] ?? NaN));
    if (dumps.length < 8 || lines.some((l) => /Uncaught|Error/.test(l)))
      throw new Error(`${s.name} on ${board}: ${dumps.length} dumps; console: ${lines.join(' | ')}`);
    const x86 = (dumps[3]! - dumps[1]! + dumps[7]! - dumps[5]!) / 2;
    writeFileSync(file, JSON.stringify({ name: s.name, x86 }));
    return x86;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Real x86 instructions per audio second (cpu.ts's cpuFigure; cached per binary and bundle). */
export async function realScenarioCost(
  board: string,
  scenario: CpuScenario,
  fixture = SPEECH,
): Promise<number> {
  const bundles = ['min.js', 'tok.js']
    .map((x) => join(distDir, `${board}.${x}`))
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p));
  const h = createHash('sha256').update(binaryKey(board)).update(scenario).update(readFileSync(fixture));
  for (const b of bundles) h.update(b);
  const file = join(costCache(), `scenario-${board}-${scenario}-${h.digest('hex').slice(0, 24)}.json`);
  if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { x86: number }).x86;
  const fig = await cpuFigure(BOARDS[board]!, scenario, fixture);
  writeFileSync(file, JSON.stringify({ board, scenario, x86: fig.instructionsPerSecond }));
  return fig.instructionsPerSecond;
}

/** Real x86 instructions per audio second of a machine program (cached per binary and program). */
export async function realMachineCost(board: string, m: Machine, short = 1, long = 3): Promise<number> {
  const b = BOARDS[board]!;
  const code = m.source(b);
  const h = createHash('sha256').update(binaryKey(board)).update(code).digest('hex').slice(0, 24);
  const file = join(costCache(), `machine-${h}.json`);
  if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { x86: number }).x86;
  const dir = mkdtempSync(join(tmpdir(), 'budlink-machine-'));
  try {
    const bundlePath = join(dir, 'machine.js');
    writeFileSync(bundlePath, code);
    const run = async (s: number): Promise<{ x86: number; samples: number }> => {
      const r = await countProgram(board, bundlePath, s);
      return { x86: r.instructions, samples: r.samples };
    };
    const a = await run(short);
    const z = await run(long);
    const x86 = ((z.x86 - a.x86) / (z.samples - a.samples)) * b.sampleRate;
    writeFileSync(file, JSON.stringify({ board, machine: m.name, x86 }));
    return x86;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One callgrind run of `bundlePath` until the ADC has taken `seconds` of silence (as cpu.ts's runs). */
async function countProgram(
  board: string,
  bundlePath: string,
  seconds: number,
): Promise<{ instructions: number; samples: number }> {
  const b = BOARDS[board]!;
  const dir = mkdtempSync(join(tmpdir(), 'budlink-cg-'));
  const prefix = callgrindPrefix(join(dir, 'cg.out'));
  const e = await EspruinoEarbud.start({
    board,
    bundlePath,
    timeScale: 0.1,
    prefix,
    audio: [silence(b, seconds + 30)],
  });
  try {
    const host = new SimHost(e, { mtu: 247 });
    host.connect();
    const target = Math.round(b.sampleRate * seconds);
    while (e.micSamples().length < target) await host.runFor(100);
    const samples = e.micSamples().length;
    await e.stop();
    const files = readdirSync(dir).filter((f) => f.startsWith('cg.out'));
    const main = files.find((f) => f.endsWith('-01')) ?? files.find((f) => f === 'cg.out');
    const text = main === undefined ? '' : readFileSync(join(dir, main), 'utf8');
    const m = /^(?:totals|summary):\s+(\d+)/m.exec(text);
    if (!m) throw new Error(`no callgrind totals in ${dir} (${files.join(', ')})`);
    return { instructions: Number(m[1]), samples };
  } finally {
    await e.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
