/**
 * Acorn node helpers of the syntax gate: a node's children, the names a pattern binds, which
 * identifiers are references to variables, and the references inside a node. Also the lookup table
 * and the report callback every rule shares.
 */

/** An empty lookup table without inherited keys (so "toString" or "constructor" are not found in it). */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export interface AstNode {
  type: string;
  start: number;
  loc?: { start: { line: number; column: number } };
  [key: string]: unknown;
}

/** How a rule reports a violation at a node. */
export type Report = (node: AstNode, rule: string, message: string) => void;

export function isNode(v: unknown): v is AstNode {
  return typeof v === 'object' && v !== null && typeof (v as AstNode).type === 'string';
}

export function children(node: AstNode, visit: (child: AstNode, key: string) => void): void {
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

export const FUNCTION_TYPES = ['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'];

/** Names bound by a pattern (identifier or destructuring). */
export function patternNames(p: unknown, out: string[]): void {
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
export function isReference(parent: AstNode | null, key: string): boolean {
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
export function references(node: AstNode, shallow: boolean, out: AstNode[]): void {
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

export function containsFunctionUsing(body: AstNode, names: string[]): boolean {
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
