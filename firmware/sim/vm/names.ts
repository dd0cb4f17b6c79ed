/**
 * Static estimates of name lookups for the cost analysis (cost-analysis.ts): how many scope variables
 * Espruino compares before it finds an identifier, which identifiers are built-ins found in no scope,
 * and how many properties it compares to find a property name.
 */
import { bindingNames, children, isFunction, isNode, type AnyNode } from './ast';

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
export class NameTables {
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
