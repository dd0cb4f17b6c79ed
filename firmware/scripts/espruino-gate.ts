/**
 * The Espruino syntax gate (ADR 0003): parse JavaScript with acorn at the latest ECMAScript version,
 * so every construct is visible, and report every construct and global that Espruino lacks
 * (probed on the real interpreter: "fails or is absent"). Run on the *output* of the bundler, so
 * helpers the bundler emits are checked too. Node-only: used by the firmware build and the tests.
 */
import { parse } from 'acorn';

export interface GateViolation {
  /** Stable rule id, e.g. "destructuring", "forbidden-global". */
  rule: string;
  message: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

export interface GateOptions {
  /**
   * When given, every free identifier (a global the code reads without declaring it) must be in
   * this list, or in the language's own globals the interpreter has (Object, Math, Uint8Array, ...).
   */
  allowedGlobals?: string[];
}

/** Globals Espruino does not have at all. */
const FORBIDDEN_GLOBALS = [
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
const FORBIDDEN_MEMBERS: Record<string, string[]> = Object.assign(dict<string[]>(), {
  Promise: ['race', 'allSettled', 'any'],
  Math: ['imul', 'clz32', 'trunc', 'fround', 'hypot', 'log2', 'log10', 'log1p', 'expm1', 'cbrt', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh'],
  Number: ['isInteger', 'isSafeInteger', 'EPSILON', 'MAX_SAFE_INTEGER', 'MIN_SAFE_INTEGER'],
  Array: ['from', 'of'],
  Object: ['freeze', 'isFrozen', 'seal', 'isSealed', 'fromEntries', 'getOwnPropertySymbols'],
  String: ['raw'],
}); // prettier-ignore

/** Members forbidden on any object (methods Espruino's built-ins lack). */
const FORBIDDEN_ANY_MEMBER: Record<string, string> = Object.assign(dict<string>(), {
  flat: 'Array.prototype.flat is absent',
  flatMap: 'Array.prototype.flatMap is absent',
  BYTES_PER_ELEMENT: 'typed arrays have no BYTES_PER_ELEMENT',
});

/** Built-in constructors: no `X.prototype.*` access, no `class extends X`. */
const BUILTINS = [
  'Object', 'Function', 'Array', 'String', 'Number', 'Boolean', 'RegExp', 'Date', 'Error', 'TypeError',
  'SyntaxError', 'ReferenceError', 'Promise', 'ArrayBuffer', 'DataView', 'Int8Array',
  'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'JSON', 'Math',
]; // prettier-ignore

/** Language globals the interpreter has (always allowed when `allowedGlobals` is used). */
const LANGUAGE_GLOBALS = BUILTINS.concat([
  'undefined', 'NaN', 'Infinity', 'isNaN', 'isFinite', 'parseInt', 'parseFloat', 'arguments',
  'encodeURIComponent', 'decodeURIComponent', 'escape', 'unescape', 'eval', 'setTimeout', 'clearTimeout',
  'setInterval', 'clearInterval', 'console', 'print', 'atob', 'btoa', 'InternalError',
]); // prettier-ignore

/** An empty lookup table without inherited keys (so "toString" or "constructor" are not found in it). */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Most arguments Espruino accepts in one call. */
const MAX_CALL_ARGS = 256;

interface AstNode {
  type: string;
  start: number;
  loc?: { start: { line: number; column: number } };
  [key: string]: unknown;
}

function isNode(v: unknown): v is AstNode {
  return typeof v === 'object' && v !== null && typeof (v as AstNode).type === 'string';
}

function children(node: AstNode, visit: (child: AstNode, key: string) => void): void {
  for (const key of Object.keys(node)) {
    if (key === 'loc' || key === 'type' || key === 'start' || key === 'end') continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const c of v) if (isNode(c)) visit(c, key);
    } else if (isNode(v)) {
      visit(v, key);
    }
  }
}

const FUNCTION_TYPES = ['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'];

/** Names bound by a pattern (identifier or destructuring). */
function patternNames(p: unknown, out: string[]): void {
  if (!isNode(p)) return;
  if (p.type === 'Identifier') out.push(p.name as string);
  else if (p.type === 'ObjectPattern') {
    for (const prop of p.properties as AstNode[])
      patternNames(prop.type === 'RestElement' ? prop.argument : prop.value, out);
  } else if (p.type === 'ArrayPattern') for (const e of p.elements as unknown[]) patternNames(e, out);
  else if (p.type === 'RestElement') patternNames(p.argument, out);
  else if (p.type === 'AssignmentPattern') patternNames(p.left, out);
}

/** Is this Identifier (child `key` of `parent`) a reference to a variable (not a key, label or binding)? */
function isReference(parent: AstNode | null, key: string): boolean {
  if (parent === null) return true;
  switch (parent.type) {
    case 'MemberExpression':
      return key !== 'property' || parent.computed === true;
    case 'Property':
    case 'MethodDefinition':
    case 'PropertyDefinition':
      return key !== 'key' || parent.computed === true;
    case 'LabeledStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
      return false;
    case 'VariableDeclarator':
      return key !== 'id';
    case 'FunctionDeclaration':
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
      return key !== 'id' && key !== 'params';
    case 'ClassDeclaration':
    case 'ClassExpression':
      return key !== 'id';
    case 'CatchClause':
      return key !== 'param';
    case 'MetaProperty':
    case 'ImportSpecifier':
    case 'ImportDefaultSpecifier':
    case 'ImportNamespaceSpecifier':
    case 'ExportSpecifier':
      return false;
    default:
      return true;
  }
}

/** Identifier references inside `node`, not descending into nested functions when `shallow`. */
function references(node: AstNode, shallow: boolean, out: AstNode[]): void {
  const walk = (n: AstNode, parent: AstNode | null, key: string): void => {
    if (n.type === 'Identifier') {
      if (isReference(parent, key)) out.push(n);
      return;
    }
    if (shallow && parent !== null && FUNCTION_TYPES.indexOf(n.type) >= 0) return;
    if (shallow && parent !== null && (n.type === 'ClassDeclaration' || n.type === 'ClassExpression')) return;
    children(n, (c, k) => walk(c, n, k));
  };
  walk(node, null, '');
}

function containsFunctionUsing(body: AstNode, names: string[]): boolean {
  let found = false;
  const walk = (n: AstNode): void => {
    if (found) return;
    if (
      FUNCTION_TYPES.indexOf(n.type) >= 0 ||
      n.type === 'ClassExpression' ||
      n.type === 'ClassDeclaration'
    ) {
      const refs: AstNode[] = [];
      references(n, false, refs);
      if (refs.some((r) => names.indexOf(r.name as string) >= 0)) found = true;
      return;
    }
    children(n, walk);
  };
  walk(body);
  return found;
}

/**
 * Check `code` against the Espruino language subset. Returns every violation found (empty = passes),
 * or one "parse-error" violation when the code does not parse.
 */
export function checkEspruinoSubset(code: string, options?: GateOptions): GateViolation[] {
  const out: GateViolation[] = [];
  let program: AstNode;
  try {
    program = parse(code, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      locations: true,
    }) as unknown as AstNode;
  } catch (scriptError) {
    try {
      program = parse(code, {
        ecmaVersion: 'latest',
        sourceType: 'module',
        locations: true,
      }) as unknown as AstNode;
    } catch {
      const e = scriptError as { message?: string; loc?: { line: number; column: number } };
      return [
        {
          rule: 'parse-error',
          message: String(e.message),
          line: e.loc ? e.loc.line : 1,
          column: e.loc ? e.loc.column + 1 : 1,
        },
      ];
    }
  }

  const report = (node: AstNode, rule: string, message: string): void => {
    const loc = node.loc ? node.loc.start : { line: 1, column: 0 };
    out.push({ rule, message, line: loc.line, column: loc.column + 1 });
  };

  // Pass 1: every name the program declares anywhere (a declared Map is not the global Map), and classes.
  const declared = dict<true>();
  const classes = dict<{ superName: string | null; statics: string[] }>();
  const collect = (n: AstNode): void => {
    const names: string[] = [];
    if (n.type === 'VariableDeclarator') patternNames(n.id, names);
    if (FUNCTION_TYPES.indexOf(n.type) >= 0) {
      if (n.type === 'FunctionDeclaration') patternNames(n.id, names);
      for (const p of n.params as unknown[]) patternNames(p, names);
    }
    if (n.type === 'CatchClause') patternNames(n.param, names);
    if (n.type === 'ClassDeclaration' || n.type === 'ClassExpression') {
      if (n.type === 'ClassDeclaration') patternNames(n.id, names);
      const id = n.id as AstNode | null;
      if (id) {
        const statics: string[] = [];
        const body = (n.body as AstNode).body as AstNode[];
        for (const m of body) {
          const key = m.key as AstNode | undefined;
          if (m.static === true && key && key.type === 'Identifier' && m.computed !== true)
            statics.push(key.name as string);
        }
        const sup = n.superClass as AstNode | null;
        classes[id.name as string] = {
          superName: sup && sup.type === 'Identifier' ? (sup.name as string) : null,
          statics,
        };
      }
    }
    if (
      n.type === 'ImportSpecifier' ||
      n.type === 'ImportDefaultSpecifier' ||
      n.type === 'ImportNamespaceSpecifier'
    ) {
      patternNames(n.local, names);
    }
    for (const name of names) declared[name] = true;
    children(n, collect);
  };
  collect(program);
  const allowed: Record<string, true> | null = options && options.allowedGlobals ? dict<true>() : null;
  if (allowed !== null) {
    for (const g of LANGUAGE_GLOBALS) allowed[g] = true;
    for (const g of (options as GateOptions).allowedGlobals as string[]) allowed[g] = true;
  }
  const isGlobal = (n: unknown, name?: string): boolean =>
    isNode(n) &&
    n.type === 'Identifier' &&
    declared[n.name as string] !== true &&
    (name === undefined || n.name === name);
  const inheritedStatic = (cls: string, member: string): boolean => {
    const c = classes[cls];
    if (!c || c.statics.indexOf(member) >= 0) return false;
    let sup = c.superName;
    for (let depth = 0; sup !== null && depth < 32; depth++) {
      const s = classes[sup];
      if (!s) return false;
      if (s.statics.indexOf(member) >= 0) return true;
      sup = s.superName;
    }
    return false;
  };

  // Pass 2: the rules.
  const visit = (n: AstNode, parent: AstNode | null, key: string): void => {
    switch (n.type) {
      case 'ObjectPattern':
      case 'ArrayPattern':
        report(n, 'destructuring', 'destructuring is not supported');
        break;
      case 'SpreadElement':
        report(n, 'spread', 'spread (...) is not supported');
        break;
      case 'RestElement':
        report(n, 'rest', 'rest elements/parameters (...) are not supported');
        break;
      case 'AssignmentPattern':
        report(n, 'default-parameter', 'default values (parameters or destructuring) are not supported');
        break;
      case 'ChainExpression':
        report(n, 'optional-chaining', 'optional chaining (?.) is not supported');
        break;
      case 'BinaryExpression':
      case 'AssignmentExpression':
        if (n.operator === '**' || n.operator === '**=')
          report(n, 'exponent', 'the ** operator is not supported');
        break;
      case 'LabeledStatement':
        report(n, 'labelled-statement', 'labelled statements (labelled break/continue) are not supported');
        break;
      case 'TaggedTemplateExpression':
        report(n, 'tagged-template', 'tagged templates are not supported');
        break;
      case 'YieldExpression':
        report(n, 'generator', 'yield (generators) is not supported');
        break;
      case 'AwaitExpression':
        report(n, 'async', 'await is not supported');
        break;
      case 'Literal':
        if (typeof n.bigint === 'string') report(n, 'bigint', 'BigInt literals are not supported');
        break;
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        if (n.computed === true) report(n, 'computed-key', 'computed keys ({[k]: v}) are not supported');
        break;
      case 'CallExpression':
      case 'NewExpression':
        if ((n.arguments as unknown[]).length > MAX_CALL_ARGS) {
          report(n, 'too-many-arguments', 'more than ' + MAX_CALL_ARGS + ' arguments in one call');
        }
        break;
      case 'ForOfStatement':
        if (n.await === true) report(n, 'async', 'for await is not supported');
        if (isNode(n.left) && n.left.type === 'VariableDeclaration') {
          const d = (n.left.declarations as AstNode[])[0];
          if (d && isNode(d.id) && d.id.type !== 'Identifier') {
            report(n, 'for-of-destructuring', 'for..of with destructuring is not supported');
          }
        } else if (isNode(n.left) && n.left.type !== 'Identifier' && n.left.type !== 'MemberExpression') {
          report(n, 'for-of-destructuring', 'for..of with destructuring is not supported');
        }
        break;
      case 'ClassDeclaration':
      case 'ClassExpression':
        if (
          isNode(n.superClass) &&
          n.superClass.type === 'Identifier' &&
          BUILTINS.indexOf(n.superClass.name as string) >= 0
        ) {
          if (isGlobal(n.superClass))
            report(n, 'extends-builtin', 'class extends ' + n.superClass.name + ' is not supported');
        }
        break;
      case 'MemberExpression': {
        const obj = n.object as AstNode;
        const prop = n.property as AstNode;
        const name = n.computed !== true && prop.type === 'Identifier' ? (prop.name as string) : null;
        if (name !== null) {
          if (FORBIDDEN_ANY_MEMBER[name] !== undefined)
            report(n, 'forbidden-member', '.' + name + ': ' + FORBIDDEN_ANY_MEMBER[name]);
          if (obj.type === 'Identifier' && isGlobal(obj)) {
            const list = FORBIDDEN_MEMBERS[obj.name as string];
            if (list && list.indexOf(name) >= 0)
              report(n, 'forbidden-member', obj.name + '.' + name + ' is absent');
            if (name === 'prototype' && BUILTINS.indexOf(obj.name as string) >= 0) {
              report(n, 'builtin-prototype', obj.name + '.prototype is undefined for built-ins on Espruino');
            }
          }
          if (obj.type === 'Identifier' && inheritedStatic(obj.name as string, name)) {
            report(
              n,
              'inherited-static',
              obj.name + '.' + name + ' is a static method inherited from a superclass',
            );
          }
        }
        break;
      }
      case 'Identifier':
        if (isReference(parent, key) && isGlobal(n)) {
          const name = n.name as string;
          if (FORBIDDEN_GLOBALS.indexOf(name) >= 0) report(n, 'forbidden-global', name + ' is absent');
          else if (allowed !== null && allowed[name] !== true)
            report(n, 'unknown-global', name + ' is not an allowed global');
        }
        break;
      default:
        break;
    }
    if (FUNCTION_TYPES.indexOf(n.type) >= 0) {
      if (n.generator === true) report(n, 'generator', 'generator functions are not supported');
      if (n.async === true) report(n, 'async', 'async functions are not supported');
    }
    if (n.type === 'ForStatement' || n.type === 'ForInStatement' || n.type === 'ForOfStatement') {
      const head = (n.type === 'ForStatement' ? n.init : n.left) as AstNode | null;
      if (head && head.type === 'VariableDeclaration' && head.kind !== 'var') {
        const names: string[] = [];
        for (const d of head.declarations as AstNode[]) patternNames(d.id, names);
        if (containsFunctionUsing(n.body as AstNode, names)) {
          report(
            n,
            'loop-closure',
            head.kind + ' in a for head captured by a closure: Espruino has no per-iteration binding',
          );
        }
      }
    }
    if (n.type === 'Program' || n.type === 'BlockStatement' || n.type === 'StaticBlock') {
      checkHoisting(n.body as AstNode[], report);
    }
    children(n, (c, k) => visit(c, n, k));
  };
  visit(program, null, '');
  out.sort((a, b) => a.line - b.line || a.column - b.column);
  return out;
}

/**
 * A function declared in a statement list must not be used by an earlier statement of that list,
 * directly or through another function of the list that the earlier statement calls.
 */
function checkHoisting(body: AstNode[], report: (n: AstNode, rule: string, message: string) => void): void {
  const position = dict<number>();
  const decls = dict<AstNode>();
  for (let i = 0; i < body.length; i++) {
    const s = body[i] as AstNode;
    if (s.type === 'FunctionDeclaration' && isNode(s.id)) {
      position[s.id.name as string] = i;
      decls[s.id.name as string] = s;
    }
  }
  if (Object.keys(position).length === 0) return;
  // Functions of this list each function's body uses (deep, transitively).
  const uses = dict<string[]>();
  const direct = (name: string): string[] => {
    const refs: AstNode[] = [];
    references((decls[name] as AstNode).body as AstNode, false, refs);
    const names: string[] = [];
    for (const r of refs)
      if (position[r.name as string] !== undefined && names.indexOf(r.name as string) < 0)
        names.push(r.name as string);
    return names;
  };
  const closure = (name: string): string[] => {
    const cached = uses[name];
    if (cached) return cached;
    const seen: string[] = [name];
    for (let k = 0; k < seen.length; k++) {
      for (const m of direct(seen[k] as string)) if (seen.indexOf(m) < 0) seen.push(m);
    }
    uses[name] = seen;
    return seen;
  };
  for (let i = 0; i < body.length; i++) {
    const s = body[i] as AstNode;
    if (s.type === 'FunctionDeclaration') continue; // its body runs later
    const refs: AstNode[] = [];
    references(s, true, refs);
    for (const r of refs) {
      const name = r.name as string;
      if (position[name] === undefined) continue;
      const reached = closure(name);
      for (const f of reached) {
        if ((position[f] as number) > i) {
          report(
            r,
            'hoisting',
            'function ' +
              f +
              (f === name ? '' : ' (via ' + name + ')') +
              ' used before its declaration (no hoisting on Espruino)',
          );
          break;
        }
      }
    }
  }
}
