/**
 * The Espruino syntax gate (ADR 0003): parse JavaScript with acorn at the latest ECMAScript version,
 * so every construct is visible, and report every construct and global that Espruino lacks
 * (probed on the real interpreter: "fails or is absent"). Run on the *output* of the bundler, so
 * helpers the bundler emits are checked too. Node-only: used by the firmware build and the tests.
 *
 * This file parses and walks the program; the rules are one file per family in gate/: syntax.ts
 * (constructs), globals.ts (globals and members), bindings.ts (loop bindings, hoisting), with
 * declarations.ts (the names the program declares) and lists.ts (what Espruino lacks).
 */
import { parse } from 'acorn';
import { children, type AstNode, type Report } from './gate/ast';
import { checkBindings } from './gate/bindings';
import { Declarations } from './gate/declarations';
import { GlobalRules } from './gate/globals';
import { checkSyntax } from './gate/syntax';

export interface GateViolation {
  /** Stable rule id, e.g. "destructuring", "forbidden-global". */
  rule: string;
  message: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

export interface GateOptions {
  /**
   * When given, every free identifier (a global the code reads without declaring it) must be in
   * this list, or in the language's own globals the interpreter has (Object, Math, Uint8Array, ...).
   */
  allowedGlobals?: string[];
}

/**
 * Check `code` against the Espruino language subset. Returns every violation found (empty = passes),
 * or one "parse-error" violation when the code does not parse.
 */
export function checkEspruinoSubset(code: string, options?: GateOptions): GateViolation[] {
  const parsed = parseProgram(code);
  if (!('type' in parsed)) return [parsed];
  const program = parsed;
  const out: GateViolation[] = [];
  const report: Report = (node, rule, message) => {
    const loc = node.loc ? node.loc.start : { line: 1, column: 0 };
    out.push({ rule, message, line: loc.line, column: loc.column + 1 });
  };
  const globals = new GlobalRules(new Declarations(program), options && options.allowedGlobals);
  const visit = (n: AstNode, parent: AstNode | null, key: string): void => {
    checkSyntax(n, report);
    globals.check(n, parent, key, report);
    checkBindings(n, report);
    children(n, (c, k) => visit(c, n, k));
  };
  visit(program, null, '');
  out.sort((a, b) => a.line - b.line || a.column - b.column);
  return out;
}

/** The program, parsed as a script or else as a module; the script's parse error if neither parses. */
function parseProgram(code: string): AstNode | GateViolation {
  try {
    return parse(code, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      locations: true,
    }) as unknown as AstNode;
  } catch (scriptError) {
    try {
      return parse(code, {
        ecmaVersion: 'latest',
        sourceType: 'module',
        locations: true,
      }) as unknown as AstNode;
    } catch {
      const e = scriptError as { message?: string; loc?: { line: number; column: number } };
      return {
        rule: 'parse-error',
        message: String(e.message),
        line: e.loc ? e.loc.line : 1,
        column: e.loc ? e.loc.column + 1 : 1,
      };
    }
  }
}
