/**
 * The language surface of the vm context: V8 with what Espruino 2v29 lacks removed and what it does
 * differently replaced (README.md "What is and is not reproduced"), plus the
 * hooks the JsVar accounting needs inside the realm (typed-array allocations, `bind`).
 */
import vm from 'node:vm';
import { Interrupt } from './interrupt';

/** Constructors of the context's realm that the simulator makes values with. */
export interface Builtins {
  Uint8Array: Uint8ArrayConstructor;
  Uint16Array: Uint16ArrayConstructor;
  ArrayBuffer: ArrayBufferConstructor;
  Error: ErrorConstructor;
  TypeError: TypeErrorConstructor;
  Object: ObjectConstructor;
  JSON: JSON;
}

/** Defines a global of the context (writable, configurable, not enumerable). */
export type Define = (name: string, value: unknown) => void;

export function createContext(board: string): { ctx: vm.Context; builtins: Builtins; define: Define } {
  const ctx = vm.createContext({}, { name: `espruino:${board}` });
  const builtins = vm.runInContext(
    '({Uint8Array, Uint16Array, ArrayBuffer, Error, TypeError, Object, JSON})',
    ctx,
  ) as Builtins;
  const define: Define = (name, v) => {
    Object.defineProperty(ctx, name, { value: v, writable: true, configurable: true, enumerable: false });
  };
  return { ctx, builtins, define };
}

/** The language as Espruino has it: its behaviour where it differs from V8, without what it lacks. */
export function setUpLanguage(ctx: vm.Context): void {
  installEspruinoBehaviour(ctx);
  removeMissingFeatures(ctx);
}

/** Remove what Espruino lacks (the syntax gate's lists); add InternalError, which V8 lacks. */
function removeMissingFeatures(ctx: vm.Context): void {
  vm.runInContext(
    `(function(){
      var g = globalThis;
      // Espruino's errors are Error, TypeError, SyntaxError, ReferenceError and InternalError only.
      ['Map','Set','WeakMap','WeakSet','WeakRef','FinalizationRegistry','Proxy','Reflect','Symbol','BigInt',
       'BigInt64Array','BigUint64Array','SharedArrayBuffer','Atomics','WebAssembly','Intl','AggregateError',
       'escape','unescape','EvalError','URIError','RangeError'].forEach(function(n){ delete g[n]; });
      var IE = function InternalError(message) {
        var e = new Error(message);
        Object.setPrototypeOf(e, IE.prototype);
        return e;
      };
      IE.prototype = Object.create(Error.prototype, {
        constructor: { value: IE, writable: true, configurable: true },
        name: { value: 'InternalError', writable: true, configurable: true } });
      Object.setPrototypeOf(IE, Error);
      Object.defineProperty(g, 'InternalError', { value: IE, writable: true, configurable: true });
      delete Array.from; delete Array.of;
      ['flat','flatMap','at','findLast','findLastIndex','toReversed','toSorted','toSpliced','with','copyWithin']
        .forEach(function(n){ delete Array.prototype[n]; });
      delete Number.isInteger; delete Number.isSafeInteger;
      ['imul','clz32','trunc','fround','hypot','log2','log10','log1p','expm1','cbrt','sinh','cosh','tanh',
       'asinh','acosh','atanh'].forEach(function(n){ delete Math[n]; });
      delete Object.freeze; delete Object.isFrozen; delete Object.seal; delete Object.isSealed;
      delete Promise.race; delete Promise.allSettled; delete Promise.any;
      delete String.raw;
      delete ArrayBuffer.prototype.slice;
      var TA = Object.getPrototypeOf(Uint8Array);
      var kinds = [Uint8Array, Int8Array, Uint8ClampedArray, Uint16Array, Int16Array, Uint32Array, Int32Array,
                   Float32Array, Float64Array];
      kinds.forEach(function(K){ delete K.BYTES_PER_ELEMENT; delete K.prototype.BYTES_PER_ELEMENT; });
      delete TA.from; delete TA.of;
    })();`,
    ctx,
  );
}

/** Built-ins that behave differently on Espruino (runs before RangeError is removed: it needs it). */
function installEspruinoBehaviour(ctx: vm.Context): void {
  vm.runInContext(
    `(function(){
      var TA = Object.getPrototypeOf(Uint8Array), RangeErr = RangeError;
      // Espruino: typed slice()/filter() return a plain Array.
      var sl = TA.prototype.slice, fi = TA.prototype.filter;
      Object.defineProperty(TA.prototype, 'slice', { writable: true, configurable: true,
        value: function(a, b){ var r = sl.call(this, a, b), o = []; for (var i = 0; i < r.length; i++) o.push(r[i]); return o; } });
      Object.defineProperty(TA.prototype, 'filter', { writable: true, configurable: true,
        value: function(f, t){ var r = fi.call(this, f, t), o = []; for (var i = 0; i < r.length; i++) o.push(r[i]); return o; } });
      // Espruino (jswrap_arraybufferview_set): set(src, offset) copies what fits from offset (an int32:
      // NaN, infinities -> 0), nothing when the offset is outside the array; never a RangeError. A
      // string copies its character codes, an ArrayBuffer its bytes; anything else but an array throws.
      var nativeSet = TA.prototype.set, U8 = Uint8Array, isArray = Array.isArray, isView = ArrayBuffer.isView;
      var head = [].slice;
      var typeName = function(v){ var t = v === null ? 'null' : typeof v;
        return t === 'number' || t === 'boolean' ? 'Number' : t === 'function' ? 'Function' : t === 'object' ? 'Object' : t; };
      Object.defineProperty(TA.prototype, 'set', { writable: true, configurable: true,
        value: function(src, offset){
          if (typeof src === 'string') { var s = src; src = []; for (var i = 0; i < s.length; i++) src.push(s.charCodeAt(i)); }
          else if (src instanceof ArrayBuffer) src = new U8(src);
          else if (!isArray(src) && !isView(src)) throw new Error('First argument must be Array, not ' + typeName(src));
          var o = offset | 0, n = Math.min(src.length, this.length - o);
          if (o < 0 || n <= 0) return;
          // the part that fits, copied out first so an overlapping source reads as before the copy
          nativeSet.call(this, n < src.length ? head.call(src, 0, n) : src, o);
        } });
      // Espruino: out-of-range DataView reads return 0 instead of throwing.
      ['getInt8','getUint8','getInt16','getUint16','getInt32','getUint32','getFloat32','getFloat64'].forEach(function(m){
        var orig = DataView.prototype[m];
        Object.defineProperty(DataView.prototype, m, { writable: true, configurable: true,
          value: function(){ try { return orig.apply(this, arguments); } catch (e) { if (e instanceof RangeErr) return 0; throw e; } } });
      });
      // Espruino: at most 256 arguments to any call made with apply().
      var ap = Function.prototype.apply;
      Object.defineProperty(Function.prototype, 'apply', { writable: true, configurable: true,
        value: function(t, a){ if (a && a.length > 256) throw new Error('Too many arguments (' + a.length + ' > 256)'); return ap.call(this, t, a); } });
    })();`,
    ctx,
  );
}

/**
 * `fn.bind(thisArg, ...args)`: report the target, thisArg and arguments a bound function holds to
 * `rec` (V8's bound functions hide them; Espruino's copy them into the new function).
 */
export function recordBinds(
  ctx: vm.Context,
  rec: (bound: object, target: object, thisArg: unknown, args: unknown[]) => void,
): void {
  vm.runInContext(
    `(function(rec){
      var FP = Function.prototype, nativeBind = FP.bind, slice = [].slice;
      Object.defineProperty(FP, 'bind', { writable: true, configurable: true,
        value: function bind(thisArg) {
          var b = FP.apply.call(nativeBind, this, arguments);
          rec(b, this, thisArg, slice.call(arguments, 1));
          return b;
        } });
    })`,
    ctx,
  )(rec);
}

/** Called by the typed-array constructors with what they made (`copied`: 1 if built from data). */
export interface TypedArrayHook {
  (made: ArrayBufferView | ArrayBuffer, copied: number): void;
  /** `set()` / `fill()` touching `n` elements. */
  charge: (n: number) => void;
}

/** Route typed-array and ArrayBuffer construction, `set` and `fill` through `hook` (cost, OUT OF MEMORY). */
export function wrapTypedArrays(ctx: vm.Context, hook: TypedArrayHook): void {
  vm.runInContext(
    `(function(hook){
      var g = globalThis;
      ['Uint8Array','Int8Array','Uint8ClampedArray','Uint16Array','Int16Array','Uint32Array','Int32Array',
       'Float32Array','Float64Array','ArrayBuffer'].forEach(function(name){
        var K = g[name];
        var W = function(a, b, c){
          if (!new.target) throw new TypeError("Constructor " + name + " requires 'new'");
          var r = arguments.length === 0 ? new K() : arguments.length === 1 ? new K(a) : arguments.length === 2 ? new K(a, b) : new K(a, b, c);
          hook(r, typeof a === 'object' && a !== null && !(a instanceof ArrayBuffer) ? 1 : 0);
          return r;
        };
        W.prototype = K.prototype;
        Object.defineProperty(K.prototype, 'constructor', { value: W, writable: true, configurable: true });
        Object.setPrototypeOf(W, Object.getPrototypeOf(K));
        Object.defineProperty(W, 'name', { value: name });
        g[name] = W;
      });
      var TA = Object.getPrototypeOf(Uint8Array.prototype);
      var set = TA.set, fill = TA.fill;
      Object.defineProperty(TA, 'set', { writable: true, configurable: true,
        value: function(src, off){ hook.charge(src && src.length || 0); return set.call(this, src, off); } });
      Object.defineProperty(TA, 'fill', { writable: true, configurable: true,
        value: function(v, a, b){ hook.charge(this.length); return fill.call(this, v, a, b); } });
    })`,
    ctx,
  )(hook);
}

/**
 * The realm's built-in objects, their prototypes and the global object: what the JsVar walk does not
 * count (the interpreter's own, in BASELINE_JSVARS).
 */
export function builtinObjects(ctx: vm.Context): Set<unknown> {
  const opaque = new Set<unknown>();
  const add = (v: unknown): void => {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || opaque.has(v)) return;
    opaque.add(v);
    const p = (v as { prototype?: unknown }).prototype;
    if (p !== undefined) add(p);
    add(Object.getPrototypeOf(v));
  };
  // The realm's built-ins are not properties of the sandbox object: list them from inside.
  const all = vm.runInContext(
    `Object.getOwnPropertyNames(globalThis).map(function (n) {
       var d = Object.getOwnPropertyDescriptor(globalThis, n); return d && 'value' in d ? d.value : undefined; })`,
    ctx,
  ) as unknown[];
  for (const v of all) add(v);
  add(ctx);
  // Inside the context `globalThis` (the `this` of top-level code) is a proxy, not `ctx`.
  add(vm.runInContext('globalThis', ctx));
  return opaque;
}

/**
 * Wrap every function property of `obj` so that errors thrown by host code (natives.ts, toBytes) reach
 * the program as errors of its own realm (so `e instanceof Error` holds there, as on the device).
 */
export function realmify<T extends Record<string, unknown>>(obj: T, builtins: Builtins): T {
  for (const k of Object.keys(obj)) {
    const f = obj[k];
    if (typeof f !== 'function') continue;
    (obj as Record<string, unknown>)[k] = function (this: unknown, ...args: unknown[]) {
      try {
        return (f as (...a: unknown[]) => unknown).apply(this, args);
      } catch (e) {
        if (e instanceof Interrupt || !(e instanceof Error)) throw e;
        const Ctor = e instanceof TypeError ? builtins.TypeError : builtins.Error;
        throw new Ctor(e.message);
      }
    };
  }
  return obj;
}
