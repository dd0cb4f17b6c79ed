/**
 * Binding rules of the gate: where Espruino binds names differently from JavaScript. No per-iteration
 * binding of `let`/`const` in a for head (a closure in the body sees the last value) and no hoisting
 * of function declarations (a function used before its declaration runs is undefined).
 */
import {
  containsFunctionUsing,
  dict,
  isNode,
  patternNames,
  references,
  type AstNode,
  type Report,
} from './ast';

/** Report `n` if it is a loop whose `let`/`const` head a closure captures, or a statement list using
 * a function before its declaration. */
export function checkBindings(n: AstNode, report: Report): void {
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
}

/**
 * A function declared in a statement list must not be used by an earlier statement of that list,
 * directly or through another function of the list that the earlier statement calls.
 */
function checkHoisting(body: AstNode[], report: Report): void {
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
