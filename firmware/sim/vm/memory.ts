/**
 * JsVar accounting: an estimate of how many of Espruino's fixed-size variable blocks ("JsVars") the
 * program's live data would take on the device, computed by walking the real reachable heap of the vm
 * context (not a per-board constant). The model follows Espruino's storage layout (src/jsvar.h):
 *
 * - Every object, array, function and typed-array view is one JsVar, plus one "name" JsVar per property
 *   or element, plus one for the value, except where EspruinoDocs "Performance" says they pack into
 *   one: an integer index with a boolean or int16 value, a key of <= 4 characters with an int16 value
 *   (JSV_NAME_INT_BOOL / JSV_NAME_INT_INT / JSV_NAME_STRING_INT). `undefined` takes no JsVar.
 * - Strings (values or property names): the first block holds 4 characters, each extension block
 *   `blocksize - 1` more: 1 + ceil((len - 4) / (blocksize - 1)).
 * - Typed arrays: view + ArrayBuffer + backing string. Backing strings of 32 bytes or more are flat
 *   strings: one header block + ceil(bytes / blocksize) (a Uint8Array(4096) is ~300 JsVars at 13-14 bytes).
 *   Views sharing one buffer (subarray) count the buffer once.
 * - Functions: the function JsVar, its scope link, one name JsVar per parameter, and its code: with
 *   code uploaded to RAM the body text is a string (chars / 12-ish); executed from Storage the code is a
 *   reference into flash (one JsVar).
 * - Closure scopes are invisible to JavaScript: the instrumentation (instrument.ts) tags every closure
 *   with a getter of the scope it was created in, and the walk counts each scope once (a scope object +
 *   one slot per variable), as Espruino keeps a function's whole scope alive for its closures. Getters
 *   link to the enclosing function's getter: the whole scope chain stays alive, and a function created
 *   under a chain of n > 1 scopes holds a copy of it (an array + n names, jspeiGetScopesAsVar). Block
 *   scopes (`let`/`const` inside nested blocks) are not seen.
 * - An arrow function whose body has the `this` keyword holds the `this` it was created with (a name +
 *   the value); a bound function copies its target's parameters, code and scope link and holds its
 *   bound arguments and thisArg (jswrap_function_bind). The simulator records both (FunctionLinks).
 * - The interpreter itself (root, hidden root, console, timers list) takes BASELINE_JSVARS.
 */

import { tagOf } from './natives';

export const BASELINE_JSVARS = 40;

export interface MemoryModel {
  blocksize: number;
  /** Where function code lives: 'ram' (uploaded to RAM) or 'storage' (executed from flash). */
  code: 'ram' | 'storage';
}

export function stringVars(len: number, blocksize: number): number {
  return 1 + Math.ceil(Math.max(0, len - 4) / (blocksize - 1));
}

export function backingVars(bytes: number, blocksize: number): number {
  if (bytes >= 32) return 1 + Math.ceil(bytes / blocksize);
  return stringVars(bytes, blocksize);
}

function isInt16(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= -32768 && v <= 32767;
}

/**
 * Key and value share one JsVar (EspruinoDocs "Performance"): an integer index with a boolean or an
 * int16 value, or a key of at most 4 characters with an int16 value. `undefined` is no JsVar at all.
 */
function packs(name: string | number, v: unknown): boolean {
  if (v === undefined) return true;
  if (typeof name === 'number') return typeof v === 'boolean' || isInt16(v);
  return name.length <= 4 && isInt16(v);
}

/** What a bound function (`fn.bind(thisArg, ...args)`) was made from. */
export interface BoundInfo {
  target: object;
  thisArg: unknown;
  args: unknown[];
}

/** Hidden links of functions, recorded by the simulator as the program creates them. */
export interface FunctionLinks {
  /** The `this` an arrow function captured (instrument.ts tags arrows that use `this`). */
  thisOf?: (fn: object) => (() => unknown) | undefined;
  /** Target, thisArg and arguments of a function made by `Function.prototype.bind`. */
  boundOf?: (fn: object) => BoundInfo | undefined;
  /** The enclosing function's scope getter of a scope getter (instrument.ts links them). */
  parentOf?: (getter: () => Record<string, unknown>) => (() => Record<string, unknown>) | undefined;
}

const SKIP_FN_PROPS = new Set(['length', 'name', 'prototype', 'arguments', 'caller']);

/**
 * Walks values and sums JsVars. One instance per measurement; `seen` makes shared objects count once.
 * `opaque` objects (the simulator's own globals: E, NRF, pins...) are free: they live in flash on the device.
 */
export class JsVarCounter {
  private readonly seen = new Set<unknown>();
  constructor(
    private readonly model: MemoryModel,
    private readonly opaque: Set<unknown>,
    /** The scope getter a closure was tagged with by the instrumentation (instrument.ts), if any. */
    private readonly scopeOf: (fn: object) => (() => Record<string, unknown>) | undefined = () => undefined,
    /** What else a function keeps alive that JavaScript cannot see (device.ts records it). */
    private readonly links: FunctionLinks = {},
  ) {}

  /** The JsVars of a function's code, parameters and scope link(s), without the function JsVar itself,
   * its own properties or a `this` it holds. A bound function copies these from its target. */
  private functionParts(fn: object, depth: number, hops = 0): number {
    const b = this.links.boundOf?.(fn);
    if (b !== undefined && hops < 32) {
      const params = this.paramsOf(b.target);
      let n = this.functionParts(b.target, depth, hops + 1);
      // bound arguments become parameters with a value (a new parameter name past the target's own)
      for (let i = 0; i < b.args.length; i++) n += (i >= params ? 1 : 0) + this.value(b.args[i], depth - 1);
      return n;
    }
    const src = uninstrumented(Function.prototype.toString.call(fn));
    if (src.includes('[native code]')) return 0;
    let n = 1; // scope link
    n += this.model.code === 'ram' ? stringVars(bodyLength(src), this.model.blocksize) : 1;
    n += paramCount(src);
    const g = this.scopeOf(fn);
    if (g !== undefined) {
      // jspeiGetScopesAsVar: one scope is linked directly; a chain of several is copied into a new
      // array (1 + one index name per scope) for every function created there.
      const chain: (() => Record<string, unknown>)[] = [];
      let s: (() => Record<string, unknown>) | undefined = g;
      while (s !== undefined && chain.length < 64) {
        chain.push(s);
        s = this.links.parentOf?.(s);
      }
      if (chain.length > 1) n += 1 + chain.length;
      for (const link of chain) n += this.scope(link, depth - 1);
    }
    return n;
  }

  private paramsOf(fn: object): number {
    const b = this.links.boundOf?.(fn);
    if (b !== undefined) return Math.max(0, this.paramsOf(b.target) - b.args.length);
    const src = uninstrumented(Function.prototype.toString.call(fn));
    return src.includes('[native code]') ? 0 : paramCount(src);
  }

  /** JsVars of a function scope (once per scope): the scope object and one slot per variable. */
  scope(getter: () => Record<string, unknown>, depth = Infinity): number {
    if (this.seen.has(getter)) return 0;
    this.seen.add(getter);
    let vars: Record<string, unknown>;
    try {
      vars = getter();
    } catch {
      return 0;
    }
    let n = 1;
    for (const k of Object.keys(vars)) n += this.slot(k, vars[k], depth);
    return n;
  }

  /** JsVars for one named slot (a property, variable or element) holding `v`. */
  slot(name: string | number, v: unknown, depth = Infinity): number {
    const nameVars = typeof name === 'number' ? 1 : stringVars(name.length, this.model.blocksize);
    return nameVars + (packs(name, v) ? 0 : this.value(v, depth));
  }

  /** JsVars for a value on its own (0 for undefined, objects already seen, or opaque objects). */
  value(v: unknown, depth = Infinity): number {
    const bs = this.model.blocksize;
    if (v === undefined) return 0;
    if (v === null || typeof v === 'boolean' || typeof v === 'number') return 1;
    if (typeof v === 'string') return stringVars(v.length, bs);
    if (typeof v === 'symbol' || typeof v === 'bigint') return 1;
    if (this.opaque.has(v) || this.seen.has(v)) return 0;
    this.seen.add(v);
    const o = v as object;
    const tag = tagOf(o);
    if (ArrayBuffer.isView(o)) {
      let n = 1;
      if (!this.seen.has(o.buffer)) {
        this.seen.add(o.buffer);
        n += 1 + backingVars(o.buffer.byteLength, bs);
      }
      return n;
    }
    if (tag === 'ArrayBuffer') return 1 + backingVars((o as ArrayBuffer).byteLength, bs);
    if (depth <= 0) return 1;
    if (typeof o === 'function') {
      const bound = this.links.boundOf?.(o);
      if (bound !== undefined) {
        // jswrap_function_bind: a new function with the target's parameters (bound ones with their
        // values), scope and code, plus a `this` name holding thisArg. The target itself is not kept.
        return 1 + this.functionParts(o, depth) + 1 + this.value(bound.thisArg, depth - 1);
      }
      const src = uninstrumented(Function.prototype.toString.call(o));
      if (src.includes('[native code]')) return 1;
      let n = 1 + this.functionParts(o, depth); // function + scope link, code, parameters, scope
      const self = this.links.thisOf?.(o);
      if (self !== undefined) {
        // An arrow using `this` holds the `this` it was created with (a name JsVar + the value).
        let t: unknown;
        try {
          t = self();
        } catch {
          t = undefined; // still in its TDZ (derived constructor before super()): nothing held yet
        }
        if (t !== undefined) n += 1 + this.value(t, depth - 1);
      }
      for (const k of Object.getOwnPropertyNames(o)) {
        if (SKIP_FN_PROPS.has(k)) continue;
        n += this.prop(o, k, depth);
      }
      const proto = (o as { prototype?: unknown }).prototype;
      if (proto !== null && typeof proto === 'object' && Object.getOwnPropertyNames(proto).length > 1)
        n += 1 + this.value(proto, depth - 1);
      return n;
    }
    if (Array.isArray(o)) {
      let n = 1;
      for (let i = 0; i < o.length; i++) if (i in o) n += this.slot(i, o[i], depth - 1);
      return n;
    }
    if (tag === 'Date' || tag === 'RegExp') return 2;
    let n = 1;
    const proto = Object.getPrototypeOf(o);
    // A plain object's prototype is its realm's Object.prototype (whose own prototype is null).
    if (proto !== null && Object.getPrototypeOf(proto) !== null && typeof proto === 'object') {
      n += 1; // __proto__ link of a class instance
      n += this.value(proto, depth - 1);
    }
    for (const k of Object.getOwnPropertyNames(o)) {
      if (k === 'constructor') {
        n += 1;
        continue;
      }
      n += this.prop(o, k, depth);
    }
    return n;
  }

  private prop(o: object, k: string, depth: number): number {
    const d = Object.getOwnPropertyDescriptor(o, k);
    if (d === undefined) return 0;
    if ('value' in d) return this.slot(k, d.value, depth - 1);
    // getter/setter pair: a name + the accessor functions
    return (
      stringVars(k.length, this.model.blocksize) +
      1 +
      this.value(d.get, depth - 1) +
      this.value(d.set, depth - 1)
    );
  }
}

/** The source as written: instrument.ts's counters removed (they are not on the device). */
function uninstrumented(src: string): string {
  return src
    .replace(/if\(\(__\$k\.c\+=[0-9.]+\)>__\$k\.l\)__\$k\.x\(\);/g, '')
    .replace(/\(__\$k\.c\+=[0-9.]+,/g, '(')
    .replace(/__\$k\.c\+=[0-9.]+;/g, '')
    .replace(
      /var __\$g\d+=function\(\)\{var __\$o=\{\};.*?return __\$o\};(?:__\$k\.p\(__\$g\d+,__\$g\d+\);)?/g,
      '',
    )
    .replace(/__\$k\.scope\(__\$g\d+\);/g, '')
    .replace(/__\$k\.k\([\w$]+,__\$g\d+,\[[^\]]*\],\[[^\]]*\]\);/g, '')
    .replace(/,__\$g\d+,\[[^\]]*\](?:,\[[^\]]*\])?\)/g, '')
    .replace(/ ?__\$k\.[tmk]\(/g, '')
    .replace(/,(?:__\$g\d+|void 0),\(\)=>this\)/g, '')
    .replace(/,__\$g\d+\)/g, '');
}

function bodyLength(src: string): number {
  const brace = src.indexOf('{');
  const arrow = src.indexOf('=>');
  if (arrow >= 0 && (brace < 0 || arrow < brace)) return src.length - arrow - 2;
  return brace >= 0 ? src.length - brace : src.length;
}

function paramCount(src: string): number {
  const open = src.indexOf('(');
  const arrow = src.indexOf('=>');
  if (open < 0 || (arrow >= 0 && arrow < open)) return 1; // x => ...
  const close = src.indexOf(')', open);
  const inner = src.slice(open + 1, close).trim();
  return inner.length === 0 ? 0 : inner.split(',').length;
}
