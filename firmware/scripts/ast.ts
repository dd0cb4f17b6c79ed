/** Small acorn helpers shared by the build steps (build.ts, pretokenise.ts). */
import { parse, type Node } from 'acorn';
import { full } from 'acorn-walk';

export type AnyNode = Node & Record<string, unknown>;

/**
 * The identifiers in `code` that name a property rather than a variable: non-computed member reads
 * (`o.x`), object keys and class members.
 */
export function propertyKeyNodes(code: string): AnyNode[] {
  const out: AnyNode[] = [];
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as AnyNode;
  full(ast as unknown as Node, (n: Node) => {
    const x = n as AnyNode;
    const key =
      x.type === 'MemberExpression' && !x.computed
        ? (x.property as AnyNode)
        : (x.type === 'Property' || x.type === 'MethodDefinition' || x.type === 'PropertyDefinition') &&
            !x.computed
          ? (x.key as AnyNode)
          : null;
    if (key && key.type === 'Identifier') out.push(key);
  });
  return out;
}

/**
 * Count the names `x` declares into `declared`: a variable, function or class declaration adds one
 * per declaration; a parameter or catch binding marks the name as declared more than once (it shadows
 * any top-level name), so a fold keyed on a single declaration leaves it alone.
 */
export function countDeclaration(x: AnyNode, declared: Map<string, number>): void {
  if (x.type === 'VariableDeclarator' || x.type === 'FunctionDeclaration' || x.type === 'ClassDeclaration') {
    const id = x.id as AnyNode | null;
    if (id && id.type === 'Identifier')
      declared.set(id.name as string, (declared.get(id.name as string) ?? 0) + 1);
  }
  if (
    x.type === 'FunctionDeclaration' ||
    x.type === 'FunctionExpression' ||
    x.type === 'ArrowFunctionExpression'
  )
    for (const p of x.params as AnyNode[]) if (p.type === 'Identifier') declared.set(p.name as string, 2);
  if (x.type === 'CatchClause' && (x.param as AnyNode | null)?.type === 'Identifier')
    declared.set((x.param as AnyNode).name as string, 2);
}
