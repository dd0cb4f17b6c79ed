/**
 * Branch coverage of the fuzzed parsers, from V8's precise block coverage (node:inspector), for
 * bench/fuzz.bench.ts. No coverage tool is needed: V8 counts how often each block ran; the branches are
 * found by parsing (acorn) the very JavaScript V8 ran (the script source tsx handed it), so offsets match.
 *
 * Arms, each covered when it ran at least once:
 *   if (c) A else B       A; B
 *   if (c) A              A; the way past the if with c false: V8's count after the statement, less the
 *                         times A ended normally (at most the times A began, and the count at its end)
 *   c ? A : B             A; B
 *   a && b, a || b, a ?? b   b (istanbul counts a too, which runs whenever the expression does)
 *   switch                each case with statements
 * The count at an offset is that of the innermost V8 range holding it (V8 leaves out the ranges whose
 * count equals their parent's). Only offsets where V8 keeps a counter are read: between a nested block
 * and the next counter V8 reports the enclosing function's count, not the true one. An implicit else
 * whose then-branch sometimes ends by an exception is undercounted (it may show as not run): the figure
 * errs low. Start coverage before the parsers' modules are loaded: functions compiled earlier have no
 * block counters.
 */
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';
import type { CoverageSource } from './fuzz';

export interface BranchCount {
  /** Branch arms in the measured functions. */
  arms: number;
  /** Arms that ran at least once. */
  covered: number;
}

/** One arm: covered when count(at) > 0, or (with `minus`) when count(at) > the least count(minus[i]). */
interface Arm {
  at: number;
  minus?: number[];
}

type Range = Profiler.CoverageRange;

/** The count of the innermost range holding `pos` (0 outside every range). */
function countAt(ranges: Range[], pos: number): number {
  let best: Range | undefined;
  for (const r of ranges) {
    if (r.startOffset <= pos && pos < r.endOffset) {
      if (!best || r.endOffset - r.startOffset <= best.endOffset - best.startOffset) best = r;
    }
  }
  return best ? best.count : 0;
}

type Node = acorn.AnyNode;

/** The function a declaration names, unwrapping esbuild's keepNames `__name(fn, "name")`. */
function fnOf(n: Node | null | undefined): Node | undefined {
  if (!n) return undefined;
  if (n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression') return n;
  if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === '__name')
    return fnOf(n.arguments[0] as Node);
  return undefined;
}

const nameOf = (k: Node): string | undefined =>
  k.type === 'Identifier' ? k.name : k.type === 'Literal' ? String(k.value) : undefined;

/** [start, end) of each function named in `names` (declarations, methods, const f = () => ...). */
function namedFunctions(ast: acorn.Program, names: readonly string[]): [number, number][] {
  const out: [number, number][] = [];
  const add = (name: string | undefined, fn: Node | undefined): void => {
    if (fn && name !== undefined && names.includes(name)) out.push([fn.start, fn.end]);
  };
  walk.full(ast, (n) => {
    const node = n as Node;
    if (node.type === 'FunctionDeclaration') add(node.id?.name, node);
    else if (node.type === 'MethodDefinition' || node.type === 'Property')
      add(nameOf(node.key as Node), fnOf(node.value as Node));
    else if (node.type === 'VariableDeclarator' && node.id.type === 'Identifier')
      add(node.id.name, fnOf(node.init));
  });
  return out;
}

/** `s` never ends normally: it returns, throws, breaks or continues on every path. */
function jumps(s: Node): boolean {
  switch (s.type) {
    case 'ReturnStatement':
    case 'ThrowStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
      return true;
    case 'BlockStatement': {
      const last = s.body[s.body.length - 1];
      return last !== undefined && jumps(last as Node);
    }
    case 'IfStatement':
      return s.alternate !== null && s.alternate !== undefined && jumps(s.consequent) && jumps(s.alternate);
    default:
      return false;
  }
}

/** The branch arms of `source`, only inside the functions named (all of it when none are). */
function branchArms(source: string, functions?: readonly string[]): Arm[] {
  const ast = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'module' });
  const spans = functions ? namedFunctions(ast, functions) : [[0, source.length] as [number, number]];
  const inside = (n: Node): boolean => spans.some(([s, e]) => s <= n.start && n.end <= e);
  const arms: Arm[] = [];
  walk.full(ast, (n) => {
    const node = n as Node;
    if (!inside(node)) return;
    if (node.type === 'IfStatement') {
      const c = node.consequent;
      arms.push({ at: c.start });
      if (node.alternate) arms.push({ at: node.alternate.start });
      // past the if: the else path, plus the then path where it ended normally; that is at most the
      // times it began, and at most the count at its end (which is too high after a nested block)
      else arms.push(jumps(c) ? { at: node.end } : { at: node.end, minus: [c.start, c.end - 1] });
    } else if (node.type === 'ConditionalExpression') {
      arms.push({ at: node.consequent.start }, { at: node.alternate.start });
    } else if (node.type === 'LogicalExpression') {
      arms.push({ at: node.right.start });
    } else if (node.type === 'SwitchCase' && node.consequent.length > 0) {
      arms.push({ at: (node.consequent[0] as Node).start });
    }
  });
  return arms;
}

/** Covered arms of `arms` given one script's V8 coverage. */
function countCovered(arms: Arm[], script: Profiler.ScriptCoverage): number {
  const ranges = script.functions.flatMap((f) => f.ranges);
  let covered = 0;
  for (const a of arms) {
    const c = countAt(ranges, a.at);
    if (c > (a.minus === undefined ? 0 : Math.min(...a.minus.map((m) => countAt(ranges, m))))) covered++;
  }
  return covered;
}

/** V8 precise coverage of this process, from start() on. */
export class V8Coverage {
  private readonly session = new Session();
  private debugger = false;

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** The counts so far. */
  async take(): Promise<Profiler.ScriptCoverage[]> {
    return (await this.session.post('Profiler.takePreciseCoverage')).result;
  }

  /** Branch arms of `sources` and how many ran, in the scripts of `scripts` whose path ends so. */
  async branches(
    sources: readonly CoverageSource[],
    scripts: Profiler.ScriptCoverage[],
  ): Promise<BranchCount> {
    if (!this.debugger) {
      await this.session.post('Debugger.enable');
      this.debugger = true;
    }
    const total: BranchCount = { arms: 0, covered: 0 };
    for (const s of sources) {
      const script = scripts.find(
        (x) => x.url.startsWith('file://') && new URL(x.url).pathname.endsWith(`/${s.file}`),
      );
      if (!script) throw new Error(`no coverage for ${s.file}: was it loaded after start()?`);
      const { scriptSource } = await this.session.post('Debugger.getScriptSource', {
        scriptId: script.scriptId,
      });
      const arms = branchArms(scriptSource, s.functions);
      if (arms.length === 0) throw new Error(`no branches found in ${s.file} ${String(s.functions)}`);
      total.arms += arms.length;
      total.covered += countCovered(arms, script);
    }
    return total;
  }

  async stop(): Promise<void> {
    await this.session.post('Profiler.stopPreciseCoverage');
    if (this.debugger) await this.session.post('Debugger.disable');
    await this.session.post('Profiler.disable');
    this.session.disconnect();
  }
}
