/**
 * The cost analysis of the instrumentation (README.md, "Cost units (calibration)"): each statement's
 * features (tokens and characters lexed, nodes, name lookups, property reads, allocations, text skipped
 * or parsed without running), counted statically from the program text, weighted by the model's
 * coefficients (loop.ts). instrument.ts turns the results into counters in the program.
 */
import * as acorn from 'acorn';
import { JS_FEATURES, type CostModel, type JsFeature } from './loop';
import { children, isFunction, isNode, isStatement, type AnyNode } from './ast';
import { NameTables } from './names';

/** Feature counts, and `named`: units of built-ins the model prices by name (CostModel.names). */
export type Features = Record<JsFeature | 'named', number>;

export function zero(): Features {
  const f = { named: 0 } as Features;
  for (const k of JS_FEATURES) f[k] = 0;
  return f;
}

export function addInto(a: Features, b: Features, k = 1): void {
  for (const f of JS_FEATURES) a[f] += b[f] * k;
  a.named += b.named * k;
}

/** Token tables of the program text: tokens and lexed characters in any range, in O(log n). */
class TokenTable {
  private readonly starts: number[] = [];
  private readonly cumChars: number[] = [0];
  constructor(source: string, pretokenised: boolean) {
    let chars = 0;
    for (const t of acorn.tokenizer(source, { ecmaVersion: 2022 })) {
      const label = t.type.label;
      const len = t.end - t.start;
      // What the lexer reads character by character: names (and keywords unless pretokenised),
      // numbers (pretokenised: small integers are one token), strings, regexps, templates.
      let c = 0;
      if (label === 'name' || label === 'privateId') c = len;
      else if (t.type.keyword !== undefined) c = pretokenised ? 0 : len;
      else if (label === 'num')
        c =
          pretokenised &&
          /^\d+$/.test(source.slice(t.start, t.end)) &&
          Number((t as acorn.Token & { value?: unknown }).value) <= 32767
            ? 0
            : len;
      else if (label === 'string' || label === 'regexp' || label === 'template') c = len;
      chars += c;
      this.starts.push(t.start);
      this.cumChars.push(chars);
    }
  }

  private index(pos: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Tokens starting in [a, b) and the characters the lexer reads one by one in them. */
  range(a: number, b: number): { tok: number; chars: number } {
    if (b <= a) return { tok: 0, chars: 0 };
    const i = this.index(a);
    const j = this.index(b);
    return { tok: j - i, chars: this.cumChars[j]! - this.cumChars[i]! };
  }
}

/** Blocks that get their own scope in Espruino when entered: a let/const/class directly inside. */
function hasBlockScope(block: AnyNode): boolean {
  return (
    block.type === 'BlockStatement' &&
    (block.body as AnyNode[]).some(
      (s) => (s.type === 'VariableDeclaration' && s.kind !== 'var') || s.type === 'ClassDeclaration',
    )
  );
}

/** Features of a program's statements, expressions and skipped text. */
export class CostAnalysis {
  readonly text: TokenTable;
  readonly names: NameTables;

  constructor(
    source: string,
    ast: AnyNode,
    readonly model: CostModel,
  ) {
    this.text = new TokenTable(source, model.pretokenised);
    this.names = new NameTables(ast);
  }

  units(f: Features): number {
    let u = f.named;
    for (const k of JS_FEATURES) u += f[k] * this.model.js[k];
    return u > 0 ? u : 0;
  }

  /** Text [a, b) skipped without parsing (a block not run: Espruino's jspeSkipBlock). */
  skipRange(a: number, b: number, f: Features = zero()): Features {
    const r = this.text.range(a, b);
    f.skipTok += r.tok;
    f.skipChar += r.chars;
    return f;
  }

  /** A statement or expression that is parsed but not run: braced blocks in it are skipped. */
  notRun(n: AnyNode, f: Features = zero()): Features {
    if (n.type === 'BlockStatement' || n.type === 'ClassBody') return this.skipRange(n.start, n.end, f);
    let pos = n.start;
    const parts: [number, number][] = [];
    const find = (x: AnyNode): void => {
      for (const c of children(x)) {
        if (c.type === 'BlockStatement' || c.type === 'ClassBody') parts.push([c.start, c.end]);
        else find(c);
      }
    };
    find(n);
    parts.sort((a, b) => a[0] - b[0]);
    for (const [a, b] of parts) {
      const r = this.text.range(pos, a);
      f.parseTok += r.tok;
      f.parseChar += r.chars;
      this.skipRange(a, b, f);
      pos = b;
    }
    const r = this.text.range(pos, n.end);
    f.parseTok += r.tok;
    f.parseChar += r.chars;
    return f;
  }

  /**
   * What running `n` itself costs: its own tokens and nodes, stopping at nested statements (they count
   * when they run), function bodies (skipped: a definition), and the operands of `&&`, `||`, `?:` that
   * may not run (charged as parsed here; running one adds the difference: instrument()).
   */
  exec(n: AnyNode): Features {
    const f = zero();
    const cut: [number, number][] = [];
    const walk = (x: AnyNode, root: boolean): void => {
      if (!root && (isStatement(x) || x.type === 'SwitchCase' || x.type === 'CatchClause')) {
        cut.push([x.start, x.end]);
        return;
      }
      if (!root && isFunction(x)) {
        f.node++;
        f.fnDef++;
        cut.push([x.start, x.end]);
        const body = x.body as AnyNode;
        this.skipRange(x.start, body.start, f);
        if (body.type === 'BlockStatement') this.skipRange(body.start, body.end, f);
        else this.notRun(body, f);
        return;
      }
      if (x.type === 'ClassBody') {
        cut.push([x.start, x.end]);
        this.skipRange(x.start, x.end, f);
        for (const d of x.body as AnyNode[]) if (d.type === 'MethodDefinition') f.fnDef++;
        return;
      }
      if (x.type === 'ConditionalExpression') {
        f.node++;
        walk(x.test as AnyNode, false);
        for (const b of [x.consequent, x.alternate] as AnyNode[]) {
          cut.push([b.start, b.end]);
          this.notRun(b, f);
        }
        return;
      }
      if (x.type === 'LogicalExpression') {
        f.node++;
        walk(x.left as AnyNode, false);
        const r = x.right as AnyNode;
        cut.push([r.start, r.end]);
        this.notRun(r, f);
        return;
      }
      f.node++;
      if (x.type === 'Identifier') {
        const s = this.names.scan.get(x);
        if (s !== undefined) {
          f.lookup++;
          f.scan += s;
          if (this.names.globals.has(x)) {
            const named = this.model.names[x.name as string];
            if (named !== undefined) f.named += named;
            else f.global++;
          }
        }
      } else if (x.type === 'MemberExpression') {
        const p = x.property as AnyNode;
        if (x.computed) f.index++;
        else {
          f.member++;
          const s = this.names.propScan(p.name as string);
          const named = this.model.names[p.name as string];
          if (s !== undefined) f.scan += s;
          else if (named !== undefined) f.named += named;
          else f.builtin++;
        }
      } else if (x.type === 'ObjectExpression') f.alloc += 1 + (x.properties as AnyNode[]).length;
      else if (x.type === 'ArrayExpression') f.alloc += 1 + (x.elements as AnyNode[]).length;
      else if (x.type === 'TemplateLiteral') f.alloc++;
      else if (x.type === 'NewExpression') {
        // a program's class (a built-in constructor is the native's own cost: loop.ts natives)
        const c = x.callee as AnyNode;
        if (!(c.type === 'Identifier' && this.names.globals.has(c))) f.construct++;
      }
      for (const c of children(x)) walk(c, false);
    };
    walk(n, true);
    // a try's catch block is skipped when nothing is thrown
    if (n.type === 'TryStatement' && isNode(n.handler)) this.skipRange(n.handler.start, n.handler.end, f);
    if (isStatement(n) && n.type !== 'BlockStatement') f.stmt++;
    if (n.type === 'BlockStatement' && hasBlockScope(n)) f.blockScope++;
    // Own text: the node's tokens less the cut-out parts.
    let tok = 0;
    let chars = 0;
    let pos = n.start;
    cut.sort((a, b) => a[0] - b[0]);
    for (const [a, b] of cut) {
      if (a < pos) continue;
      const r = this.text.range(pos, a);
      tok += r.tok;
      chars += r.chars;
      pos = b;
    }
    const r = this.text.range(pos, n.end);
    tok += r.tok + 0;
    chars += r.chars;
    if (n.type === 'BlockStatement') {
      // only its braces: the statements in it count when they run
      tok = 2;
      chars = 0;
    }
    f.tok += tok;
    f.char += chars;
    return f;
  }
}
