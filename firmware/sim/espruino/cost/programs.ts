/**
 * The programs the cost measurements run on both engines (ratios.ts): the plain-JS snippets and the
 * natives the firmware calls, each wrapped between two marker calls (snippetProgram), the "machine"
 * programs that do nothing but the interpreter's own work around jobs (ADC/DAC samples, buffer events,
 * timers), and the audio the scenarios and machines are fed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BoardProfile } from '@budlink/firmware/boards';
import type { NativeName } from '../../vm/loop';
import type { QueuedAudio } from '../../core/earbud';
import { readWav } from '@budlink/protocol/audio';

const here = dirname(fileURLToPath(import.meta.url));
/** The speech the scenarios stream (as the firmware-real bench's CPU figures). */
export const SPEECH = join(
  here,
  '..',
  '..',
  '..',
  '..',
  'test',
  'fixtures',
  'audio',
  'hey-budlink-weather-8k.wav',
);

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
/** Runs the empty and the measured snippet twice each, then says it is done. */
export const RUNNER = 'setTimeout(function(){sE();sX();sE();sX();print("BUDLINK-COST-DONE")},50);\n';

// ---------------------------------------------------------------------------------------------------
// Audio

/** `s` seconds of silence at the board's rate. */
export function silence(board: BoardProfile, s: number): QueuedAudio {
  return { samples: new Uint8Array(Math.round(board.sampleRate * s)).fill(128), rate: board.sampleRate };
}

/** `s` seconds of the fixture's speech, looped. */
export function speech(s: number, fixture: string): QueuedAudio {
  const w = readWav(fixture);
  const src = w.samples as Int16Array;
  const out = new Int16Array(Math.round(w.sampleRate * s));
  for (let i = 0; i < out.length; i++) out[i] = src[i % src.length] ?? 0;
  return { samples: out, rate: w.sampleRate };
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
