/**
 * Firmware build: one IIFE bundle per board profile, plain and minified, each checked by the Espruino
 * syntax gate, the minified one also pretokenised for the device (./pretokenise.ts), then a size/memory
 * report.
 *
 *   npm run build -w firmware           → firmware/dist/<board>.js, <board>.min.js, <board>.tok.js,
 *                                          report.json
 *   tsx firmware/scripts/build.ts puckjs → only the named boards
 *
 * The entry is generated per board: `import { boot } from './src/main'; boot(<profile literal>)`, so
 * the profile is injected as a plain object and no other board's data reaches the bundle.
 * Exit code 1 on any esbuild error, gate violation, or a board whose estimated boot-time JsVars exceed
 * its heap.
 */
import { parse } from 'acorn';
import { full } from 'acorn-walk';
import type { Node } from 'acorn';
import { build, transform } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOARDS } from '../boards/index';
import type { BoardProfile } from '../boards/index';
import { estimateMemory } from './memory';
import type { MemoryEstimate } from './memory';
import { countDeclaration, propertyKeyNodes, type AnyNode } from './ast';
import { pretokenise, readsBackAs } from './pretokenise';
import { distDir } from './bundle';

const firmwareDir = join(dirname(fileURLToPath(import.meta.url)), '..');

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
  /** Bytes of the pretokenised bundle (<board>.tok.js). */
  tokBytes: number;
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

/** Profile fields the firmware never reads on the device (kept out of the bundle: they cost JsVars). */
const HOST_ONLY_FIELDS = ['name', 'chip', 'jsVars', 'jsVarBytes'];

/** The profile literal injected into the bundle. */
function deviceProfile(board: BoardProfile): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  for (const k of Object.keys(board))
    if (!HOST_ONLY_FIELDS.includes(k)) p[k] = board[k as keyof BoardProfile];
  return p;
}

async function bundle(board: BoardProfile): Promise<string> {
  const result = await build({
    stdin: {
      contents: "import { boot } from './src/main';\nboot(" + JSON.stringify(deviceProfile(board)) + ');\n',
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
    minify: false,
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
  return '(function () {\n' + inlineScalars(inlineConstants(out.text).code).code + '})();\n';
}

async function minifyBundle(plain: string): Promise<string> {
  const names = mangleCandidates(plain);
  const r = await transform(plain, {
    minify: true,
    target: 'es2017',
    legalComments: 'none',
    charset: 'ascii',
    logLevel: 'silent',
    mangleProps: names.length ? new RegExp('^(' + names.join('|') + ')$') : undefined,
    // the board profile is injected as JSON (quoted keys): mangle those keys like the reads of them
    mangleQuoted: true,
  });
  if (r.mangleCache) {
    // A mangled name must never equal a property name the bundle keeps (it would alias two fields).
    const kept = propertyNames(plain);
    for (const k of Object.keys(r.mangleCache)) {
      const to = r.mangleCache[k];
      if (typeof to === 'string' && kept.has(to) && !names.includes(to))
        throw new Error('property mangling: ' + k + ' -> ' + to + ' collides with a kept property');
    }
  }
  return r.code.trim() + '\n';
}

/** Every identifier-like token of the files under `dir` (recursively) with extension .ts. */
function tokensOf(dir: string, into: Set<string>): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) tokensOf(path, into);
    else if (e.name.endsWith('.ts'))
      for (const t of readFileSync(path, 'utf8').match(/[A-Za-z_$][\w$]*/g) ?? []) into.add(t);
  }
}

/** Non-computed property names (member reads, object keys, class members) in `code`. */
function propertyNames(code: string): Set<string> {
  return new Set(propertyKeyNodes(code).map((k) => k.name as string));
}

/**
 * Property names the minifier may shorten: on Espruino a property name longer than 4 characters costs
 * an extra JsVar in every object or prototype that holds it. Only the firmware's own names qualify
 * (its classes, the HAL, the board profile): anything named in the protocol package (frame fields are
 * set by string key), Espruino's declarations (espruino.d.ts), any string literal of the bundle (config
 * fields are read and persisted by name) or any built-in prototype is kept.
 */
function mangleCandidates(code: string): string[] {
  const reserved = new Set<string>();
  tokensOf(join(firmwareDir, '..', 'protocol', 'src'), reserved);
  // Espruino's own API (method and option names the interpreter looks up by name).
  for (const t of readFileSync(join(firmwareDir, 'src', 'hal', 'espruino', 'espruino.d.ts'), 'utf8').match(
    /[A-Za-z_$][\w$]*/g,
  ) ?? [])
    reserved.add(t);
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as AnyNode;
  full(ast as unknown as Node, (n: Node) => {
    const x = n as AnyNode;
    if (x.type === 'Literal' && typeof x.value === 'string')
      for (const t of x.value.match(/[\w$]+/g) ?? []) reserved.add(t);
    if (x.type === 'TemplateElement')
      for (const t of String((x.value as { raw: string }).raw).match(/[\w$]+/g) ?? []) reserved.add(t);
  });
  const builtins = [
    Object.prototype,
    Array.prototype,
    Uint8Array.prototype,
    Object.getPrototypeOf(Uint8Array.prototype),
    String.prototype,
    Number.prototype,
    Function.prototype,
    Promise.prototype,
    Error.prototype,
    DataView.prototype,
    ArrayBuffer.prototype,
    Math,
    JSON,
    Object,
    Array,
    Number,
    String,
    Promise,
  ];
  for (const o of builtins) for (const k of Object.getOwnPropertyNames(o)) reserved.add(k);
  for (const k of [
    'prototype',
    'constructor',
    'length',
    'name',
    'message',
    'stack',
    'buffer',
    'buffer2',
    'data',
    'state',
    'time',
  ])
    reserved.add(k);
  return [...propertyNames(code)].filter((k) => k.length > 4 && !reserved.has(k)).sort();
}

/**
 * Fold the protocol's and the firmware's constant tables (`FrameType.ACK`, `EndReason.SILENCE`,
 * `TIMING.rtoMs`...) into literals and drop the tables: on Espruino each such object costs ~3 JsVars
 * per key for the life of the program, and a literal costs none. A top-level `var X = {k: literal, ...}`
 * is folded only when every reference to X in the bundle is a static read `X.k` of one of its keys and
 * no other declaration anywhere is named X; anything else leaves X untouched.
 */
export function inlineConstants(code: string): { code: string; folded: string[] } {
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as AnyNode;
  const tables = new Map<string, { decl: AnyNode; values: Map<string, string> }>();
  for (const st of ast.body as AnyNode[]) {
    if (st.type !== 'VariableDeclaration' || (st.declarations as AnyNode[]).length !== 1) continue;
    const d = (st.declarations as AnyNode[])[0] as AnyNode;
    const id = d.id as AnyNode;
    const init = d.init as AnyNode | null;
    if (id.type !== 'Identifier' || !init || init.type !== 'ObjectExpression') continue;
    const values = new Map<string, string>();
    let ok = true;
    for (const p of init.properties as AnyNode[]) {
      const key = p.key as AnyNode;
      const v = p.value as AnyNode;
      const name =
        key.type === 'Identifier' ? (key.name as string) : key.type === 'Literal' ? String(key.value) : null;
      const arg = v.argument as AnyNode | undefined;
      const literal =
        (v.type === 'Literal' && (typeof v.value === 'number' || typeof v.value === 'string')) ||
        (v.type === 'UnaryExpression' &&
          v.operator === '-' &&
          arg?.type === 'Literal' &&
          typeof arg.value === 'number');
      if (p.type !== 'Property' || p.computed || p.kind !== 'init' || name === null || !literal) {
        ok = false;
        break;
      }
      values.set(name, code.slice(v.start, v.end));
    }
    if (ok && values.size) tables.set(id.name as string, { decl: st, values });
  }
  const bad = new Set<string>();
  const reads: { start: number; end: number; text: string }[] = [];
  const declared = new Map<string, number>();
  const claimed = new Set<AnyNode>();
  full(ast as unknown as Node, (n: Node) => {
    const x = n as AnyNode;
    countDeclaration(x, declared);
    if (x.type === 'MemberExpression' && !x.computed) {
      const o = x.object as AnyNode;
      const pr = x.property as AnyNode;
      if (o.type === 'Identifier' && tables.has(o.name as string)) {
        const v = (tables.get(o.name as string) as { values: Map<string, string> }).values.get(
          pr.name as string,
        );
        if (v === undefined) bad.add(o.name as string);
        else {
          claimed.add(o);
          reads.push({ start: x.start, end: x.end, text: /^-/.test(v) ? '(' + v + ')' : v });
        }
      }
    }
  });
  // Any other use of a table name (passed, assigned, written to, computed access) keeps the table.
  full(ast as unknown as Node, (n: Node) => {
    const x = n as AnyNode;
    if (x.type === 'Identifier' && tables.has(x.name as string) && !claimed.has(x)) {
      const t = tables.get(x.name as string) as { decl: AnyNode };
      const declId = ((t.decl.declarations as AnyNode[])[0] as AnyNode).id as AnyNode;
      if (x !== declId) bad.add(x.name as string);
    }
    if (
      (x.type === 'AssignmentExpression' || x.type === 'UpdateExpression' || x.type === 'UnaryExpression') &&
      ((x.left ?? x.argument) as AnyNode | undefined)?.type === 'MemberExpression'
    ) {
      const m = (x.left ?? x.argument) as AnyNode;
      const o = m.object as AnyNode;
      if (
        o.type === 'Identifier' &&
        tables.has(o.name as string) &&
        (x.type !== 'UnaryExpression' || x.operator === 'delete')
      )
        bad.add(o.name as string);
    }
  });
  for (const [name, count] of declared) if (count > 1 && tables.has(name)) bad.add(name);
  const edits: { start: number; end: number; text: string }[] = [];
  const folded: string[] = [];
  for (const [name, t] of tables) {
    if (bad.has(name)) continue;
    folded.push(name);
    edits.push({ start: t.decl.start, end: t.decl.end, text: '' });
  }
  for (const r of reads) {
    const name = code.slice(r.start, r.end).split('.')[0] as string;
    if (folded.includes(name)) edits.push(r);
  }
  edits.sort((a, b) => b.start - a.start);
  let out = code;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { code: out, folded };
}

/**
 * Fold top-level numeric constants (`var HELD = 1;`) into their uses and drop them: on Espruino every
 * reference to a module-level name is a lookup through the module's scope (~75 names: measured at
 * ~800 x86 instructions each on the real interpreter), and the name costs JsVars for the program's
 * life. Folded only when the name is declared once in the whole bundle, never assigned, and every
 * reference is a plain read (not a shorthand property).
 */
export function inlineScalars(code: string): { code: string; folded: string[] } {
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as AnyNode;
  const consts = new Map<string, { decl: AnyNode; id: AnyNode; text: string }>();
  for (const st of ast.body as AnyNode[]) {
    if (st.type !== 'VariableDeclaration' || (st.declarations as AnyNode[]).length !== 1) continue;
    const d = (st.declarations as AnyNode[])[0] as AnyNode;
    const id = d.id as AnyNode;
    const v = d.init as AnyNode | null;
    if (id.type !== 'Identifier' || !v) continue;
    const arg = v.argument as AnyNode | undefined;
    const numeric =
      (v.type === 'Literal' && typeof v.value === 'number') ||
      (v.type === 'UnaryExpression' &&
        v.operator === '-' &&
        arg?.type === 'Literal' &&
        typeof arg.value === 'number');
    if (numeric) consts.set(id.name as string, { decl: st, id, text: code.slice(v.start, v.end) });
  }
  const bad = new Set<string>();
  const declared = new Map<string, number>();
  const uses: AnyNode[] = [];
  const skip = new Set<AnyNode>();
  full(ast as unknown as Node, (n: Node) => {
    const x = n as AnyNode;
    countDeclaration(x, declared);
    if (x.type === 'MemberExpression' && !x.computed) skip.add(x.property as AnyNode);
    if (
      (x.type === 'Property' || x.type === 'MethodDefinition' || x.type === 'PropertyDefinition') &&
      !x.computed
    ) {
      skip.add(x.key as AnyNode);
      if (x.shorthand && (x.key as AnyNode).type === 'Identifier') bad.add((x.key as AnyNode).name as string);
    }
    if (x.type === 'AssignmentExpression' && (x.left as AnyNode).type === 'Identifier')
      bad.add((x.left as AnyNode).name as string);
    if (x.type === 'UpdateExpression' && (x.argument as AnyNode).type === 'Identifier')
      bad.add((x.argument as AnyNode).name as string);
    if (x.type === 'Identifier') uses.push(x);
  });
  for (const [name, count] of declared) if (count > 1) bad.add(name);
  const edits: { start: number; end: number; text: string }[] = [];
  const folded: string[] = [];
  for (const [name, c] of consts) {
    if (bad.has(name)) continue;
    folded.push(name);
    edits.push({ start: c.decl.start, end: c.decl.end, text: '' });
  }
  for (const u of uses) {
    const c = consts.get(u.name as string);
    if (!c || skip.has(u) || u === c.id || !folded.includes(u.name as string)) continue;
    edits.push({ start: u.start, end: u.end, text: /^-/.test(c.text) ? '(' + c.text + ')' : c.text });
  }
  edits.sort((a, b) => b.start - a.start);
  let out = code;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { code: out, folded };
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
    const plain = await bundle(board);
    const min =
      '(function(){' +
      (await minifyBundle(plain)).replace(/^\(function\(\)\{|\}\)\(\);\s*$/g, '') +
      '})();\n';
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
    // What the device stores and runs: the minified bundle pretokenised (bytes, written as latin1). The
    // vm simulator runs <board>.min.js, the same program as text.
    const tok = pretokenise(min);
    if (!readsBackAs(tok, min))
      failures.push(board.id + ': the pretokenised bundle does not read back as the minified one');
    writeFileSync(join(distDir, board.id + '.tok.js'), tok, 'latin1');
    const memory = estimateMemory(board, min);
    reports[id] = {
      bundleBytes: Buffer.byteLength(plain),
      minBytes: Buffer.byteLength(min),
      tokBytes: tok.length,
      memory: memory,
    };
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
        ' B, tok ' +
        String(r.tokBytes).padStart(6) +
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
