/**
 * Figures of the codebase's shape (docs/adr/0005), measured on the source with the TypeScript parser:
 *
 *   arch.largest_function_lines          lines of the longest function, method or arrow function
 *                                        (firmware, host, protocol, scripts and test support; tests excluded)
 *   arch.largest_file_lines              lines of the longest such file
 *   arch.host_imports_of_firmware_sim    host source files outside `cli/demo.ts` and `cli/simulate.ts`
 *                                        that import the simulator (`@budlink/sim`, or firmware/sim by path)
 *
 * It prints the worst offenders so the figure can be acted on.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Bench } from './run';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SKIP = new Set(['node_modules', 'dist', '.cache', '.tsbuild', '.tmp', '.git']);

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Product and support source: everything under these folders except test files and the test suites. */
export function productFiles(): string[] {
  const all = ['firmware', 'host', 'protocol', 'scripts', join('test', 'support')].flatMap((d) =>
    sources(join(root, d)),
  );
  return all.map((f) => relative(root, f)).sort();
}

interface Span {
  file: string;
  name: string;
  lines: number;
}

function functionSpans(file: string): Span[] {
  const text = readFileSync(join(root, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const spans: Span[] = [];
  const lineOf = (pos: number): number => sf.getLineAndCharacterOfPosition(pos).line;
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const name =
        'name' in n && n.name && ts.isIdentifier(n.name as ts.Node)
          ? (n.name as ts.Identifier).text
          : '(anonymous)';
      spans.push({ file, name, lines: lineOf(n.getEnd()) - lineOf(n.getStart(sf)) + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return spans;
}

/** Host files allowed to reach the simulator: the two commands that run one (they hand `createEarbud` on). */
const SIM_USERS = new Set(['host/src/cli/demo.ts', 'host/src/cli/simulate.ts']);

export function hostSimImporters(files: string[]): string[] {
  // static imports and re-exports (`from '…'`) and dynamic ones (`import('…')`)
  const re =
    /(?:from\s+|import\s*\(\s*)['"](@budlink\/sim(?:\/[^'"]*)?|[./]+\/firmware\/sim(?:\/[^'"]*)?)['"]/;
  return files.filter(
    (f) => f.startsWith('host/') && !SIM_USERS.has(f) && re.test(readFileSync(join(root, f), 'utf8')),
  );
}

const bench: Bench = {
  name: 'arch',
  run() {
    const files = productFiles();
    const spans = files.flatMap(functionSpans).sort((a, b) => b.lines - a.lines);
    const sizes = files
      .map((f) => ({ file: f, lines: readFileSync(join(root, f), 'utf8').split('\n').length }))
      .sort((a, b) => b.lines - a.lines);
    const importers = hostSimImporters(files);
    process.stdout.write('  longest functions:\n');
    for (const s of spans.slice(0, 5)) process.stdout.write(`    ${s.lines}  ${s.file} ${s.name}\n`);
    process.stdout.write('  longest files:\n');
    for (const s of sizes.slice(0, 5)) process.stdout.write(`    ${s.lines}  ${s.file}\n`);
    for (const f of importers) process.stdout.write(`  imports the simulator: ${f}\n`);
    return Promise.resolve({
      'arch.largest_function_lines': spans[0]?.lines ?? 0,
      'arch.largest_file_lines': sizes[0]?.lines ?? 0,
      'arch.host_imports_of_firmware_sim': importers.length,
    });
  },
};
export default bench;
