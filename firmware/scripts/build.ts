/**
 * Firmware build: one IIFE bundle per board profile, plain and minified, each checked by the Espruino
 * syntax gate, then a size/memory report.
 *
 *   npm run build -w firmware           → firmware/dist/<board>.js, <board>.min.js, report.json
 *   tsx firmware/scripts/build.ts puckjs → only the named boards
 *
 * The entry is generated per board: `import { boot } from './src/main'; boot(<profile literal>)`, so
 * the profile is injected as a plain object and no other board's data reaches the bundle.
 * Exit code 1 on any esbuild error, gate violation, or a board whose estimated boot-time JsVars exceed
 * its heap.
 */
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOARDS } from '../boards/index';
import type { BoardProfile } from '../boards/index';
import { estimateMemory } from './memory';
import type { MemoryEstimate } from './memory';

const firmwareDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(firmwareDir, 'dist');

/** Espruino globals the firmware may read (the HAL's `declare const`s); everything else is refused. */
export const FIRMWARE_GLOBALS = [
  'Waveform',
  'NRF',
  'E',
  'getTime',
  'setWatch',
  'digitalWrite',
  'analogWrite',
  'global',
  'require',
  'process',
];

export interface BoardReport {
  bundleBytes: number;
  minBytes: number;
  memory: MemoryEstimate;
}

interface GateViolation {
  rule: string;
  message: string;
  line: number;
  column: number;
}
type GateFn = (code: string, options?: { allowedGlobals?: string[] }) => GateViolation[];

async function loadGate(): Promise<GateFn> {
  try {
    const mod = (await import('./espruino-gate')) as { checkEspruinoSubset?: GateFn };
    if (typeof mod.checkEspruinoSubset !== 'function') throw new Error('no checkEspruinoSubset export');
    return mod.checkEspruinoSubset;
  } catch (e) {
    throw new Error(
      'firmware build: the Espruino syntax gate firmware/scripts/espruino-gate.ts is missing or broken (' +
        (e instanceof Error ? e.message : String(e)) +
        '); the build refuses to produce unchecked bundles',
      { cause: e },
    );
  }
}

async function bundle(board: BoardProfile, minify: boolean): Promise<string> {
  const result = await build({
    stdin: {
      contents: "import { boot } from './src/main';\nboot(" + JSON.stringify(board) + ');\n',
      resolveDir: firmwareDir,
      sourcefile: board.id + '-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    write: false,
    // cjs keeps require('Storage') as a plain call (iife would route it through a Proxy-based shim);
    // the entry exports nothing, so no CommonJS helpers are emitted, and we wrap it in an IIFE below.
    format: 'cjs',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2017',
    minify: minify,
    legalComments: 'none',
    // Espruino's built-in modules: left as require('Storage') calls.
    external: ['Storage'],
    charset: 'ascii',
    logLevel: 'silent',
    // Class fields become constructor assignments, not an Object.defineProperty helper.
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error('esbuild produced no output for ' + board.id);
  return minify ? '(function(){' + out.text.trim() + '})();\n' : '(function () {\n' + out.text + '})();\n';
}

export async function buildFirmware(
  ids: string[],
): Promise<{ reports: Record<string, BoardReport>; failures: string[] }> {
  const gate = await loadGate();
  mkdirSync(distDir, { recursive: true });
  const reports: Record<string, BoardReport> = {};
  const failures: string[] = [];
  for (const id of ids) {
    const board = BOARDS[id];
    if (!board) {
      failures.push('unknown board ' + id);
      continue;
    }
    const plain = await bundle(board, false);
    const min = await bundle(board, true);
    const files: [string, string][] = [
      [board.id + '.js', plain],
      [board.id + '.min.js', min],
    ];
    for (const [name, code] of files) {
      const path = join(distDir, name);
      writeFileSync(path, code);
      for (const v of gate(code, { allowedGlobals: FIRMWARE_GLOBALS })) {
        failures.push(
          relative(process.cwd(), path) + ':' + v.line + ':' + v.column + ' ' + v.rule + ': ' + v.message,
        );
      }
    }
    const memory = estimateMemory(board, min);
    reports[id] = { bundleBytes: Buffer.byteLength(plain), minBytes: Buffer.byteLength(min), memory: memory };
    if (memory.flashTotal > board.jsVars) {
      failures.push(
        board.id +
          ': estimated ' +
          memory.flashTotal +
          ' JsVars at boot (code in flash) > heap of ' +
          board.jsVars,
      );
    }
  }
  return { reports: reports, failures: failures };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const args = process.argv.slice(2);
  const ids = args.length ? args : Object.keys(BOARDS);
  const { reports, failures } = await buildFirmware(ids);
  writeFileSync(join(distDir, 'report.json'), JSON.stringify(reports, null, 2) + '\n');
  for (const id of Object.keys(reports)) {
    const r = reports[id] as BoardReport;
    const m = r.memory;
    console.log(
      id.padEnd(11) +
        ' ' +
        String(r.bundleBytes).padStart(6) +
        ' B, min ' +
        String(r.minBytes).padStart(6) +
        ' B | JsVars: code ' +
        m.codeRam +
        ' (RAM upload) / ' +
        m.codeFlash +
        ' (flash), buffers ' +
        m.buffers +
        ', total ' +
        m.flashTotal +
        '/' +
        m.jsVars +
        ' flash, ' +
        m.ramTotal +
        ' RAM upload',
    );
  }
  if (failures.length) {
    for (const f of failures) console.error(f);
    console.error('firmware build FAILED (' + failures.length + ' problem(s))');
    process.exit(1);
  }
  console.log('firmware build ok in ' + (Date.now() - t0) + ' ms → ' + relative(process.cwd(), distDir));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
