/**
 * What the syntax gate knows of Espruino (probed on the real interpreter: "fails or is absent"): the
 * globals and members it lacks, the built-in constructors, the language globals it has, and its
 * argument limit. The rules (syntax.ts, globals.ts, bindings.ts) read these lists.
 */
import { dict } from './ast';

/** Globals Espruino does not have at all. */
export const FORBIDDEN_GLOBALS = [
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'FinalizationRegistry',
  'Proxy',
  'Reflect',
  'BigInt',
  'BigInt64Array',
  'BigUint64Array',
  'Symbol',
  'SharedArrayBuffer',
  'Atomics',
  'globalThis',
  // Espruino's errors: Error, TypeError, SyntaxError, ReferenceError, InternalError (no others)
  'RangeError',
  'EvalError',
  'URIError',
  'AggregateError',
];

/** `<Global>.<member>` that Espruino lacks. */
export const FORBIDDEN_MEMBERS: Record<string, string[]> = Object.assign(dict<string[]>(), {
  Promise: ['race', 'allSettled', 'any'],
  Math: ['imul', 'clz32', 'trunc', 'fround', 'hypot', 'log2', 'log10', 'log1p', 'expm1', 'cbrt', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh'],
  Number: ['isInteger', 'isSafeInteger', 'EPSILON', 'MAX_SAFE_INTEGER', 'MIN_SAFE_INTEGER'],
  Array: ['from', 'of'],
  Object: ['freeze', 'isFrozen', 'seal', 'isSealed', 'fromEntries', 'getOwnPropertySymbols'],
  String: ['raw'],
}); // prettier-ignore

/** Members forbidden on any object (methods Espruino's built-ins lack). */
export const FORBIDDEN_ANY_MEMBER: Record<string, string> = Object.assign(dict<string>(), {
  flat: 'Array.prototype.flat is absent',
  flatMap: 'Array.prototype.flatMap is absent',
  BYTES_PER_ELEMENT: 'typed arrays have no BYTES_PER_ELEMENT',
});

/** Built-in constructors: no `X.prototype.*` access, no `class extends X`. */
export const BUILTINS = [
  'Object', 'Function', 'Array', 'String', 'Number', 'Boolean', 'RegExp', 'Date', 'Error', 'TypeError',
  'SyntaxError', 'ReferenceError', 'Promise', 'ArrayBuffer', 'DataView', 'Int8Array',
  'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'JSON', 'Math',
]; // prettier-ignore

/** Language globals the interpreter has (always allowed when `allowedGlobals` is used). */
export const LANGUAGE_GLOBALS = BUILTINS.concat([
  'undefined', 'NaN', 'Infinity', 'isNaN', 'isFinite', 'parseInt', 'parseFloat', 'arguments',
  'encodeURIComponent', 'decodeURIComponent', 'escape', 'unescape', 'eval', 'setTimeout', 'clearTimeout',
  'setInterval', 'clearInterval', 'console', 'print', 'atob', 'btoa', 'InternalError',
]); // prettier-ignore

/** Most arguments Espruino accepts in one call. */
export const MAX_CALL_ARGS = 256;
