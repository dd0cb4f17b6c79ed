/**
 * Global and member rules of the gate: globals Espruino lacks (or, with `allowedGlobals`, any global
 * not on the list), members its built-ins lack, `Builtin.prototype`, `class extends Builtin`, and
 * statics inherited from a superclass (Espruino does not inherit them).
 */
import { isReference, dict, type AstNode, type Report } from './ast';
import type { Declarations } from './declarations';
import {
  BUILTINS,
  FORBIDDEN_ANY_MEMBER,
  FORBIDDEN_GLOBALS,
  FORBIDDEN_MEMBERS,
  LANGUAGE_GLOBALS,
} from './lists';

export class GlobalRules {
  /** The globals allowed (null: any global not forbidden). */
  private readonly allowed: Record<string, true> | null;

  constructor(
    private readonly names: Declarations,
    allowedGlobals: string[] | undefined,
  ) {
    this.allowed = allowedGlobals ? dict<true>() : null;
    if (this.allowed !== null) {
      for (const g of LANGUAGE_GLOBALS) this.allowed[g] = true;
      for (const g of allowedGlobals as string[]) this.allowed[g] = true;
    }
  }

  /** Report `n` (child `key` of `parent`) if it uses a global or member Espruino lacks. */
  check(n: AstNode, parent: AstNode | null, key: string, report: Report): void {
    switch (n.type) {
      case 'ClassDeclaration':
      case 'ClassExpression':
        this.checkClass(n, report);
        break;
      case 'MemberExpression':
        this.checkMember(n, report);
        break;
      case 'Identifier':
        if (isReference(parent, key) && this.names.isGlobal(n)) {
          const name = n.name as string;
          if (FORBIDDEN_GLOBALS.indexOf(name) >= 0) report(n, 'forbidden-global', name + ' is absent');
          else if (this.allowed !== null && this.allowed[name] !== true)
            report(n, 'unknown-global', name + ' is not an allowed global');
        }
        break;
      default:
        break;
    }
  }

  private checkClass(n: AstNode, report: Report): void {
    const sup = n.superClass;
    if (this.names.isGlobal(sup) && BUILTINS.indexOf((sup as AstNode).name as string) >= 0)
      report(n, 'extends-builtin', 'class extends ' + (sup as AstNode).name + ' is not supported');
  }

  private checkMember(n: AstNode, report: Report): void {
    const obj = n.object as AstNode;
    const prop = n.property as AstNode;
    const name = n.computed !== true && prop.type === 'Identifier' ? (prop.name as string) : null;
    if (name === null) return;
    if (FORBIDDEN_ANY_MEMBER[name] !== undefined)
      report(n, 'forbidden-member', '.' + name + ': ' + FORBIDDEN_ANY_MEMBER[name]);
    if (obj.type === 'Identifier' && this.names.isGlobal(obj)) {
      const list = FORBIDDEN_MEMBERS[obj.name as string];
      if (list && list.indexOf(name) >= 0)
        report(n, 'forbidden-member', obj.name + '.' + name + ' is absent');
      if (name === 'prototype' && BUILTINS.indexOf(obj.name as string) >= 0) {
        report(n, 'builtin-prototype', obj.name + '.prototype is undefined for built-ins on Espruino');
      }
    }
    if (obj.type === 'Identifier' && this.names.inheritedStatic(obj.name as string, name)) {
      report(
        n,
        'inherited-static',
        obj.name + '.' + name + ' is a static method inherited from a superclass',
      );
    }
  }
}
