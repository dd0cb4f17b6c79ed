/**
 * Source instrumentation of the built bundle before it runs in the simulator (the bundle file itself is
 * never changed). Three rewrites, all by text insertion at acorn node offsets:
 *
 * 1. Cost counting. Before every statement the simulator adds that statement's own cost to `__$k.c` and
 *    calls `__$k.x()` when it passes `__$k.l` (used to interrupt a job: out of memory, a hung handler).
 *    The cost follows how Espruino runs source text (README.md, "Cost units"): each statement's own
 *    features (tokens and characters lexed, nodes evaluated, name lookups with the scope variables and
 *    properties compared on the way, calls, allocations: CostAnalysis below) weighted by the model's
 *    coefficients (loop.ts). Text the interpreter reads without running it is charged too: a branch not
 *    taken (skipped if braced, parsed if not: the `else` of an `if` without one is added to charge it),
 *    the rest of a function after `return` and of a loop body after `break`/`continue`, a function's body
 *    when it is defined, the operand of `&&`, `||`, `?:` that does not run (running it adds the difference:
 *    `(__$k.c+=d,operand)`). Loop bodies also carry the loop's test and update; entering a JS function
 *    charges the call and its parameters; expression-bodied arrows carry their body.
 * 2. `Builtin.prototype.name` in read position becomes `(void 0)`: on Espruino `X.prototype.method` is
 *    undefined for built-ins (`Array.prototype.slice.call` fails there, so it must fail here too).
 * 3. No function hoisting (Espruino has none: "define before use"): `function f(){}` becomes
 *    `var f = function f(){};` at its place, so calling it before that statement ran fails as on the device.
 * 4. `let` in a `for` head gets ONE binding for the whole loop, as on Espruino (closures created in the
 *    body see the last value): `for (let i = 0; c; u) b` runs as `{let i = 0; for (; c; u) b}` and
 *    `for (let x of a) b` as `{let x; for (x of a) b}`.
 * 5. Scope exposure for memory accounting: every function that creates closures declares `__$gN`, a
 *    function returning its variables (N: its nesting level among such functions); each closure it
 *    creates is passed through `__$k.t(fn, __$gN)` so the JsVar walker can count the scope a closure
 *    keeps alive (Espruino keeps the whole scope), and `__$k.p(__$gN, __$gM)` links it to the enclosing
 *    function's getter (Espruino keeps the whole scope chain). The module scope of an IIFE bundle is
 *    also registered with `__$k.scope(__$g1)`. Methods and accessors cannot be wrapped where they
 *    stand: object literals holding them become `__$k.m(obj, __$gN, keys)` and classes defined in such
 *    a function are tagged with `__$k.k(Class, __$gN, protoKeys, staticKeys)` (computed / private keys
 *    are not). The getter's own object is `__$o`, so program variables called `o` are read. An arrow function whose
 *    body uses `this` is tagged `__$k.t(fn, __$gN | void 0, ()=>this)`: Espruino stores the `this` such an
 *    arrow was created with in the function (jspeArrowFunction), so whatever `this` holds stays alive.
 */
import * as acorn from 'acorn';
import { costModel, JS_FEATURES, type CostModel, type JsFeature } from './loop';

type AnyNode = acorn.Node & Record<string, unknown>;

/** Built-in constructors whose prototype members Espruino does not expose. */
const BUILTINS = new Set([
  'Array',
  'Object',
  'String',
  'Number',
  'Boolean',
  'Function',
  'Date',
  'RegExp',
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'InternalError',
  'Promise',
  'ArrayBuffer',
  'DataView',
  'Uint8Array',
  'Int8Array',
  'Uint8ClampedArray',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'JSON',
  'Math',
]);

const STATEMENT_LIST_KEYS = new Set(['body', 'consequent']);

export interface InstrumentResult {
  code: string;
  /** Statements instrumented (for diagnostics). */
  statements: number;
  /** `X.prototype.y` reads rewritten to undefined. */
  prototypeReads: number;
  /** Whether the module scope of an IIFE bundle was exposed. */
  scopeExposed: boolean;
  /** Function declarations turned into assignments at their place (no hoisting). */
  unhoisted: number;
  /** `for (let ...)` loops given a single binding. */
  loopLets: number;
  /** Closures tagged with their enclosing scope's getter (for the JsVar walk). */
  tagged: number;
}

/** A cost as the counters' text: non-negative, plain decimal (memory.ts's `uninstrumented` reads it). */
function units(u: number): string {
  if (!(u > 0)) return '0';
  const t = u.toFixed(3).replace(/\.?0+$/, '');
  return t === '' ? '0' : t;
}

function isNode(v: unknown): v is AnyNode {
  return v !== null && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string';
}

function isStatement(n: AnyNode): boolean {
  return (
    (n.type.endsWith('Statement') && n.type !== 'ExpressionStatement') ||
    n.type === 'ExpressionStatement' ||
    n.type === 'VariableDeclaration' ||
    n.type === 'FunctionDeclaration' ||
    n.type === 'ClassDeclaration'
  );
}

function isFunction(n: AnyNode): boolean {
  return (
    n.type === 'FunctionExpression' ||
    n.type === 'FunctionDeclaration' ||
    n.type === 'ArrowFunctionExpression'
  );
}

function children(n: AnyNode): AnyNode[] {
  const out: AnyNode[] = [];
  for (const k of Object.keys(n)) {
    if (k === 'type' || k === 'start' || k === 'end' || k === 'loc' || k === 'range') continue;
    const v = n[k];
    if (Array.isArray(v)) {
      for (const x of v) if (isNode(x)) out.push(x);
    } else if (isNode(v)) out.push(v);
  }
  return out;
}

/** Does `fn`'s body create functions (closures over its scope)? Deeper functions' insides excluded. */
function createsClosures(fn: AnyNode): boolean {
  const scan = (n: AnyNode): boolean => {
    for (const c of children(n)) {
      if (isFunction(c) || c.type === 'ClassExpression' || c.type === 'ClassDeclaration') return true;
      if (scan(c)) return true;
    }
    return false;
  };
  return isNode(fn.body) && scan(fn.body);
}

/** Static key names of methods / accessors (computed and private keys are left out). */
function methodKeys(defs: AnyNode[]): string[] {
  const keys = new Set<string>();
  for (const d of defs) {
    const k = d.key as AnyNode;
    if (d.computed || !isNode(k)) continue;
    if (k.type === 'Identifier') keys.add(k.name as string);
    else if (k.type === 'Literal') keys.add(String(k.value));
  }
  return [...keys];
}

/** Appended to an arrow's tag: a thunk returning the `this` the arrow captured. */
export const THIS_THUNK = ',()=>this';

/** Does the `this` keyword occur anywhere in this arrow function's body? Espruino decides as the
 * lexer skips the body (`lex->hadThisKeyword`), so a `this` inside a nested function counts too. */
function usesLexicalThis(arrow: AnyNode): boolean {
  const scan = (n: AnyNode): boolean => {
    if (n.type === 'ThisExpression') return true;
    for (const c of children(n)) if (scan(c)) return true;
    return false;
  };
  return isNode(arrow.body) && scan(arrow.body);
}

/** Each name a binding pattern (`a`, `{ a, b: [c] }`, `...d`, `e = 1`) declares. */
function bindingNames(p: AnyNode | null | undefined, add: (name: string) => void): void {
  if (!isNode(p)) return;
  if (p.type === 'Identifier') add(p.name as string);
  else if (p.type === 'ObjectPattern')
    for (const pr of p.properties as AnyNode[]) bindingNames((pr.value ?? pr.argument) as AnyNode, add);
  else if (p.type === 'ArrayPattern')
    for (const el of p.elements as (AnyNode | null)[]) bindingNames(el, add);
  else if (p.type === 'RestElement') bindingNames(p.argument as AnyNode, add);
  else if (p.type === 'AssignmentPattern') bindingNames(p.left as AnyNode, add);
}

/** Names a function scope holds: parameters, `var`s anywhere in the body (not in inner functions),
 * top-level function/class/let/const declarations. */
function scopeNames(fn: AnyNode): string[] {
  const names = new Set<string>();
  const addPattern = (p: AnyNode | null | undefined): void => bindingNames(p, (nm) => names.add(nm));
  for (const p of (fn.params as AnyNode[]) ?? []) addPattern(p);
  const body = fn.body as AnyNode;
  for (const nm of topLevelNames((body.body as AnyNode[]) ?? [])) names.add(nm);
  const vars = (n: AnyNode): void => {
    for (const c of children(n)) {
      if (isFunction(c) || c.type === 'ClassExpression' || c.type === 'ClassDeclaration') continue;
      if (c.type === 'VariableDeclaration' && c.kind === 'var')
        for (const d of c.declarations as AnyNode[]) addPattern(d.id as AnyNode);
      vars(c);
    }
  };
  vars(body);
  return [...names];
}

/** The scope getter of a function: `var __$gN=function(){...}`, N = how many getter-declaring
 * functions enclose it (itself included), so an inner function can name its parent's getter, and
 * `__$k.p(inner, outer)` records the scope chain (Espruino's function scope link holds every scope
 * of the chain: a closure created in a nested function keeps the outer function's scope alive too). */
function getterText(names: string[], name: string, parent: string | null): string {
  // `__$o`, not a short name: a program variable called `o` must not be shadowed by the getter's own.
  const getters = names.map((nm) => `try{__$o[${JSON.stringify(nm)}]=${nm}}catch(__$e){}`).join('');
  const link = parent === null ? '' : `__$k.p(${name},${parent});`;
  return `var ${name}=function(){var __$o={};${getters}return __$o};${link}`;
}

// ---------------------------------------------------------------------------------------------------
// Cost analysis (README.md, "Cost units (calibration)"): each statement's features, counted statically
// from the program text, weighted by the model's coefficients (loop.ts).

/** Feature counts, and `named`: units of built-ins the model prices by name (CostModel.names). */
type Features = Record<JsFeature | 'named', number>;

function zero(): Features {
  const f = { named: 0 } as Features;
  for (const k of JS_FEATURES) f[k] = 0;
  return f;
}

function addInto(a: Features, b: Features, k = 1): void {
  for (const f of JS_FEATURES) a[f] += b[f] * k;
  a.named += b.named * k;
}

/** Token tables of the program text: tokens and lexed characters in any range, in O(log n). */
class TokenTable {
  private readonly starts: number[] = [];
  private readonly cumChars: number[] = [0];
  constructor(source: string, pretokenised: boolean) {
    let chars = 0;
    for (const t of acorn.tokenizer(source, { ecmaVersion: 2022 })) {
      const label = t.type.label;
      const len = t.end - t.start;
      // What the lexer reads character by character: names (and keywords unless pretokenised),
      // numbers (pretokenised: small integers are one token), strings, regexps, templates.
      let c = 0;
      if (label === 'name' || label === 'privateId') c = len;
      else if (t.type.keyword !== undefined) c = pretokenised ? 0 : len;
      else if (label === 'num')
        c =
          pretokenised &&
          /^\d+$/.test(source.slice(t.start, t.end)) &&
          Number((t as acorn.Token & { value?: unknown }).value) <= 32767
            ? 0
            : len;
      else if (label === 'string' || label === 'regexp' || label === 'template') c = len;
      chars += c;
      this.starts.push(t.start);
      this.cumChars.push(chars);
    }
  }

  private index(pos: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Tokens starting in [a, b) and the characters the lexer reads one by one in them. */
  range(a: number, b: number): { tok: number; chars: number } {
    if (b <= a) return { tok: 0, chars: 0 };
    const i = this.index(a);
    const j = this.index(b);
    return { tok: j - i, chars: this.cumChars[j]! - this.cumChars[i]! };
  }
}

interface Scope {
  names: string[];
  parent: Scope | null;
}

/** Names Espruino keeps in the root scope besides the program's globals (timers, watches, modules...). */
const ROOT_HIDDEN = 8;

/**
 * Static estimates of name lookups: for each identifier reference, the scope variables compared before
 * it is found (Espruino's jspeiFindInScopes walks the scope chain, each scope's variables in order) and
 * whether it is a built-in (found in no scope); for each property name, the properties compared in the
 * class instance, prototype or object literal that defines it (average if several do), or undefined (a
 * built-in property: typed array methods, `length`, `Math.floor`...).
 */
class NameTables {
  readonly scan = new Map<AnyNode, number>();
  readonly globals = new Set<AnyNode>();
  private readonly props = new Map<string, { sum: number; n: number }>();

  constructor(ast: AnyNode) {
    this.collectProps(ast);
    const root: Scope = { names: [], parent: null };
    this.declareHoisted(ast, root, true);
    this.walk(ast, root, null, '');
  }

  /** Properties compared to find `name` (undefined: not defined by the program: a built-in). */
  propScan(name: string): number | undefined {
    const p = this.props.get(name);
    return p === undefined ? undefined : p.sum / p.n;
  }

  private addProp(name: string, scan: number): void {
    const p = this.props.get(name) ?? { sum: 0, n: 0 };
    p.sum += scan;
    p.n++;
    this.props.set(name, p);
  }

  private collectProps(n: AnyNode): void {
    if (n.type === 'ClassDeclaration' || n.type === 'ClassExpression') {
      const defs = (n.body as AnyNode).body as AnyNode[];
      const fields: string[] = [];
      const methods: string[] = [];
      for (const d of defs) {
        const k = d.key as AnyNode;
        const name = isNode(k) && !d.computed ? ((k.name as string) ?? String(k.value)) : null;
        if (name === null || d.static) continue;
        if (d.type === 'PropertyDefinition') fields.push(name);
        else if (d.type === 'MethodDefinition' && d.kind === 'constructor') {
          const scanThis = (x: AnyNode): void => {
            if (isFunction(x) && x.type !== 'ArrowFunctionExpression') return;
            if (
              x.type === 'AssignmentExpression' &&
              isNode(x.left) &&
              x.left.type === 'MemberExpression' &&
              !x.left.computed &&
              isNode(x.left.object) &&
              x.left.object.type === 'ThisExpression'
            ) {
              const nm = (x.left.property as AnyNode).name as string;
              if (!fields.includes(nm)) fields.push(nm);
            }
            for (const c of children(x)) scanThis(c);
          };
          scanThis((d.value as AnyNode).body as AnyNode);
        } else if (d.type === 'MethodDefinition') methods.push(name);
      }
      // An instance: __proto__ first, then its fields; a method: every own property, __proto__ again,
      // then the prototype (constructor first).
      fields.forEach((f, i) => this.addProp(f, i + 2));
      methods.forEach((m, j) => this.addProp(m, fields.length + 2 + j + 2));
    }
    if (n.type === 'ObjectExpression') {
      (n.properties as AnyNode[]).forEach((p, i) => {
        const k = p.key as AnyNode;
        if (p.type !== 'Property' || p.computed || !isNode(k)) return;
        this.addProp((k.name as string) ?? String(k.value), i + 1);
      });
    }
    for (const c of children(n)) this.collectProps(c);
  }

  /** `var` and function declarations of a function body (or the program), and its top-level let/const/class. */
  private declareHoisted(body: AnyNode, scope: Scope, top: boolean): void {
    const add = (nm: string): void => {
      if (!scope.names.includes(nm)) scope.names.push(nm);
    };
    const visitVars = (x: AnyNode, atTop: boolean): void => {
      if (x.type === 'VariableDeclaration' && (x.kind === 'var' || atTop))
        for (const d of x.declarations as AnyNode[]) bindingNames(d.id as AnyNode, add);
      if ((x.type === 'FunctionDeclaration' || (x.type === 'ClassDeclaration' && atTop)) && isNode(x.id))
        add(x.id.name as string);
      if (isFunction(x) || x.type === 'ClassExpression' || x.type === 'ClassDeclaration') return;
      for (const c of children(x)) visitVars(c, false);
    };
    for (const s of (body.body as AnyNode[]) ?? []) visitVars(s, top);
  }

  private blockScope(block: AnyNode[], parent: Scope): Scope | null {
    const names: string[] = [];
    for (const s of block)
      if (s.type === 'VariableDeclaration' && s.kind !== 'var')
        for (const d of s.declarations as AnyNode[]) bindingNames(d.id as AnyNode, (nm) => names.push(nm));
      else if (s.type === 'ClassDeclaration' && isNode(s.id)) names.push(s.id.name as string);
    return names.length > 0 ? { names, parent } : null;
  }

  private resolve(id: AnyNode, scope: Scope): void {
    const name = id.name as string;
    let scan = 0;
    for (let s: Scope | null = scope; s !== null; s = s.parent) {
      const i = s.names.indexOf(name);
      if (i >= 0) {
        this.scan.set(id, scan + i + 1);
        return;
      }
      scan += s.names.length + (s.parent === null ? ROOT_HIDDEN : 0);
    }
    this.scan.set(id, scan);
    this.globals.add(id);
  }

  private walk(n: AnyNode, scope: Scope, parent: AnyNode | null, key: string): void {
    if (n.type === 'Identifier') {
      const notRef =
        parent !== null &&
        (((parent.type === 'MemberExpression' || parent.type === 'PropertyDefinition') &&
          key === 'property' &&
          !parent.computed) ||
          ((parent.type === 'Property' || parent.type === 'MethodDefinition') &&
            key === 'key' &&
            !parent.computed) ||
          key === 'label' ||
          (isFunction(parent) && key === 'id') ||
          ((parent.type === 'ClassDeclaration' || parent.type === 'ClassExpression') && key === 'id'));
      if (!notRef) this.resolve(n, scope);
      return;
    }
    if (isFunction(n)) {
      const fs: Scope = { names: [], parent: scope };
      for (const p of (n.params as AnyNode[]) ?? []) bindingNames(p, (nm) => fs.names.push(nm));
      const body = n.body as AnyNode;
      if (body.type === 'BlockStatement') this.declareHoisted(body, fs, true);
      for (const p of (n.params as AnyNode[]) ?? []) this.walk(p, fs, n, 'params');
      if (body.type === 'BlockStatement')
        for (const s of body.body as AnyNode[]) this.walk(s, fs, body, 'body');
      else this.walk(body, fs, n, 'body');
      return;
    }
    let inner = scope;
    if (n.type === 'BlockStatement') inner = this.blockScope(n.body as AnyNode[], scope) ?? scope;
    if (
      n.type === 'ForStatement' &&
      isNode(n.init) &&
      n.init.type === 'VariableDeclaration' &&
      n.init.kind !== 'var'
    )
      inner = this.blockScope([n.init], scope) ?? scope;
    if (n.type === 'CatchClause' && isNode(n.param)) {
      const cs: Scope = { names: [], parent: scope };
      bindingNames(n.param, (nm) => cs.names.push(nm));
      inner = cs;
    }
    for (const k of Object.keys(n)) {
      if (k === 'type' || k === 'start' || k === 'end' || k === 'loc' || k === 'range') continue;
      const v = n[k];
      if (Array.isArray(v)) {
        for (const x of v) if (isNode(x)) this.walk(x, inner, n, k);
      } else if (isNode(v)) {
        // shorthand {a}: key and value are the same name, looked up once
        if (n.type === 'Property' && n.shorthand && k === 'key') continue;
        this.walk(v, inner, n, k);
      }
    }
  }
}

/** Blocks that get their own scope in Espruino when entered: a let/const/class directly inside. */
function hasBlockScope(block: AnyNode): boolean {
  return (
    block.type === 'BlockStatement' &&
    (block.body as AnyNode[]).some(
      (s) => (s.type === 'VariableDeclaration' && s.kind !== 'var') || s.type === 'ClassDeclaration',
    )
  );
}

/** Features of a program's statements, expressions and skipped text. */
class CostAnalysis {
  readonly text: TokenTable;
  readonly names: NameTables;

  constructor(
    source: string,
    ast: AnyNode,
    readonly model: CostModel,
  ) {
    this.text = new TokenTable(source, model.pretokenised);
    this.names = new NameTables(ast);
  }

  units(f: Features): number {
    let u = f.named;
    for (const k of JS_FEATURES) u += f[k] * this.model.js[k];
    return u > 0 ? u : 0;
  }

  /** Text [a, b) skipped without parsing (a block not run: Espruino's jspeSkipBlock). */
  skipRange(a: number, b: number, f: Features = zero()): Features {
    const r = this.text.range(a, b);
    f.skipTok += r.tok;
    f.skipChar += r.chars;
    return f;
  }

  /** A statement or expression that is parsed but not run: braced blocks in it are skipped. */
  notRun(n: AnyNode, f: Features = zero()): Features {
    if (n.type === 'BlockStatement' || n.type === 'ClassBody') return this.skipRange(n.start, n.end, f);
    let pos = n.start;
    const parts: [number, number][] = [];
    const find = (x: AnyNode): void => {
      for (const c of children(x)) {
        if (c.type === 'BlockStatement' || c.type === 'ClassBody') parts.push([c.start, c.end]);
        else find(c);
      }
    };
    find(n);
    parts.sort((a, b) => a[0] - b[0]);
    for (const [a, b] of parts) {
      const r = this.text.range(pos, a);
      f.parseTok += r.tok;
      f.parseChar += r.chars;
      this.skipRange(a, b, f);
      pos = b;
    }
    const r = this.text.range(pos, n.end);
    f.parseTok += r.tok;
    f.parseChar += r.chars;
    return f;
  }

  /**
   * What running `n` itself costs: its own tokens and nodes, stopping at nested statements (they count
   * when they run), function bodies (skipped: a definition), and the operands of `&&`, `||`, `?:` that
   * may not run (charged as parsed here; running one adds the difference: instrument()).
   */
  exec(n: AnyNode): Features {
    const f = zero();
    const cut: [number, number][] = [];
    const walk = (x: AnyNode, root: boolean): void => {
      if (!root && (isStatement(x) || x.type === 'SwitchCase' || x.type === 'CatchClause')) {
        cut.push([x.start, x.end]);
        return;
      }
      if (!root && isFunction(x)) {
        f.node++;
        f.fnDef++;
        cut.push([x.start, x.end]);
        const body = x.body as AnyNode;
        this.skipRange(x.start, body.start, f);
        if (body.type === 'BlockStatement') this.skipRange(body.start, body.end, f);
        else this.notRun(body, f);
        return;
      }
      if (x.type === 'ClassBody') {
        cut.push([x.start, x.end]);
        this.skipRange(x.start, x.end, f);
        for (const d of x.body as AnyNode[]) if (d.type === 'MethodDefinition') f.fnDef++;
        return;
      }
      if (x.type === 'ConditionalExpression') {
        f.node++;
        walk(x.test as AnyNode, false);
        for (const b of [x.consequent, x.alternate] as AnyNode[]) {
          cut.push([b.start, b.end]);
          this.notRun(b, f);
        }
        return;
      }
      if (x.type === 'LogicalExpression') {
        f.node++;
        walk(x.left as AnyNode, false);
        const r = x.right as AnyNode;
        cut.push([r.start, r.end]);
        this.notRun(r, f);
        return;
      }
      f.node++;
      if (x.type === 'Identifier') {
        const s = this.names.scan.get(x);
        if (s !== undefined) {
          f.lookup++;
          f.scan += s;
          if (this.names.globals.has(x)) {
            const named = this.model.names[x.name as string];
            if (named !== undefined) f.named += named;
            else f.global++;
          }
        }
      } else if (x.type === 'MemberExpression') {
        const p = x.property as AnyNode;
        if (x.computed) f.index++;
        else {
          f.member++;
          const s = this.names.propScan(p.name as string);
          const named = this.model.names[p.name as string];
          if (s !== undefined) f.scan += s;
          else if (named !== undefined) f.named += named;
          else f.builtin++;
        }
      } else if (x.type === 'ObjectExpression') f.alloc += 1 + (x.properties as AnyNode[]).length;
      else if (x.type === 'ArrayExpression') f.alloc += 1 + (x.elements as AnyNode[]).length;
      else if (x.type === 'TemplateLiteral') f.alloc++;
      else if (x.type === 'NewExpression') {
        // a program's class (a built-in constructor is the native's own cost: loop.ts natives)
        const c = x.callee as AnyNode;
        if (!(c.type === 'Identifier' && this.names.globals.has(c))) f.construct++;
      }
      for (const c of children(x)) walk(c, false);
    };
    walk(n, true);
    // a try's catch block is skipped when nothing is thrown
    if (n.type === 'TryStatement' && isNode(n.handler)) this.skipRange(n.handler.start, n.handler.end, f);
    if (isStatement(n) && n.type !== 'BlockStatement') f.stmt++;
    if (n.type === 'BlockStatement' && hasBlockScope(n)) f.blockScope++;
    // Own text: the node's tokens less the cut-out parts.
    let tok = 0;
    let chars = 0;
    let pos = n.start;
    cut.sort((a, b) => a[0] - b[0]);
    for (const [a, b] of cut) {
      if (a < pos) continue;
      const r = this.text.range(pos, a);
      tok += r.tok;
      chars += r.chars;
      pos = b;
    }
    const r = this.text.range(pos, n.end);
    tok += r.tok + 0;
    chars += r.chars;
    if (n.type === 'BlockStatement') {
      // only its braces: the statements in it count when they run
      tok = 2;
      chars = 0;
    }
    f.tok += tok;
    f.char += chars;
    return f;
  }
}

interface Insertion {
  pos: number;
  text: string;
  /** Closers sort before openers at the same offset; inner closers first, outer openers first. */
  kind: 0 | 1;
  depth: number;
}

export function instrument(source: string): InstrumentResult {
  const ast = acorn.parse(source, { ecmaVersion: 2022, sourceType: 'script' }) as unknown as AnyNode;
  const ins: Insertion[] = [];
  let statements = 0;
  let prototypeReads = 0;
  const cost = new CostAnalysis(source, ast, costModel());
  const model = cost.model;
  const counter = (w: number): string => `if((__$k.c+=${units(w)})>__$k.l)__$k.x();`;
  // The innermost function body's and loop body's last offsets: where `return`, `break` and `continue`
  // stop skipping.
  const fnEnds: number[] = [];
  const loopEnds: number[] = [];
  const stmtUnits = (s: AnyNode): number => {
    const f = cost.exec(s);
    const fnEnd = fnEnds[fnEnds.length - 1];
    const loopEnd = loopEnds[loopEnds.length - 1];
    if (s.type === 'ReturnStatement' && fnEnd !== undefined) cost.skipRange(s.end, fnEnd, f);
    if ((s.type === 'BreakStatement' || s.type === 'ContinueStatement') && loopEnd !== undefined)
      cost.skipRange(s.end, loopEnd, f);
    return cost.units(f);
  };
  /** Per iteration: the loop's test and update run again (and the body is sought back to). */
  const iteration = (n: AnyNode): number => {
    const f = zero();
    f.iteration = 1;
    if (n.type === 'ForStatement' || n.type === 'WhileStatement' || n.type === 'DoWhileStatement') {
      if (isNode(n.test)) addInto(f, cost.exec(n.test));
      if (isNode(n.update)) addInto(f, cost.exec(n.update));
    }
    return cost.units(f);
  };
  const loopBodyEnd = (body: AnyNode): number => (body.type === 'BlockStatement' ? body.end - 1 : body.end);

  const wrapStatement = (s: AnyNode, extra: number, depth: number): void => {
    // A statement in a single-statement position (if/loop body): wrap it in a block with its counter.
    if (s.type === 'BlockStatement') {
      const w = cost.units(cost.exec(s)) + extra;
      if (w > 0) ins.push({ pos: s.start + 1, text: counter(w), kind: 1, depth: depth + 1 });
      return;
    }
    statements++;
    ins.push({ pos: s.start, text: `{${counter(stmtUnits(s) + extra)}`, kind: 1, depth });
    ins.push({ pos: s.end, text: '}', kind: 0, depth });
  };
  /** `(__$k.c+=d,operand)`: an operand of `&&`, `||`, `?:` ran (it was charged as parsed only). */
  const whenRun = (op: AnyNode, depth: number): void => {
    const d = cost.units(cost.exec(op)) - cost.units(cost.notRun(op));
    if (!(d > 0.0005)) return;
    ins.push({ pos: op.start, text: `(__$k.c+=${units(d)},`, kind: 1, depth });
    ins.push({ pos: op.end, text: ')', kind: 0, depth });
  };
  const callUnits = (fn: AnyNode): number =>
    model.js.call + model.js.param * ((fn.params as AnyNode[]) ?? []).length;

  let unhoisted = 0;
  let loopLets = 0;
  let tagged = 0;
  // Functions in method position (object/class methods, accessors) cannot be wrapped in a call.
  const methodSlots = new Set<AnyNode>();
  const findMethods = (n: AnyNode): void => {
    if (n.type === 'Property' && (n.method || n.kind !== 'init') && isNode(n.value)) methodSlots.add(n.value);
    if (n.type === 'MethodDefinition' && isNode(n.value)) methodSlots.add(n.value);
    for (const c of children(n)) findMethods(c);
  };
  findMethods(ast);
  // The scope getter the nearest enclosing block-bodied function declares (null: none).
  const getterStack: (string | null)[] = [null];
  const outerGetter = (): string | null => {
    for (let i = getterStack.length - 1; i >= 0; i--) if (getterStack[i] !== null) return getterStack[i]!;
    return null;
  };
  let getterLevel = 0;
  const entry = (fn: AnyNode): void => {
    if (isFunction(fn) && isNode(fn.body) && fn.body.type === 'BlockStatement')
      ins.push({ pos: fn.body.start + 1, text: `__$k.c+=${units(callUnits(fn))};`, kind: 1, depth: -2 });
  };
  const deletions: [number, number][] = [];
  const iifeBody = findIifeBody(ast.body as AnyNode[]);
  const iifeFn = iifeBody === null ? null : findIifeFn(ast.body as AnyNode[]);
  let iifeGetter = '__$g1';
  const visit = (n: AnyNode, depth: number, writeTarget: boolean): void => {
    entry(n);
    if (
      n.type === 'ForStatement' &&
      isNode(n.init) &&
      n.init.type === 'VariableDeclaration' &&
      n.init.kind === 'let'
    ) {
      loopLets++;
      const init = n.init;
      // The block sits just outside the loop: inside any wrapper of the loop, around its body's insertions.
      ins.push({
        pos: n.start,
        text: `{${source.slice(init.start, init.end)};`,
        kind: 1,
        depth: depth - 0.25,
      });
      deletions.push([init.start, init.end]);
      ins.push({ pos: n.end, text: '}', kind: 0, depth: depth - 0.25 });
      if (isNode(n.test)) visit(n.test, depth + 1, false);
      if (isNode(n.update)) visit(n.update, depth + 1, false);
      if (isNode(n.body)) {
        wrapStatement(n.body, iteration(n), depth + 1);
        loopEnds.push(loopBodyEnd(n.body));
        try {
          visit(n.body, depth + 2, false);
        } finally {
          loopEnds.pop();
        }
      }
      return;
    }
    if (
      (n.type === 'ForOfStatement' || n.type === 'ForInStatement') &&
      isNode(n.left) &&
      n.left.type === 'VariableDeclaration' &&
      n.left.kind === 'let'
    ) {
      const decls = n.left.declarations as AnyNode[];
      const id =
        decls.length === 1 && isNode(decls[0]!.id) && decls[0]!.id.type === 'Identifier'
          ? decls[0]!.id
          : null;
      if (id !== null && !decls[0]!.init) {
        loopLets++;
        ins.push({ pos: n.start, text: `{let ${id.name as string};`, kind: 1, depth: depth - 0.25 });
        deletions.push([n.left.start, id.start]); // drop the 'let ' keyword
        ins.push({ pos: n.end, text: '}', kind: 0, depth: depth - 0.25 });
      }
    }
    if (isFunction(n)) {
      const g = methodSlots.has(n) ? null : getterStack[getterStack.length - 1]!;
      const tag = g !== null;
      // An arrow whose body uses `this` keeps the `this` it was created with alive (Espruino stores it in
      // the arrow function): a thunk `()=>this` lets the walk read it later (lazily: `this` may still be
      // in its TDZ in a derived constructor).
      const keepsThis = n.type === 'ArrowFunctionExpression' && usesLexicalThis(n);
      if (tag || keepsThis) tagged++;
      if (n.type === 'FunctionDeclaration' && isNode(n.id) && !n.async && !n.generator) {
        unhoisted++;
        const name = n.id.name as string;
        ins.push({ pos: n.start, text: tag ? `var ${name}=__$k.t(` : `var ${name}=`, kind: 1, depth: 1e8 });
        ins.push({ pos: n.end, text: tag ? `,${g});` : ';', kind: 0, depth: 1e8 });
      } else if (tag || keepsThis) {
        ins.push({ pos: n.start, text: ' __$k.t(', kind: 1, depth }); // space: may follow `return`
        ins.push({
          pos: n.end,
          text: `,${g ?? 'void 0'}${keepsThis ? THIS_THUNK : ''})`,
          kind: 0,
          depth,
        });
      }
      const block = isNode(n.body) && n.body.type === 'BlockStatement';
      if (block) {
        const own = createsClosures(n) || n === iifeFn;
        let name: string | null = null;
        if (own) {
          name = `__$g${++getterLevel}`;
          if (n === iifeFn) iifeGetter = name;
          ins.push({
            pos: (n.body as AnyNode).start + 1,
            text: getterText(scopeNames(n), name, outerGetter()),
            kind: 1,
            depth: -3,
          });
        }
        getterStack.push(name);
      }
      fnEnds.push(block ? (n.body as AnyNode).end - 1 : (n.body as AnyNode).end);
      const loops = loopEnds.splice(0);
      try {
        visitChildren(n, depth);
      } finally {
        fnEnds.pop();
        loopEnds.push(...loops);
        if (block && getterStack.pop() !== null) getterLevel--;
      }
      return;
    }
    // Methods and accessors cannot be wrapped in place: tag them through the object or class that
    // holds them (`__$k.m(obj, __$gN, keys)`, `__$k.k(Class, __$gN, protoKeys, staticKeys)`).
    const holder = getterStack[getterStack.length - 1]!;
    if (holder !== null && n.type === 'ObjectExpression') {
      const keys = methodKeys(
        (n.properties as AnyNode[]).filter(
          (p) => p.type === 'Property' && methodSlots.has(p.value as AnyNode),
        ),
      );
      if (keys.length > 0) {
        tagged += keys.length;
        ins.push({ pos: n.start, text: ' __$k.m(', kind: 1, depth });
        ins.push({ pos: n.end, text: `,${holder},${JSON.stringify(keys)})`, kind: 0, depth });
      }
    }
    if (holder !== null && (n.type === 'ClassExpression' || n.type === 'ClassDeclaration')) {
      const defs = ((n.body as AnyNode).body as AnyNode[]).filter(
        (d) => d.type === 'MethodDefinition' && d.kind !== 'constructor',
      );
      const proto = methodKeys(defs.filter((d) => !d.static));
      const stat = methodKeys(defs.filter((d) => d.static));
      const lists = `${JSON.stringify(proto)},${JSON.stringify(stat)}`;
      tagged += 1 + proto.length + stat.length;
      if (n.type === 'ClassExpression') {
        ins.push({ pos: n.start, text: ' __$k.k(', kind: 1, depth });
        ins.push({ pos: n.end, text: `,${holder},${lists})`, kind: 0, depth });
      } else if (isNode(n.id)) {
        ins.push({
          pos: n.end,
          text: `__$k.k(${n.id.name as string},${holder},${lists});`,
          kind: 0,
          depth: -1,
        });
      }
    }
    // Rewrite Builtin.prototype.x reads.
    if (
      n.type === 'MemberExpression' &&
      !writeTarget &&
      isNode(n.object) &&
      n.object.type === 'MemberExpression' &&
      !n.object.computed &&
      isNode(n.object.object) &&
      n.object.object.type === 'Identifier' &&
      BUILTINS.has(n.object.object.name as string) &&
      isNode(n.object.property) &&
      n.object.property.name === 'prototype'
    ) {
      prototypeReads++;
      ins.push({ pos: n.start, text: '(void 0/*', kind: 1, depth: 1e9 });
      ins.push({ pos: n.end, text: '*/)', kind: 0, depth: 1e9 });
      return; // nothing inside can run
    }
    if (n.type === 'LogicalExpression' && isNode(n.right)) whenRun(n.right, depth);
    if (n.type === 'ConditionalExpression' && isNode(n.consequent) && isNode(n.alternate)) {
      whenRun(n.consequent, depth);
      whenRun(n.alternate, depth);
    }
    visitChildren(n, depth);
  };
  const visitChildren = (n: AnyNode, depth: number): void => {
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (Array.isArray(v) && STATEMENT_LIST_KEYS.has(k)) {
        for (const s of v) {
          if (!isNode(s)) continue;
          if (isStatement(s) && !(s.type === 'ExpressionStatement' && typeof s.directive === 'string')) {
            statements++;
            ins.push({ pos: s.start, text: counter(stmtUnits(s)), kind: 1, depth: depth + 1 });
          }
          visit(s, depth + 1, false);
        }
        continue;
      }
      const single =
        ((n.type === 'IfStatement' && (k === 'consequent' || k === 'alternate')) ||
          (/(For|While|DoWhile|ForIn|ForOf|With)Statement$/.test(n.type) && k === 'body')) &&
        isNode(v);
      if (single) {
        let extra = 0;
        const loop = n.type !== 'IfStatement';
        if (loop) extra = iteration(n);
        else {
          // The branch not taken is read without running: skipped if braced, parsed if not.
          const other = (k === 'consequent' ? n.alternate : n.consequent) as AnyNode | null;
          if (isNode(other)) extra = cost.units(cost.notRun(other));
          else
            ins.push({
              pos: v.end,
              text: `else ${counter(cost.units(cost.notRun(v)))}`,
              kind: 0,
              depth: depth + 0.5,
            });
        }
        wrapStatement(v, extra, depth + 1);
        if (loop) loopEnds.push(loopBodyEnd(v));
        try {
          visit(v, depth + 2, false);
        } finally {
          if (loop) loopEnds.pop();
        }
        continue;
      }
      if (n.type === 'ArrowFunctionExpression' && k === 'body' && isNode(v) && v.type !== 'BlockStatement') {
        ins.push({
          pos: v.start,
          text: `(__$k.c+=${units(cost.units(cost.exec(v)) + callUnits(n))},`,
          kind: 1,
          depth: depth + 1,
        });
        ins.push({ pos: v.end, text: ')', kind: 0, depth: depth + 1 });
        visit(v, depth + 2, false);
        continue;
      }
      const lhs =
        (n.type === 'AssignmentExpression' && k === 'left') ||
        (n.type === 'UpdateExpression' && k === 'argument') ||
        (n.type === 'UnaryExpression' && n.operator === 'delete' && k === 'argument');
      if (Array.isArray(v)) {
        for (const x of v) if (isNode(x)) visit(x, depth + 1, false);
      } else if (isNode(v)) visit(v, depth + 1, lhs);
    }
  };
  visit(ast, 0, false);

  // Module scope exposure for an IIFE bundle: `(() => { ... })();` or `(function(){ ... })();`
  let scopeExposed = false;
  if (iifeBody !== null) {
    ins.push({ pos: iifeBody.start + 1, text: `__$k.scope(${iifeGetter});`, kind: 1, depth: -1 });
    scopeExposed = true;
  }

  ins.sort(
    (a, b) => a.pos - b.pos || a.kind - b.kind || (a.kind === 0 ? b.depth - a.depth : a.depth - b.depth),
  );
  deletions.sort((a, b) => a[0] - b[0]);
  const deleted = (pos: number): boolean => deletions.some(([a, b]) => pos > a && pos < b);
  // Copy the source, leaving out deleted ranges (and insertions strictly inside them).
  const copy = (from: number, to: number): string => {
    let r = '';
    let p = from;
    for (const [a, b] of deletions) {
      if (b <= p || a >= to) continue;
      r += source.slice(p, Math.max(p, a));
      p = Math.min(to, b);
    }
    return r + source.slice(p, to);
  };
  let out = '';
  let last = 0;
  for (const i of ins) {
    if (deleted(i.pos)) continue;
    out += copy(last, i.pos) + i.text;
    last = i.pos;
  }
  out += copy(last, source.length);
  return { code: out, statements, prototypeReads, scopeExposed, unhoisted, loopLets, tagged };
}

function findIifeBody(body: AnyNode[]): AnyNode | null {
  const fn = findIifeFn(body);
  return fn === null ? null : (fn.body as AnyNode);
}

function findIifeFn(body: AnyNode[]): AnyNode | null {
  const stmts = body.filter((s) => !(s.type === 'ExpressionStatement' && typeof s.directive === 'string'));
  if (stmts.length !== 1) return null;
  const s = stmts[0]!;
  if (s.type !== 'ExpressionStatement' || !isNode(s.expression)) return null;
  let e: AnyNode = s.expression;
  if (e.type === 'UnaryExpression' && isNode(e.argument)) e = e.argument; // !function(){}()
  if (e.type !== 'CallExpression' || !isNode(e.callee)) return null;
  let callee: AnyNode = e.callee;
  if (callee.type === 'MemberExpression' && isNode(callee.object)) callee = callee.object; // (function(){}).call(this)
  if (!isFunction(callee) || !isNode(callee.body) || callee.body.type !== 'BlockStatement') return null;
  return callee;
}

function topLevelNames(stmts: AnyNode[]): string[] {
  const names: string[] = [];
  const addPattern = (p: AnyNode | null | undefined): void => bindingNames(p, (nm) => names.push(nm));
  for (const s of stmts) {
    if (s.type === 'VariableDeclaration')
      for (const d of s.declarations as AnyNode[]) addPattern(d.id as AnyNode);
    else if ((s.type === 'FunctionDeclaration' || s.type === 'ClassDeclaration') && isNode(s.id))
      names.push(s.id.name as string);
  }
  return names;
}
