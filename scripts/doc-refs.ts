/**
 * Dead references in the project's docs: the commands, options, npm scripts and repository paths that
 * README.md, docs/ and the package READMEs name, checked against what exists. Used by a test (none may
 * be dead) and by the benchmark (`ux.docs_dead_references`).
 *
 * What is read: inline code spans, fenced code blocks and relative links. Checked there:
 *   - `budlink CMD [--opt ...]`: CMD is a command, each --opt one of its options or a global one;
 *   - `npm run NAME`: a script of the root package.json;
 *   - repository paths (`firmware/…`, `host/…`, `protocol/…`, `test/…`, `docs/…`, `bench/…`,
 *     `scripts/…`, `.ci/…`): the file or folder exists (a glob: its folder before the first `*`);
 *   - relative links: the target exists.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GLOBAL_OPTIONS } from '../host/src/cli/command';
import { COMMANDS } from '../host/src/cli/commands';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SKIP = new Set(['node_modules', '.cache', '.tsbuild', '.tmp', '.git', 'dist']);

export interface DeadReference {
  file: string;
  line: number;
  what: string;
  why: string;
}

/** The Markdown files the check reads: README.md, docs/**, and every README.md in the source folders. */
export function docFiles(root = ROOT): string[] {
  const out = ['README.md'];
  const walk = (dir: string, all: boolean): void => {
    if (!existsSync(join(root, dir))) return;
    for (const name of readdirSync(join(root, dir))) {
      if (SKIP.has(name)) continue;
      const rel = join(dir, name);
      if (statSync(join(root, rel)).isDirectory()) walk(rel, all);
      else if (name.endsWith('.md') && (all || name === 'README.md')) out.push(rel);
    }
  };
  walk('docs', true);
  for (const d of ['firmware', 'host', 'protocol', 'test', 'bench', 'scripts']) walk(d, false);
  return out.filter((f) => existsSync(join(root, f)));
}

const PATH =
  /(?:^|[\s(`'"=:])((?:firmware|host|protocol|test|docs|bench|scripts|\.ci)\/[A-Za-z0-9_.*/{},@-]*[A-Za-z0-9_*/}-])/g;

/** Code spans and fenced blocks of a Markdown text, each with the line it starts on. */
function codeOf(text: string): { code: string; line: number }[] {
  const out: { code: string; line: number }[] = [];
  const lines = text.split('\n');
  let fence: string[] | undefined;
  let fenceLine = 0;
  lines.forEach((l, i) => {
    if (/^\s*```/.test(l)) {
      if (fence) {
        out.push({ code: fence.join('\n'), line: fenceLine });
        fence = undefined;
      } else {
        fence = [];
        fenceLine = i + 2;
      }
      return;
    }
    if (fence) {
      fence.push(l);
      return;
    }
    for (const m of l.matchAll(/`([^`]+)`/g)) out.push({ code: m[1] as string, line: i + 1 });
  });
  return out;
}

/** Package folders a doc may name paths relative to (a package README, or a doc about that package). */
const PACKAGES = ['firmware', 'host', 'host/link', 'protocol'];

/** What the build or a run writes (ignored by git, so absent from a clean clone): named, not checked. */
function generated(root: string): string[] {
  const ignore = join(root, '.gitignore');
  if (!existsSync(ignore)) return [];
  return readFileSync(ignore, 'utf8')
    .split('\n')
    .map((l) => l.trim().replace(/\/+$/, ''))
    .filter((l) => l !== '' && !l.startsWith('#') && !l.includes('*'));
}

/**
 * `p` exists relative to the root, the doc's own folder, or a package folder (a glob: its fixed
 * part), or is something the build or a run writes.
 */
function pathExists(root: string, file: string, p: string, outputs: readonly string[]): boolean {
  const star = p.search(/[*{]/);
  const fixed = (star < 0 ? p : p.slice(0, star).replace(/[^/]*$/, '')).replace(/\/+$/, '') || '.';
  if (outputs.some((g) => fixed === g || fixed.startsWith(`${g}/`))) return true;
  return ['.', dirname(file), ...PACKAGES].some((base) => existsSync(join(root, base, fixed)));
}

/** Every dead reference in the docs under `root`. */
export function deadReferences(root = ROOT): DeadReference[] {
  const outputs = generated(root);
  const scripts = Object.keys(
    (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
      .scripts,
  );
  const dead: DeadReference[] = [];
  for (const file of docFiles(root)) {
    const text = readFileSync(join(root, file), 'utf8');
    const add = (line: number, what: string, why: string): void => {
      if (!dead.some((d) => d.file === file && d.what === what)) dead.push({ file, line, what, why });
    };
    for (const { code, line } of codeOf(text)) {
      for (const cmdLine of code.split('\n')) {
        for (const m of cmdLine.matchAll(/\bbudlink\s+([a-z][a-z-]*)((?:\s+[^\s|&;]+)*)/g)) {
          const name = m[1] as string;
          const cmd = COMMANDS[name];
          if (!cmd) {
            if (name !== 'help') add(line, `budlink ${name}`, 'no such command');
            continue;
          }
          for (const o of (m[2] ?? '').matchAll(/\s--([a-z][a-z-]*)/g)) {
            const opt = o[1] as string;
            if (!(opt in cmd.options) && !(opt in GLOBAL_OPTIONS))
              add(line, `budlink ${name} --${opt}`, `no option --${opt}`);
          }
        }
        for (const m of cmdLine.matchAll(/\bnpm run ([a-z][a-z:-]*)/g)) {
          if (!scripts.includes(m[1] as string)) add(line, `npm run ${m[1] as string}`, 'no such npm script');
        }
      }
      for (const m of code.matchAll(PATH)) {
        const p = (m[1] as string).replace(/[.,:]+$/, '');
        if (!pathExists(root, file, p, outputs)) add(line, p, 'no such path');
      }
    }
    text.split('\n').forEach((l, i) => {
      for (const m of l.matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(resolve(root, dirname(file), target))) add(i + 1, target, 'link to nothing');
      }
    });
  }
  return dead;
}

/** `npx tsx scripts/doc-refs.ts`: list them; exit 1 if any. */
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dead = deadReferences();
  for (const d of dead) process.stdout.write(`${d.file}:${d.line}: ${d.what}: ${d.why}\n`);
  process.stdout.write(`${dead.length} dead reference(s) in ${docFiles().length} files\n`);
  process.exit(dead.length ? 1 : 0);
}
