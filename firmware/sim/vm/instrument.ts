/**
 * Source instrumentation of the built bundle before it runs in the simulator (the bundle file itself is
 * never changed). Three rewrites, all by text insertion at acorn node offsets:
 *
 * 1. Cost counting. Before every statement the simulator adds that statement's own cost to `__$k.c` and
 *    calls `__$k.x()` when it passes `__$k.l` (used to interrupt a job: out of memory, a hung handler).
 *    The cost follows how Espruino runs source text (README.md, "Cost units"): each statement's own
 *    features (tokens and characters lexed, nodes evaluated, name lookups with the scope variables and
 *    properties compared on the way, calls, allocations: cost-analysis.ts) weighted by the model's
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
 *
 * This file walks the program and places the rewrites (class Rewriter: one method per kind of node it
 * rewrites); what a statement costs is cost-analysis.ts's, the node helpers are ast.ts's.
 */
import * as acorn from 'acorn';
import { addInto, CostAnalysis, zero } from './cost-analysis';
import { costModel, type CostModel } from './loop';
import {
  children,
  createsClosures,
  findIifeFn,
  isFunction,
  isNode,
  isStatement,
  methodKeys,
  scopeNames,
  usesLexicalThis,
  type AnyNode,
} from './ast';

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

/** Appended to an arrow's tag: a thunk returning the `this` the arrow captured. */
export const THIS_THUNK = ',()=>this';

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

interface Insertion {
  pos: number;
  text: string;
  /** Closers sort before openers at the same offset; inner closers first, outer openers first. */
  kind: 0 | 1;
  depth: number;
}

export function instrument(source: string): InstrumentResult {
  const ast = acorn.parse(source, { ecmaVersion: 2022, sourceType: 'script' }) as unknown as AnyNode;
  return new Rewriter(source, ast).run();
}

/** `for (let ...; ...; ...)`: the loop that gets a single binding for all iterations. */
function isForLet(n: AnyNode): boolean {
  return (
    n.type === 'ForStatement' &&
    isNode(n.init) &&
    n.init.type === 'VariableDeclaration' &&
    n.init.kind === 'let'
  );
}

/** `Builtin.prototype.x`: undefined on Espruino. */
function isBuiltinPrototypeMember(n: AnyNode): boolean {
  return (
    n.type === 'MemberExpression' &&
    isNode(n.object) &&
    n.object.type === 'MemberExpression' &&
    !n.object.computed &&
    isNode(n.object.object) &&
    n.object.object.type === 'Identifier' &&
    BUILTINS.has(n.object.object.name as string) &&
    isNode(n.object.property) &&
    n.object.property.name === 'prototype'
  );
}

/** Where skipping stops in a loop body (`break`, `continue`): before its closing brace. */
function loopBodyEnd(body: AnyNode): number {
  return body.type === 'BlockStatement' ? body.end - 1 : body.end;
}

/** One walk of a program, collecting the insertions (and the few deletions) of every rewrite. */
class Rewriter {
  private readonly ins: Insertion[] = [];
  private readonly deletions: [number, number][] = [];
  private readonly cost: CostAnalysis;
  private readonly model: CostModel;
  private statements = 0;
  private prototypeReads = 0;
  private unhoisted = 0;
  private loopLets = 0;
  private tagged = 0;
  // The innermost function body's and loop body's last offsets: where `return`, `break` and `continue`
  // stop skipping.
  private readonly fnEnds: number[] = [];
  private readonly loopEnds: number[] = [];
  /** Functions in method position (object/class methods, accessors) cannot be wrapped in a call. */
  private readonly methodSlots = new Set<AnyNode>();
  /** The scope getter the nearest enclosing block-bodied function declares (null: none). */
  private readonly getterStack: (string | null)[] = [null];
  private getterLevel = 0;
  private readonly iifeBody: AnyNode | null;
  private readonly iifeFn: AnyNode | null;
  private iifeGetter = '__$g1';

  constructor(
    private readonly source: string,
    private readonly ast: AnyNode,
  ) {
    this.cost = new CostAnalysis(source, ast, costModel());
    this.model = this.cost.model;
    this.findMethods(ast);
    this.iifeFn = findIifeFn(ast.body as AnyNode[]);
    this.iifeBody = this.iifeFn === null ? null : (this.iifeFn.body as AnyNode);
  }

  run(): InstrumentResult {
    this.visit(this.ast, 0, false);
    // Module scope exposure for an IIFE bundle: `(() => { ... })();` or `(function(){ ... })();`
    let scopeExposed = false;
    if (this.iifeBody !== null) {
      this.ins.push({
        pos: this.iifeBody.start + 1,
        text: `__$k.scope(${this.iifeGetter});`,
        kind: 1,
        depth: -1,
      });
      scopeExposed = true;
    }
    return {
      code: applyEdits(this.source, this.ins, this.deletions),
      statements: this.statements,
      prototypeReads: this.prototypeReads,
      scopeExposed,
      unhoisted: this.unhoisted,
      loopLets: this.loopLets,
      tagged: this.tagged,
    };
  }

  private findMethods(n: AnyNode): void {
    if (n.type === 'Property' && (n.method || n.kind !== 'init') && isNode(n.value))
      this.methodSlots.add(n.value);
    if (n.type === 'MethodDefinition' && isNode(n.value)) this.methodSlots.add(n.value);
    for (const c of children(n)) this.findMethods(c);
  }

  // ------------------------------------------------------------------------------ cost counters

  private counter(w: number): string {
    return `if((__$k.c+=${units(w)})>__$k.l)__$k.x();`;
  }

  private stmtUnits(s: AnyNode): number {
    const f = this.cost.exec(s);
    const fnEnd = this.fnEnds[this.fnEnds.length - 1];
    const loopEnd = this.loopEnds[this.loopEnds.length - 1];
    if (s.type === 'ReturnStatement' && fnEnd !== undefined) this.cost.skipRange(s.end, fnEnd, f);
    if ((s.type === 'BreakStatement' || s.type === 'ContinueStatement') && loopEnd !== undefined)
      this.cost.skipRange(s.end, loopEnd, f);
    return this.cost.units(f);
  }

  /** Per iteration: the loop's test and update run again (and the body is sought back to). */
  private iteration(n: AnyNode): number {
    const f = zero();
    f.iteration = 1;
    if (n.type === 'ForStatement' || n.type === 'WhileStatement' || n.type === 'DoWhileStatement') {
      if (isNode(n.test)) addInto(f, this.cost.exec(n.test));
      if (isNode(n.update)) addInto(f, this.cost.exec(n.update));
    }
    return this.cost.units(f);
  }

  private callUnits(fn: AnyNode): number {
    return this.model.js.call + this.model.js.param * ((fn.params as AnyNode[]) ?? []).length;
  }

  /** A statement in a single-statement position (if/loop body): wrapped in a block with its counter. */
  private wrapStatement(s: AnyNode, extra: number, depth: number): void {
    if (s.type === 'BlockStatement') {
      const w = this.cost.units(this.cost.exec(s)) + extra;
      if (w > 0) this.ins.push({ pos: s.start + 1, text: this.counter(w), kind: 1, depth: depth + 1 });
      return;
    }
    this.statements++;
    this.ins.push({ pos: s.start, text: `{${this.counter(this.stmtUnits(s) + extra)}`, kind: 1, depth });
    this.ins.push({ pos: s.end, text: '}', kind: 0, depth });
  }

  /** `(__$k.c+=d,operand)`: an operand of `&&`, `||`, `?:` ran (it was charged as parsed only). */
  private whenRun(op: AnyNode, depth: number): void {
    const d = this.cost.units(this.cost.exec(op)) - this.cost.units(this.cost.notRun(op));
    if (!(d > 0.0005)) return;
    this.ins.push({ pos: op.start, text: `(__$k.c+=${units(d)},`, kind: 1, depth });
    this.ins.push({ pos: op.end, text: ')', kind: 0, depth });
  }

  /** Entering a block-bodied function charges the call and its parameters. */
  private entry(fn: AnyNode): void {
    if (isFunction(fn) && isNode(fn.body) && fn.body.type === 'BlockStatement')
      this.ins.push({
        pos: fn.body.start + 1,
        text: `__$k.c+=${units(this.callUnits(fn))};`,
        kind: 1,
        depth: -2,
      });
  }

  // ------------------------------------------------------------------------------ the walk

  private visit(n: AnyNode, depth: number, writeTarget: boolean): void {
    this.entry(n);
    if (isForLet(n)) return this.forLet(n, depth);
    this.forInOfLet(n, depth);
    if (isFunction(n)) return this.visitFunction(n, depth);
    // Methods and accessors cannot be wrapped in place: tag them through the object or class that
    // holds them (`__$k.m(obj, __$gN, keys)`, `__$k.k(Class, __$gN, protoKeys, staticKeys)`).
    const holder = this.getterStack[this.getterStack.length - 1]!;
    if (holder !== null && n.type === 'ObjectExpression') this.tagObjectMethods(n, holder, depth);
    if (holder !== null && (n.type === 'ClassExpression' || n.type === 'ClassDeclaration'))
      this.tagClass(n, holder, depth);
    if (!writeTarget && isBuiltinPrototypeMember(n)) {
      // Rewrite Builtin.prototype.x reads.
      this.prototypeReads++;
      this.ins.push({ pos: n.start, text: '(void 0/*', kind: 1, depth: 1e9 });
      this.ins.push({ pos: n.end, text: '*/)', kind: 0, depth: 1e9 });
      return; // nothing inside can run
    }
    if (n.type === 'LogicalExpression' && isNode(n.right)) this.whenRun(n.right, depth);
    if (n.type === 'ConditionalExpression' && isNode(n.consequent) && isNode(n.alternate)) {
      this.whenRun(n.consequent, depth);
      this.whenRun(n.alternate, depth);
    }
    this.visitChildren(n, depth);
  }

  private visitChildren(n: AnyNode, depth: number): void {
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (Array.isArray(v) && STATEMENT_LIST_KEYS.has(k)) this.statementList(v, depth);
      else if (
        ((n.type === 'IfStatement' && (k === 'consequent' || k === 'alternate')) ||
          (/(For|While|DoWhile|ForIn|ForOf|With)Statement$/.test(n.type) && k === 'body')) &&
        isNode(v)
      )
        this.singleStatement(n, k, v, depth);
      else if (
        n.type === 'ArrowFunctionExpression' &&
        k === 'body' &&
        isNode(v) &&
        v.type !== 'BlockStatement'
      )
        this.arrowBody(n, v, depth);
      else {
        const lhs =
          (n.type === 'AssignmentExpression' && k === 'left') ||
          (n.type === 'UpdateExpression' && k === 'argument') ||
          (n.type === 'UnaryExpression' && n.operator === 'delete' && k === 'argument');
        if (Array.isArray(v)) {
          for (const x of v) if (isNode(x)) this.visit(x, depth + 1, false);
        } else if (isNode(v)) this.visit(v, depth + 1, lhs);
      }
    }
  }

  /** A block's or a switch case's statements: a counter before each. */
  private statementList(list: unknown[], depth: number): void {
    for (const s of list) {
      if (!isNode(s)) continue;
      if (isStatement(s) && !(s.type === 'ExpressionStatement' && typeof s.directive === 'string')) {
        this.statements++;
        this.ins.push({ pos: s.start, text: this.counter(this.stmtUnits(s)), kind: 1, depth: depth + 1 });
      }
      this.visit(s, depth + 1, false);
    }
  }

  /** An if branch or a loop body: wrapped with its counter, which carries the loop's iteration or the
   * branch not taken. */
  private singleStatement(n: AnyNode, k: string, v: AnyNode, depth: number): void {
    let extra = 0;
    const loop = n.type !== 'IfStatement';
    if (loop) extra = this.iteration(n);
    else {
      // The branch not taken is read without running: skipped if braced, parsed if not.
      const other = (k === 'consequent' ? n.alternate : n.consequent) as AnyNode | null;
      if (isNode(other)) extra = this.cost.units(this.cost.notRun(other));
      else
        this.ins.push({
          pos: v.end,
          text: `else ${this.counter(this.cost.units(this.cost.notRun(v)))}`,
          kind: 0,
          depth: depth + 0.5,
        });
    }
    this.wrapStatement(v, extra, depth + 1);
    if (loop) this.loopEnds.push(loopBodyEnd(v));
    try {
      this.visit(v, depth + 2, false);
    } finally {
      if (loop) this.loopEnds.pop();
    }
  }

  /** An expression-bodied arrow carries its body's cost and the call's. */
  private arrowBody(n: AnyNode, v: AnyNode, depth: number): void {
    this.ins.push({
      pos: v.start,
      text: `(__$k.c+=${units(this.cost.units(this.cost.exec(v)) + this.callUnits(n))},`,
      kind: 1,
      depth: depth + 1,
    });
    this.ins.push({ pos: v.end, text: ')', kind: 0, depth: depth + 1 });
    this.visit(v, depth + 2, false);
  }

  // ------------------------------------------------------------------------------ `let` in a loop head

  /** `for (let i = 0; c; u) b` runs as `{let i = 0; for (; c; u) b}`. */
  private forLet(n: AnyNode, depth: number): void {
    this.loopLets++;
    const init = n.init as AnyNode;
    // The block sits just outside the loop: inside any wrapper of the loop, around its body's insertions.
    this.ins.push({
      pos: n.start,
      text: `{${this.source.slice(init.start, init.end)};`,
      kind: 1,
      depth: depth - 0.25,
    });
    this.deletions.push([init.start, init.end]);
    this.ins.push({ pos: n.end, text: '}', kind: 0, depth: depth - 0.25 });
    if (isNode(n.test)) this.visit(n.test, depth + 1, false);
    if (isNode(n.update)) this.visit(n.update, depth + 1, false);
    if (isNode(n.body)) {
      this.wrapStatement(n.body, this.iteration(n), depth + 1);
      this.loopEnds.push(loopBodyEnd(n.body));
      try {
        this.visit(n.body, depth + 2, false);
      } finally {
        this.loopEnds.pop();
      }
    }
  }

  /** `for (let x of a) b` runs as `{let x; for (x of a) b}` (the same for `in`); the walk goes on. */
  private forInOfLet(n: AnyNode, depth: number): void {
    if (
      !(n.type === 'ForOfStatement' || n.type === 'ForInStatement') ||
      !isNode(n.left) ||
      n.left.type !== 'VariableDeclaration' ||
      n.left.kind !== 'let'
    )
      return;
    const decls = n.left.declarations as AnyNode[];
    const id =
      decls.length === 1 && isNode(decls[0]!.id) && decls[0]!.id.type === 'Identifier' ? decls[0]!.id : null;
    if (id !== null && !decls[0]!.init) {
      this.loopLets++;
      this.ins.push({ pos: n.start, text: `{let ${id.name as string};`, kind: 1, depth: depth - 0.25 });
      this.deletions.push([n.left.start, id.start]); // drop the 'let ' keyword
      this.ins.push({ pos: n.end, text: '}', kind: 0, depth: depth - 0.25 });
    }
  }

  // ------------------------------------------------------------------------------ functions and scopes

  private visitFunction(n: AnyNode, depth: number): void {
    this.tagFunction(n, depth);
    const block = isNode(n.body) && n.body.type === 'BlockStatement';
    if (block) this.getterStack.push(this.declareGetter(n));
    this.fnEnds.push(block ? (n.body as AnyNode).end - 1 : (n.body as AnyNode).end);
    const loops = this.loopEnds.splice(0);
    try {
      this.visitChildren(n, depth);
    } finally {
      this.fnEnds.pop();
      this.loopEnds.push(...loops);
      if (block && this.getterStack.pop() !== null) this.getterLevel--;
    }
  }

  /** A closure is tagged with its scope's getter; a function declaration is unhoisted. */
  private tagFunction(n: AnyNode, depth: number): void {
    const g = this.methodSlots.has(n) ? null : this.getterStack[this.getterStack.length - 1]!;
    const tag = g !== null;
    // An arrow whose body uses `this` keeps the `this` it was created with alive (Espruino stores it in
    // the arrow function): a thunk `()=>this` lets the walk read it later (lazily: `this` may still be
    // in its TDZ in a derived constructor).
    const keepsThis = n.type === 'ArrowFunctionExpression' && usesLexicalThis(n);
    if (tag || keepsThis) this.tagged++;
    if (n.type === 'FunctionDeclaration' && isNode(n.id) && !n.async && !n.generator) {
      this.unhoisted++;
      const name = n.id.name as string;
      this.ins.push({
        pos: n.start,
        text: tag ? `var ${name}=__$k.t(` : `var ${name}=`,
        kind: 1,
        depth: 1e8,
      });
      this.ins.push({ pos: n.end, text: tag ? `,${g});` : ';', kind: 0, depth: 1e8 });
    } else if (tag || keepsThis) {
      this.ins.push({ pos: n.start, text: ' __$k.t(', kind: 1, depth }); // space: may follow `return`
      this.ins.push({
        pos: n.end,
        text: `,${g ?? 'void 0'}${keepsThis ? THIS_THUNK : ''})`,
        kind: 0,
        depth,
      });
    }
  }

  /** A block-bodied function that creates closures (or is the bundle's IIFE) declares a scope getter:
   * its name, or null. */
  private declareGetter(n: AnyNode): string | null {
    if (!(createsClosures(n) || n === this.iifeFn)) return null;
    const name = `__$g${++this.getterLevel}`;
    if (n === this.iifeFn) this.iifeGetter = name;
    this.ins.push({
      pos: (n.body as AnyNode).start + 1,
      text: getterText(scopeNames(n), name, this.outerGetter()),
      kind: 1,
      depth: -3,
    });
    return name;
  }

  private outerGetter(): string | null {
    for (let i = this.getterStack.length - 1; i >= 0; i--)
      if (this.getterStack[i] !== null) return this.getterStack[i]!;
    return null;
  }

  private tagObjectMethods(n: AnyNode, holder: string, depth: number): void {
    const keys = methodKeys(
      (n.properties as AnyNode[]).filter(
        (p) => p.type === 'Property' && this.methodSlots.has(p.value as AnyNode),
      ),
    );
    if (keys.length > 0) {
      this.tagged += keys.length;
      this.ins.push({ pos: n.start, text: ' __$k.m(', kind: 1, depth });
      this.ins.push({ pos: n.end, text: `,${holder},${JSON.stringify(keys)})`, kind: 0, depth });
    }
  }

  private tagClass(n: AnyNode, holder: string, depth: number): void {
    const defs = ((n.body as AnyNode).body as AnyNode[]).filter(
      (d) => d.type === 'MethodDefinition' && d.kind !== 'constructor',
    );
    const proto = methodKeys(defs.filter((d) => !d.static));
    const stat = methodKeys(defs.filter((d) => d.static));
    const lists = `${JSON.stringify(proto)},${JSON.stringify(stat)}`;
    this.tagged += 1 + proto.length + stat.length;
    if (n.type === 'ClassExpression') {
      this.ins.push({ pos: n.start, text: ' __$k.k(', kind: 1, depth });
      this.ins.push({ pos: n.end, text: `,${holder},${lists})`, kind: 0, depth });
    } else if (isNode(n.id)) {
      this.ins.push({
        pos: n.end,
        text: `__$k.k(${n.id.name as string},${holder},${lists});`,
        kind: 0,
        depth: -1,
      });
    }
  }
}

/** The source with the insertions placed and the deleted ranges (and insertions strictly inside them) left out. */
function applyEdits(source: string, ins: Insertion[], deletions: [number, number][]): string {
  ins.sort(
    (a, b) => a.pos - b.pos || a.kind - b.kind || (a.kind === 0 ? b.depth - a.depth : a.depth - b.depth),
  );
  deletions.sort((a, b) => a[0] - b[0]);
  const deleted = (pos: number): boolean => deletions.some(([a, b]) => pos > a && pos < b);
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
  return out;
}
