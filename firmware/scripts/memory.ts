/**
 * Boot-time JsVar estimate for a board's bundle (docs/FIRMWARE.md §Memory budget). An estimate, not a
 * measurement: the device's own figure is STATUS.freeVars (process.memory().free); the simulator's
 * heap walk (firmware/sim/vm/memory.ts) is the reference this model is calibrated against.
 *
 * Model (Espruino 2v2x, 32-bit builds, 13–14-byte JsVars; EspruinoDocs "Performance"):
 * - A name longer than 4 characters takes 1 + ceil((len − 4) / (jsVarBytes − 1)) JsVars, a short one 1.
 * - A typed array of n bytes = its flat-string data ceil(n / jsVarBytes) + 3 vars (flat-string header,
 *   ArrayBuffer, view): Uint8Array(4096) ≈ 296 at 14 bytes, as measured on the real interpreter (~300).
 * - A function = function + scope link + code + one per parameter, plus the name slot that holds it
 *   (a variable, property or class member). A class adds its prototype object. Code saved to flash
 *   (Storage + load(), E.setBootCode) is a reference (1 var); uploaded to RAM it is the body text
 *   (~12 characters per JsVar).
 * - Closures: a function that creates closures keeps its whole scope alive as long as one of them
 *   lives (timers, event handlers, HAL objects: the program's lifetime): the scope object + one slot per
 *   parameter and local. Counted once per such function that runs at boot (every function that
 *   contains a nested function is assumed to: an over-estimate for rarely used ones).
 * - Object state: a name slot + a value per distinct `this.x` field and per property of the injected
 *   board profile; RetransmitWindow slots 2 vars each plus their frames at the peak.
 * - Module-level object/array literals (constant tables): 1 + a name slot + a value per entry.
 * - Interpreter baseline: 40 vars.
 */
import { parse } from 'acorn';
import type { Node } from 'acorn';
import type { BoardProfile } from '../boards/index';

export interface MemoryEstimate {
  jsVars: number;
  /** Functions in the minified bundle. */
  functions: number;
  /** Of which closures created inside another function (they keep that function's scope alive). */
  closureScopes: number;
  /** JsVars of the kept closure scopes (included in codeFlash and codeRam). */
  scopeVars: number;
  /** JsVars of module-level object/array literals (constant tables; included in codeFlash/codeRam). */
  tableVars: number;
  /** JsVars of code when uploaded to RAM. */
  codeRam: number;
  /** JsVars of code when saved to flash. */
  codeFlash: number;
  /** JsVars of object state (fields, profile, window slots). */
  state: number;
  /** JsVars of boot-time buffers (mic, ring, playback, speaker, LUT) and a full retransmit window. */
  buffers: number;
  /** Per buffer, JsVars. */
  bufferDetail: Record<string, number>;
  flashTotal: number;
  ramTotal: number;
  /** jsVars - flashTotal */
  headroomFlash: number;
  headroomRam: number;
}

/** JsVars of a typed array of `bytes` bytes. */
export function typedArrayVars(bytes: number, jsVarBytes: number): number {
  return Math.ceil(bytes / jsVarBytes) + 3;
}

function countProps(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  let n = 0;
  for (const k of Object.keys(v as Record<string, unknown>))
    n += 2 + countProps((v as Record<string, unknown>)[k]);
  return n;
}

/** JsVars of a name (variable, property or key) of `len` characters. */
export function nameVars(len: number, jsVarBytes: number): number {
  return len <= 4 ? 1 : 1 + Math.ceil((len - 4) / (jsVarBytes - 1));
}

/** Interpreter baseline (root, globals list, built-in objects in RAM). */
export const BASELINE_VARS = 40;

type AnyNode = Node & Record<string, unknown>;

function isFunction(n: AnyNode): boolean {
  return (
    n.type === 'FunctionDeclaration' ||
    n.type === 'FunctionExpression' ||
    n.type === 'ArrowFunctionExpression'
  );
}

/** Parameter and local names a function scope holds (its own `var`/`let`/`const`, not nested functions'). */
function scopeSize(fn: AnyNode): number {
  let n = (fn.params as AnyNode[]).length;
  const walk = (node: AnyNode): void => {
    for (const k of Object.keys(node)) {
      const v = node[k];
      const kids = Array.isArray(v) ? (v as unknown[]) : [v];
      for (const c of kids) {
        if (!c || typeof c !== 'object' || typeof (c as AnyNode).type !== 'string') continue;
        const cn = c as AnyNode;
        if (isFunction(cn)) {
          if (cn.type === 'FunctionDeclaration') n++;
          continue;
        }
        if (cn.type === 'VariableDeclaration') n += (cn.declarations as AnyNode[]).length;
        walk(cn);
      }
    }
  };
  walk(fn.body as AnyNode);
  return n;
}

/** JsVars of one object or array literal's own slots (nested literals are counted on their own). */
function literalVars(node: AnyNode, b: number): number {
  let n = 1;
  const items = (node.type === 'ObjectExpression' ? node.properties : node.elements) as (AnyNode | null)[];
  for (const it of items) {
    if (!it) continue;
    const key = it.key as AnyNode | undefined;
    const v = (it.type === 'Property' ? it.value : it) as AnyNode;
    n += key
      ? nameVars(key.type === 'Identifier' ? (key.name as string).length : String(key.value).length, b)
      : 1;
    if (v.type === 'Literal' && typeof v.value === 'string') n += nameVars((v.value as string).length, b);
    else if (v.type !== 'ObjectExpression' && v.type !== 'ArrayExpression' && !isFunction(v)) n += 1;
  }
  return n;
}

export function estimateMemory(board: BoardProfile, minCode: string): MemoryEstimate {
  const ast = parse(minCode, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as AnyNode;
  const b = board.jsVarBytes;
  let functions = 0;
  let fnVars = 0;
  let classes = 0;
  let closureScopes = 0;
  let scopeVars = 0;
  let tableVars = 0;
  // The IIFE wrapper `(function(){...})()`: its body is the module scope.
  const first = (ast.body as AnyNode[])[0] as AnyNode | undefined;
  const call = first && first.type === 'ExpressionStatement' ? (first.expression as AnyNode) : null;
  const top = call && call.type === 'CallExpression' ? (call.callee as AnyNode) : null;
  const fields: Record<string, true> = Object.create(null) as Record<string, true>;
  const visit = (node: AnyNode, parentFn: AnyNode | null, scoped: Set<AnyNode>): void => {
    if (isFunction(node)) {
      functions++;
      fnVars += 3 + (node.params as AnyNode[]).length;
      if (parentFn && !scoped.has(parentFn)) {
        // The enclosing function's scope lives as long as this closure does.
        scoped.add(parentFn);
        closureScopes++;
        scopeVars += 1 + scopeSize(parentFn);
      }
      parentFn = node;
    }
    if (node.type === 'ClassDeclaration' || node.type === 'ClassExpression') classes++;
    // Literal tables at module level (the bundle's IIFE scope) live for the program's lifetime.
    if (parentFn === top && (node.type === 'ObjectExpression' || node.type === 'ArrayExpression'))
      tableVars += literalVars(node, b);
    if ((node.type === 'MethodDefinition' || node.type === 'Property') && !node.computed) {
      const key = node.key as AnyNode;
      const v = node.value as AnyNode;
      if (key.type === 'Identifier' && isFunction(v)) fnVars += nameVars((key.name as string).length, b);
    }
    if (node.type === 'MemberExpression') {
      const o = node.object as AnyNode;
      const p = node.property as AnyNode;
      if (o.type === 'ThisExpression' && p.type === 'Identifier' && !node.computed)
        fields[p.name as string] = true;
    }
    for (const k of Object.keys(node)) {
      const v = node[k];
      const kids = Array.isArray(v) ? (v as unknown[]) : [v];
      for (const c of kids) {
        if (c && typeof c === 'object' && typeof (c as AnyNode).type === 'string')
          visit(c as AnyNode, parentFn, scoped);
      }
    }
  };
  visit(ast, null, new Set());
  const ta = (n: number): number => typedArrayVars(n, b);
  const detail: Record<string, number> = {
    // PDM microphones are not driven by this build (docs/FIRMWARE.md §Known limits): no mic Waveform.
    micBuffers: board.mic.source === 'analog' ? 2 * ta(board.bufferSamples) : 0,
    // allocated when the microphone starts (SampleRing.alloc)
    sampleRing: board.mic.source === 'analog' ? ta(board.ringBytes) : 0,
    playbackFifo: ta(board.playbackBytes),
    speakerBuffers: board.speaker ? 2 * ta(board.playbackBufferSamples) : 0,
    volumeLut: ta(256),
    retransmitWindow: board.ringFrames * (ta(board.maxPayload) + 2),
  };
  let buffers = 0;
  for (const k of Object.keys(detail)) buffers += detail[k] as number;
  let state = countProps(board);
  for (const f of Object.keys(fields)) state += nameVars(f.length, b) + 1;
  const codeShared = fnVars + 2 * classes + scopeVars + tableVars + BASELINE_VARS;
  const codeFlash = codeShared + functions;
  const codeRam = codeShared + Math.ceil(minCode.length / 12) + 3 * functions;
  const flashTotal = codeFlash + state + buffers;
  const ramTotal = codeRam + state + buffers;
  return {
    jsVars: board.jsVars,
    functions: functions,
    closureScopes: closureScopes,
    scopeVars: scopeVars,
    tableVars: tableVars,
    codeRam: codeRam,
    codeFlash: codeFlash,
    state: state,
    buffers: buffers,
    bufferDetail: detail,
    flashTotal: flashTotal,
    ramTotal: ramTotal,
    headroomFlash: board.jsVars - flashTotal,
    headroomRam: board.jsVars - ramTotal,
  };
}
