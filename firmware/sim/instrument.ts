/**
 * Source instrumentation of the built bundle before it runs in the simulator (the bundle file itself is
 * never changed). Three rewrites, all by text insertion at acorn node offsets:
 *
 * 1. Cost counting. Before every statement the simulator adds that statement's own weight (the number of
 *    AST nodes in it, excluding nested statements and function bodies, which count when they run) to
 *    `__$k.c`, and calls `__$k.x()` when it passes `__$k.l` (used to interrupt a job: out of memory, a
 *    hung handler). Loop bodies also carry the weight of the loop's test and update; expression-bodied
 *    arrows carry their body's weight; `?:` charges its heavier branch only; entering a JS function
 *    costs CALL_OVERHEAD (scope + parameters). The unit, "cost units" (~ AST nodes evaluated), is calibrated in
 *    README.md.
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

/** Nodes in `n` that run when `n` itself runs: stops at nested statements and function bodies. */
function ownWeight(n: AnyNode, root = true): number {
  if (!root && (isStatement(n) || n.type === 'SwitchCase' || n.type === 'CatchClause')) return 0;
  if (!root && isFunction(n)) return 1;
  if (n.type === 'ClassBody') return 1;
  // Only one branch of ?: runs: charge the test and the heavier branch.
  if (n.type === 'ConditionalExpression' && isNode(n.test) && isNode(n.consequent) && isNode(n.alternate))
    return (
      1 + ownWeight(n.test, false) + Math.max(ownWeight(n.consequent, false), ownWeight(n.alternate, false))
    );
  let w = 1;
  for (const c of children(n)) w += ownWeight(c, false);
  return w;
}

/** Units charged on entry to a JS function: Espruino builds a scope and binds the parameters. */
export const CALL_OVERHEAD = 4;

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
  const counter = (w: number): string => `if((__$k.c+=${w})>__$k.l)__$k.x();`;

  const wrapStatement = (s: AnyNode, extra: number, depth: number): void => {
    // A statement in a single-statement position (if/loop body): wrap it in a block with its counter.
    if (s.type === 'BlockStatement') {
      if (extra > 0) ins.push({ pos: s.start + 1, text: counter(extra), kind: 1, depth: depth + 1 });
      return;
    }
    statements++;
    ins.push({ pos: s.start, text: `{${counter(ownWeight(s) + extra)}`, kind: 1, depth });
    ins.push({ pos: s.end, text: '}', kind: 0, depth });
  };

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
      ins.push({ pos: fn.body.start + 1, text: `__$k.c+=${CALL_OVERHEAD};`, kind: 1, depth: -2 });
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
      ins.push({ pos: n.start, text: `{${source.slice(init.start, init.end)};`, kind: 1, depth: 1e7 });
      deletions.push([init.start, init.end]);
      ins.push({ pos: n.end, text: '}', kind: 0, depth: 1e7 });
      if (isNode(n.test)) visit(n.test, depth + 1, false);
      if (isNode(n.update)) visit(n.update, depth + 1, false);
      if (isNode(n.body)) {
        let extra = 0;
        if (isNode(n.test)) extra += ownWeight(n.test, true);
        if (isNode(n.update)) extra += ownWeight(n.update, true);
        wrapStatement(n.body, extra, depth + 1);
        visit(n.body, depth + 2, false);
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
        ins.push({ pos: n.start, text: `{let ${id.name as string};`, kind: 1, depth: 1e7 });
        deletions.push([n.left.start, id.start]); // drop the 'let ' keyword
        ins.push({ pos: n.end, text: '}', kind: 0, depth: 1e7 });
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
      try {
        visitChildren(n, depth);
      } finally {
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
            ins.push({ pos: s.start, text: counter(ownWeight(s)), kind: 1, depth: depth + 1 });
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
        if (n.type === 'ForStatement') {
          if (isNode(n.test)) extra += ownWeight(n.test, true);
          if (isNode(n.update)) extra += ownWeight(n.update, true);
        } else if (n.type === 'WhileStatement' || n.type === 'DoWhileStatement') {
          if (isNode(n.test)) extra += ownWeight(n.test, true);
        } else if (n.type === 'ForInStatement' || n.type === 'ForOfStatement') extra += 1;
        wrapStatement(v, extra, depth + 1);
        visit(v, depth + 2, false);
        continue;
      }
      if (n.type === 'ArrowFunctionExpression' && k === 'body' && isNode(v) && v.type !== 'BlockStatement') {
        ins.push({
          pos: v.start,
          text: `(__$k.c+=${ownWeight(v) + CALL_OVERHEAD},`,
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
