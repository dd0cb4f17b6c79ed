/**
 * The syntax gate's first pass: every name the program declares anywhere (a declared `Map` is not the
 * global `Map`) and its classes' static members and superclasses, so the rules can tell a global from
 * a program's own name and spot statics inherited from a superclass.
 */
import { children, dict, FUNCTION_TYPES, isNode, patternNames, type AstNode } from './ast';

interface ClassInfo {
  superName: string | null;
  statics: string[];
}

export class Declarations {
  private readonly declared = dict<true>();
  private readonly classes = dict<ClassInfo>();

  constructor(program: AstNode) {
    this.collect(program);
  }

  /** Is `n` an identifier naming no declaration of the program (and named `name`, when given)? */
  isGlobal(n: unknown, name?: string): boolean {
    return (
      isNode(n) &&
      n.type === 'Identifier' &&
      this.declared[n.name as string] !== true &&
      (name === undefined || n.name === name)
    );
  }

  /** Is `cls.member` a static member `cls` does not define but a superclass does? */
  inheritedStatic(cls: string, member: string): boolean {
    const c = this.classes[cls];
    if (!c || c.statics.indexOf(member) >= 0) return false;
    let sup = c.superName;
    for (let depth = 0; sup !== null && depth < 32; depth++) {
      const s = this.classes[sup];
      if (!s) return false;
      if (s.statics.indexOf(member) >= 0) return true;
      sup = s.superName;
    }
    return false;
  }

  private collect(n: AstNode): void {
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
      if (id) this.classes[id.name as string] = classInfo(n);
    }
    if (
      n.type === 'ImportSpecifier' ||
      n.type === 'ImportDefaultSpecifier' ||
      n.type === 'ImportNamespaceSpecifier'
    ) {
      patternNames(n.local, names);
    }
    for (const name of names) this.declared[name] = true;
    children(n, (c) => this.collect(c));
  }
}

function classInfo(n: AstNode): ClassInfo {
  const statics: string[] = [];
  const body = (n.body as AstNode).body as AstNode[];
  for (const m of body) {
    const key = m.key as AstNode | undefined;
    if (m.static === true && key && key.type === 'Identifier' && m.computed !== true)
      statics.push(key.name as string);
  }
  const sup = n.superClass as AstNode | null;
  return { superName: sup && sup.type === 'Identifier' ? (sup.name as string) : null, statics };
}
