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
 *   npx tsx firmware/espruino/cost.ts --fit [board]   fit the model's coefficients (prints FITTED_MODEL)
 *   npx tsx firmware/espruino/cost.ts [board...]      every ratio vm / real (snippets, natives, scenarios)
 *
 * The code is deployed as cpu.ts's engine deploys the firmware: pretokenised when the build made
 * <board>.tok.js (firmware/scripts/pretokenise.ts), as plain text otherwise.
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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOARDS, type BoardProfile } from '../boards/index';
import { SimulatedEarbud } from '../sim/index';
import { SimHost } from '../sim/host';
import {
  FITTED_MODEL,
  JS_FEATURES,
  NATIVES,
  X86_PER_UNIT,
  useCostModel,
  type CostModel,
  type JsFeature,
  type NativeName,
} from '../sim/loop';
import { flashImage } from '../sim/espruino/flash';
import { Interpreter } from '../sim/espruino/interpreter';
import type { QueuedAudio } from '../sim/types';
import { readWav } from '@budlink/protocol/audio';
import { binaryPath, cacheDir } from './build';
import { EspruinoEarbud } from '../sim/espruino/earbud';
import { SHIM_IO_FUNCTIONS as EXCLUDED, cpuFigure, type CpuScenario } from './cpu';

const here = dirname(fileURLToPath(import.meta.url));
const distDir = join(here, '..', 'dist');
/** The speech the scenarios stream (as the firmware-real bench's CPU figures). */
export const SPEECH = join(here, '..', '..', 'test', 'fixtures', 'audio', 'hey-budlink-weather-8k.wav');

export interface Snippet {
  name: string;
  /** Run once when the program boots; the body sees its variables through a closure. */
  setup?: string;
  /** What is measured. */
  body: string;
  /** For native snippets: the model's entry (if the vm charges one) and the size. */
  native?: string;
  model?: NativeName;
  n?: number;
  /**
   * Natives the vm does not charge itself: the built-in names (`g:` a global, `m:` a property) whose
   * price (CostModel.names) is fitted on this snippet.
   */
  names?: string[];
}

// ---------------------------------------------------------------------------------------------------
// Snippets

const F = (n: number): string => 'y=y+1;'.repeat(n); // n statements of six one-character tokens
const G = (n: number): string => 'yyyyyyyyyyyy=yyyyyyyyyyyy+1;'.repeat(n); // long names
const X = (n: number): string => 'y' + '+y'.repeat(n - 1); // an expression of 2n-1 tokens
const L = (n: number, body: string): string => `for(var i=0;i<${n};i++){${body}}`;
const fields = (n: number): string => Array.from({ length: n }, (_, k) => `this.f${k}=${k};`).join('');
const props = (n: number): string => '{' + Array.from({ length: n }, (_, k) => `f${k}:${k}`).join(',') + '}';
const vars = (n: number): string => 'var ' + Array.from({ length: n }, (_, k) => `v${k}=${k}`).join(',');

/** Plain JavaScript: what the interpreter's cost depends on. */
export const JS_SNIPPETS: Snippet[] = [
  { name: 'loop0_50', body: L(50, '') },
  { name: 'loop0_100', body: L(100, '') },
  { name: 'loopx_50', setup: 'var x=0', body: L(50, 'x+=i') },
  { name: 'loopx_100', setup: 'var x=0', body: L(100, 'x+=i') },
  { name: 'loopxlocal_50', body: 'var x=0;' + L(50, 'x+=i') },
  { name: 'loop2stmt_50', setup: 'var x=0', body: L(50, 'x+=i;x+=i') },
  { name: 'loop4stmt_50', setup: 'var x=0', body: L(50, 'x+=i;x+=i;x+=i;x+=i') },
  { name: 'longid_50', setup: 'var abcdefghijklmnopqr=0', body: L(50, 'abcdefghijklmnopqr+=i') },
  { name: 'arith_50', setup: 'var x=0', body: L(50, 'x=(i*3+7>>2&255)+(i^5)-(i|1)') },
  { name: 'expr20_50', setup: 'var x=0,y=1', body: L(50, 'x=' + X(20)) },
  { name: 'expr5_50', setup: 'var x=0,y=1', body: L(50, 'x=' + X(5)) },
  { name: 'straight10', setup: 'var x=0', body: 'x+=1;'.repeat(10) },
  { name: 'straight40', setup: 'var x=0', body: 'x+=1;'.repeat(40) },
  { name: 'straight40local', body: 'var x=0;' + 'x+=1;'.repeat(40) },
  { name: 'str_50', setup: 'var s', body: L(50, 's="abcdefghijklmnopqrstuvwxyz0123456789"') },
  { name: 'num_50', setup: 'var x', body: L(50, 'x=123456.789') },
  { name: 'int_50', setup: 'var x', body: L(50, 'x=12345') },
  { name: 'skipblk_16', setup: 'var y=0,x=0', body: L(10, `if(x<0){${F(16)}}`) },
  { name: 'skipblk_166', setup: 'var y=0,x=0', body: L(10, `if(x<0){${F(166)}}`) },
  { name: 'skipblkid_40', setup: 'var y=0,x=0', body: L(10, `if(x<0){${G(40)}}`) },
  { name: 'skipelse_166', setup: 'var y=0,x=0', body: L(10, `if(x>=0){y=1}else{${F(166)}}`) },
  { name: 'skipstmt_200', setup: 'var y=0,x=0', body: L(10, `if(x<0)y=${X(200)};`) },
  { name: 'skipstmt_20', setup: 'var y=0,x=0', body: L(10, `if(x<0)y=${X(20)};`) },
  { name: 'skipand_200', setup: 'var y=0,x=0', body: L(10, `x<0&&(y=${X(200)})`) },
  { name: 'skipor_200', setup: 'var y=0,x=0', body: L(10, `x>=0||(y=${X(200)})`) },
  { name: 'skipcond_200', setup: 'var y=0,x=0', body: L(10, `y=x>=0?1:${X(200)}`) },
  { name: 'doand_200', setup: 'var y=0,x=0', body: L(10, `x>=0&&(y=${X(200)})`) },
  { name: 'ret_0', setup: 'var y=0,f=function(a){if(a>=0)return a;}', body: L(10, 'f(i)') },
  { name: 'ret_166', setup: `var y=0,f=function(a){if(a>=0)return a;${F(166)}}`, body: L(10, 'f(i)') },
  {
    name: 'retblk_166',
    setup: `var y=0,f=function(a){if(a>=0){return a;${F(83)}}${F(83)}}`,
    body: L(10, 'f(i)'),
  },
  { name: 'cont_0', setup: 'var y=0', body: L(10, 'if(i>=0)continue;') },
  { name: 'cont_166', setup: 'var y=0', body: L(10, `if(i>=0)continue;${F(166)}`) },
  {
    name: 'brk_166',
    setup: 'var y=0',
    body: L(10, `if(i>=0)break;${F(166)}`) + ';' + L(10, `if(i>=0)break;${F(166)}`),
  },
  { name: 'call0_50', setup: 'var f=function(){}', body: L(50, 'f()') },
  { name: 'call3_50', setup: 'var f=function(a,b,c){}', body: L(50, 'f(1,2,3)') },
  { name: 'callret_50', setup: 'var f=function(a){return a+1},x=0', body: L(50, 'x=f(x)') },
  { name: 'arrow_50', setup: 'var f=a=>a+1,x=0', body: L(50, 'x=f(x)') },
  { name: 'callbody5_50', setup: 'var y=0,f=function(){y+=1;y+=1;y+=1;y+=1;y+=1}', body: L(50, 'f()') },
  { name: 'defn_20', setup: 'var g', body: L(20, `g=function(){${F(3)}}`) },
  { name: 'defn_200', setup: 'var g', body: L(20, `g=function(){${F(33)}}`) },
  { name: 'defarrow_200', setup: 'var g', body: L(20, `g=()=>{${F(33)}}`) },
  {
    name: 'closure_50',
    setup: 'var x=0,mk=function(a){return function(){return a}}',
    body: L(20, 'x=mk(i)()'),
  },
  { name: 'obj3_first_50', setup: `var x,o=${props(3)}`, body: L(50, 'x=o.f0') },
  { name: 'obj3_last_50', setup: `var x,o=${props(3)}`, body: L(50, 'x=o.f2') },
  { name: 'obj40_first_50', setup: `var x,o=${props(40)}`, body: L(50, 'x=o.f0') },
  { name: 'obj40_last_50', setup: `var x,o=${props(40)}`, body: L(50, 'x=o.f39') },
  { name: 'obj40_write_50', setup: `var x,o=${props(40)}`, body: L(50, 'o.f39=i') },
  { name: 'objidx_50', setup: `var x,o=${props(3)}`, body: L(50, 'x=o["f2"]') },
  {
    name: 'cls40_field_last_50',
    setup: `class C{constructor(){${fields(40)}}m(){return this.f39}};var x,o=new C()`,
    body: L(50, 'x=o.f39'),
  },
  {
    name: 'cls40_method_50',
    setup: `class C{constructor(){${fields(40)}}m(){return 1}};var x,o=new C()`,
    body: L(50, 'x=o.m()'),
  },
  {
    name: 'cls3_method_50',
    setup: `class C{constructor(){${fields(3)}}m(){return 1}};var x,o=new C()`,
    body: L(50, 'x=o.m()'),
  },
  {
    name: 'cls40_this_50',
    setup: `class C{constructor(){${fields(40)}}m(){var s=0;for(var i=0;i<50;i++){s+=this.f39}return s}};var x,o=new C()`,
    body: 'x=o.m()',
  },
  {
    name: 'cls3_this_50',
    setup: `class C{constructor(){${fields(3)}}m(){var s=0;for(var i=0;i<50;i++){s+=this.f2}return s}};var x,o=new C()`,
    body: 'x=o.m()',
  },
  { name: 'modvar_first_50', setup: `${vars(80)};var x`, body: L(50, 'x=v0') },
  { name: 'modvar_last_50', setup: `${vars(80)};var x`, body: L(50, 'x=v79') },
  { name: 'locals_scan_50', setup: 'var x=0', body: `${vars(20)};` + L(50, 'x=i') },
  { name: 'global_50', setup: 'var x', body: L(50, 'x=Math') },
  { name: 'globalE_50', setup: 'var x', body: L(50, 'x=E') },
  { name: 'tarr_read_50', setup: 'var x,b=new Uint8Array(64)', body: L(50, 'x=b[i]') },
  { name: 'tarr_write_50', setup: 'var b=new Uint8Array(64)', body: L(50, 'b[i]=i') },
  { name: 'arr_read_50', setup: 'var x,b=[1,2,3,4,5,6,7,8]', body: L(50, 'x=b[7]') },
  { name: 'length_50', setup: 'var x,b=new Uint8Array(64)', body: L(50, 'x=b.length') },
  { name: 'let_50', setup: 'var x=0', body: L(50, 'let y=i*2;x+=y') },
  { name: 'const_50', setup: 'var x=0', body: L(50, 'const y=i*2;x+=y') },
  { name: 'objlit_20', setup: 'var o', body: L(20, 'o={a:1,b:2,c:3}') },
  { name: 'arrlit_20', setup: 'var o', body: L(20, 'o=[1,2,3]') },
  { name: 'strcat_20', setup: 'var s', body: L(20, 's="ab"+i') },
  { name: 'cond_50', setup: 'var x', body: L(50, 'x=i>25?1:2') },
  { name: 'if_50', setup: 'var x', body: L(50, 'if(i>25)x=1;else x=2') },
  { name: 'ifblk_50', setup: 'var x', body: L(50, 'if(i>25){x=1}else{x=2}') },
  { name: 'while_50', setup: 'var x', body: 'var i=0;while(i<50){i++}' },
  { name: 'trycatch_20', setup: 'var x', body: L(20, 'try{x=1}catch(e){x=2}') },
  {
    name: 'new_cls_20',
    setup: 'class C{constructor(a){this.a=a;this.b=0}};var o',
    body: L(20, 'o=new C(i)'),
  },
  {
    name: 'method_this_call_20',
    setup: `class C{constructor(){${fields(20)}}m(){return this.n()}n(){return 1}};var x,o=new C()`,
    body: L(20, 'x=o.m()'),
  },
];

const bytes = (n: number): string => `var b=new Uint8Array(${n});for(var k=0;k<${n};k++)b[k]=k*37&255`;
const native = (
  name: string,
  model: NativeName | undefined,
  mk: (n: number) => Omit<Snippet, 'name'>,
  sizes = [32, 128, 512],
): Snippet[] => sizes.map((n) => ({ name: `${name}(${n})`, native: name, model, n, ...mk(n) }));
const UUID_SVC = 'b1d10001-5a1e-4c6e-9a3b-6275646c6e6b';
const UUID_CHR = 'b1d10002-5a1e-4c6e-9a3b-6275646c6e6b';

/** The natives the firmware calls (hal/espruino, core), each at two or three sizes. */
export const NATIVE_SNIPPETS: Snippet[] = [
  ...native('E.sum', 'E.sum', (n) => ({ setup: `${bytes(n)};var x`, body: 'x=E.sum(b)' })),
  ...native('E.variance', 'E.variance', (n) => ({ setup: `${bytes(n)};var x`, body: 'x=E.variance(b,100)' })),
  ...native('E.mapInPlace', 'E.mapInPlace', (n) => ({
    setup: `${bytes(n)};var c=new Uint8Array(${n}),lut=new Uint8Array(256)`,
    body: 'E.mapInPlace(b,c,lut,8)',
  })),
  ...native('new Uint8Array', 'TypedArray.new', (n) => ({ setup: 'var x', body: `x=new Uint8Array(${n})` })),
  ...native(
    'new Uint8Array(array)',
    'TypedArray.copy',
    (n) => ({
      setup: `${bytes(n)};var x`,
      body: 'x=new Uint8Array(b)',
    }),
    [16, 128],
  ),
  ...native('Uint8Array.set', 'TypedArray.set', (n) => ({
    setup: `${bytes(n)};var c=new Uint8Array(${n + 4})`,
    body: 'c.set(b,4)',
  })),
  ...native('Uint8Array.fill', 'TypedArray.fill', (n) => ({ setup: bytes(n), body: 'b.fill(0)' })),
  ...native('Uint8Array.subarray', undefined, (n) => ({
    setup: `${bytes(1024)};var x`,
    body: `x=b.subarray(100,${100 + n})`,
    names: ['m:subarray'],
  })),
  ...native(
    'NRF.updateServices',
    'NRF.updateServices',
    (n) => ({
      setup:
        `NRF.setServices({"${UUID_SVC}":{"${UUID_CHR}":{value:[0],maxLen:${n},notify:true,readable:true}}},{uart:true});` +
        `var u={value:new Uint8Array(${n}),notify:true},s={},d={};s["${UUID_CHR}"]=u;d["${UUID_SVC}"]=s`,
      body: 'NRF.updateServices(d)',
    }),
    [20, 50],
  ),
  ...native(
    'digitalWrite',
    undefined,
    () => ({ body: 'digitalWrite(D1,1)', names: ['g:digitalWrite'] }),
    [1],
  ),
  ...native(
    'E.kickWatchdog',
    undefined,
    () => ({ body: 'E.kickWatchdog()', names: ['m:kickWatchdog'] }),
    [1],
  ),
  ...native('getTime', undefined, () => ({ setup: 'var x', body: 'x=getTime()', names: ['g:getTime'] }), [1]),
  ...native(
    'setTimeout+clearTimeout',
    undefined,
    () => ({
      setup: 'var f=function(){}',
      body: 'clearTimeout(setTimeout(f,1000))',
      names: ['g:setTimeout', 'g:clearTimeout'],
    }),
    [1],
  ),
  ...native(
    'Math.floor',
    undefined,
    () => ({ setup: 'var x', body: 'x=Math.floor(12.5)', names: ['m:floor'] }),
    [1],
  ),
  ...native(
    'Math.round',
    undefined,
    () => ({ setup: 'var x', body: 'x=Math.round(12.5)', names: ['m:round'] }),
    [1],
  ),
  ...native(
    'String.fromCharCode',
    undefined,
    () => ({
      setup: 'var x',
      body: 'x=String.fromCharCode(65)',
      names: ['m:fromCharCode'],
    }),
    [1],
  ),
  ...native(
    'String.charCodeAt',
    undefined,
    () => ({
      setup: 'var x,s="hello"',
      body: 'x=s.charCodeAt(2)',
      names: ['m:charCodeAt'],
    }),
    [1],
  ),
  ...native(
    'Array.push+shift',
    undefined,
    () => ({
      setup: 'var q=[],b=new Uint8Array(4)',
      body: 'q.push(b);q.shift()',
      names: ['m:push', 'm:shift'],
    }),
    [1],
  ),
  ...native(
    'Function.call',
    undefined,
    () => ({
      setup: 'var f=function(a){return a},x',
      body: 'x=f.call(this,1)',
      names: ['m:call'],
    }),
    [1],
  ),
];

/** The program both engines run: the marker, an empty snippet and the snippet, each in a closure. */
export function snippetProgram(s: Snippet): string {
  return (
    'var M=E.getTemperature;\n' +
    'var sE=(function(){return function(){M();M()}})();\n' +
    `var sX=(function(){${s.setup ?? ''};return function(){M();${s.body};M()}})();\n`
  );
}
const RUNNER = 'setTimeout(function(){sE();sX();sE();sX();print("BUDLINK-COST-DONE")},50);\n';

// ---------------------------------------------------------------------------------------------------
// The real interpreter

/** Does the engine deploy the firmware pretokenised (the build made <board>.tok.js)? */
export function pretokenisedDeploy(board: string): boolean {
  return existsSync(join(distDir, `${board}.tok.js`));
}

type Pretokeniser = (code: string) => string;
let pretokeniser: Pretokeniser | null | undefined;
async function deviceText(board: string, code: string): Promise<string> {
  if (!pretokenisedDeploy(board)) return code;
  if (pretokeniser === undefined) {
    const path = join(here, '..', 'scripts', 'pretokenise.ts');
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
  const prefix = [
    'valgrind',
    '--tool=callgrind',
    '--separate-threads=yes',
    '--collect-atstart=no',
    '--toggle-collect=jsiLoop',
    ...EXCLUDED.map((f) => `--toggle-collect=${f}`),
    '--dump-before=jswrap_espruino_getTemperature',
  ];
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

// ---------------------------------------------------------------------------------------------------
// The vm simulator

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

// ---------------------------------------------------------------------------------------------------
// Scenarios: the firmware listening and streaming (cpu.ts's runs), real and vm

function silence(board: BoardProfile, s: number): QueuedAudio {
  return { samples: new Uint8Array(Math.round(board.sampleRate * s)).fill(128), rate: board.sampleRate };
}

function speech(s: number, fixture: string): QueuedAudio {
  const w = readWav(fixture);
  const src = w.samples as Int16Array;
  const out = new Int16Array(Math.round(w.sampleRate * s));
  for (let i = 0; i < out.length; i++) out[i] = src[i % src.length] ?? 0;
  return { samples: out, rate: w.sampleRate };
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

// ---------------------------------------------------------------------------------------------------
// The interpreter's own work around jobs: ADC/DAC samples (the Waveform timer interrupt), buffer
// events and timers (the idle loop's dispatch). Small programs that do nothing else, per audio second.

export interface Machine {
  name: string;
  /** The program (board pins: the mic and speaker pins of every analog board here are D30/D31, D1). */
  source: (board: BoardProfile) => string;
  /** Per audio second: ADC samples, DAC samples, buffer events, timer runs. */
  per: (board: BoardProfile) => { adc: number; dac: number; buffer: number; timer: number };
}

const micPin = (b: BoardProfile): string => b.mic.pin;
const spkPin = (b: BoardProfile): string => b.speaker?.pin ?? 'D1';
export const MACHINES: Machine[] = [
  {
    name: 'adc+buffer(bufferSamples)',
    source: (b) =>
      `var w=new Waveform(${b.bufferSamples},{doubleBuffer:true,bits:8});w.on('buffer',function(b){});` +
      `w.startInput(${micPin(b)},${b.sampleRate},{repeat:true});`,
    per: (b) => ({ adc: b.sampleRate, dac: 0, buffer: b.sampleRate / b.bufferSamples, timer: 0 }),
  },
  {
    name: 'adc+buffer(128)',
    source: (b) =>
      `var w=new Waveform(128,{doubleBuffer:true,bits:8});w.on('buffer',function(b){});` +
      `w.startInput(${micPin(b)},${b.sampleRate},{repeat:true});`,
    per: (b) => ({ adc: b.sampleRate, dac: 0, buffer: b.sampleRate / 128, timer: 0 }),
  },
  {
    name: 'adc+timer(10ms)',
    source: (b) =>
      `var w=new Waveform(${b.bufferSamples},{doubleBuffer:true,bits:8});w.on('buffer',function(b){});` +
      `w.startInput(${micPin(b)},${b.sampleRate},{repeat:true});setInterval(function(){},10);`,
    per: (b) => ({ adc: b.sampleRate, dac: 0, buffer: b.sampleRate / b.bufferSamples, timer: 100 }),
  },
  {
    name: 'adc+dac+buffers',
    source: (b) =>
      `var w=new Waveform(${b.bufferSamples},{doubleBuffer:true,bits:8});w.on('buffer',function(b){});` +
      `w.startInput(${micPin(b)},${b.sampleRate},{repeat:true});` +
      `var o=new Waveform(${b.bufferSamples},{doubleBuffer:true,bits:8});o.on('buffer',function(b){});` +
      `analogWrite(${spkPin(b)},0.5,{freq:40000});o.startOutput(${spkPin(b)},${b.sampleRate},{repeat:true});`,
    per: (b) => ({
      adc: b.sampleRate,
      dac: b.sampleRate,
      buffer: (2 * b.sampleRate) / b.bufferSamples,
      timer: 0,
    }),
  },
];

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
  const prefix = [
    'valgrind',
    '--tool=callgrind',
    `--callgrind-out-file=${join(dir, 'cg.out')}`,
    '--separate-threads=yes',
    '--collect-atstart=no',
    '--toggle-collect=jsiLoop',
    ...EXCLUDED.map((f) => `--toggle-collect=${f}`),
  ];
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

// ---------------------------------------------------------------------------------------------------
// Fitting

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
