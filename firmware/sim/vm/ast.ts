/**
 * Acorn node helpers for the instrumentation (instrument.ts) and its cost analysis
 * (cost-analysis.ts, names.ts): node kinds, a node's children, the names a binding pattern or a
 * function scope declares, and the questions the rewrites ask of a function (does it create
 * closures, does an arrow use `this`, is the bundle one IIFE).
 */
import type * as acorn from 'acorn';

export type AnyNode = acorn.Node & Record<string, unknown>;

export function isNode(v: unknown): v is AnyNode {
  return v !== null && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string';
}

export function isStatement(n: AnyNode): boolean {
  return (
    (n.type.endsWith('Statement') && n.type !== 'ExpressionStatement') ||
    n.type === 'ExpressionStatement' ||
    n.type === 'VariableDeclaration' ||
    n.type === 'FunctionDeclaration' ||
    n.type === 'ClassDeclaration'
  );
}

export function isFunction(n: AnyNode): boolean {
  return (
    n.type === 'FunctionExpression' ||
    n.type === 'FunctionDeclaration' ||
    n.type === 'ArrowFunctionExpression'
  );
}

export function children(n: AnyNode): AnyNode[] {
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
export function createsClosures(fn: AnyNode): boolean {
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
export function methodKeys(defs: AnyNode[]): string[] {
  const keys = new Set<string>();
  for (const d of defs) {
    const k = d.key as AnyNode;
    if (d.computed || !isNode(k)) continue;
    if (k.type === 'Identifier') keys.add(k.name as string);
    else if (k.type === 'Literal') keys.add(String(k.value));
  }
  return [...keys];
}

/** Does the `this` keyword occur anywhere in this arrow function's body? Espruino decides as the
 * lexer skips the body (`lex->hadThisKeyword`), so a `this` inside a nested function counts too. */
export function usesLexicalThis(arrow: AnyNode): boolean {
  const scan = (n: AnyNode): boolean => {
    if (n.type === 'ThisExpression') return true;
    for (const c of children(n)) if (scan(c)) return true;
    return false;
  };
  return isNode(arrow.body) && scan(arrow.body);
}

/** Each name a binding pattern (`a`, `{ a, b: [c] }`, `...d`, `e = 1`) declares. */
export function bindingNames(p: AnyNode | null | undefined, add: (name: string) => void): void {
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
export function scopeNames(fn: AnyNode): string[] {
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

/** The function of an IIFE bundle (`(() => { ... })();`, `!function(){...}()`, `(function(){...}).call(this)`). */
export function findIifeFn(body: AnyNode[]): AnyNode | null {
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
