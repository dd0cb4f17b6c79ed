/**
 * Builds the real Espruino interpreter (Linux, 32-bit) for each Budlink board, with the Budlink
 * hardware shim, and caches the binaries in .cache/espruino/ (ignored by git).
 *
 *   npx tsx firmware/sim/espruino/build/build.ts                all boards, as on the device (RELEASE, -Os)
 *   npx tsx firmware/sim/espruino/build/build.ts --debug puckjs  -O0 with the interpreter's asserts, for gdb
 *
 * Release is the default everywhere: it is the build a device runs. (The debug build's asserts also
 * fire on valid code: an arrow function using `this` in a branch that is parsed but not executed trips
 * `jsvHasChildren` in jspeArrowFunction; the release build ignores that case by design.)
 *
 * Source: ../shared/espruino next to the repository when it exists (the pinned tree), otherwise a clone
 * of upstream at ESPRUINO_COMMIT in .cache/espruino/upstream. The build tree is a copy of it (Espruino's
 * Makefile calls `git log`, so it is made a git repository), with linux-hardware.patch applied, the
 * shim in libs/budlink and one generated board file per board (boards.ts). A key over every input
 * decides when the tree and the binaries are stale.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESPRUINO_BOARDS, ESPRUINO_COMMIT, ESPRUINO_REPO, boardFile, type EspruinoBoard } from './boards';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..', '..', '..');
export const cacheDir = join(repoRoot, '.cache', 'espruino');
const shimDir = join(here, 'shim');
const patchFile = join(here, 'linux-hardware.patch');

export type BuildMode = 'debug' | 'release';

/** Where the binary for a board and mode is (built or not); `vars` for a heap other than the board's. */
export function binaryPath(board: string, mode: BuildMode = 'release', vars?: number): string {
  return join(cacheDir, 'bin', `${board}-${mode}${vars ? `-v${vars}` : ''}`);
}

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').slice(-40).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd} (exit ${r.status}):\n${out}`);
  }
}

/** The pinned source: the shared tree if present, else a clone of upstream at the pinned commit. */
export function sourceDir(): string {
  const shared = resolve(repoRoot, '..', 'shared', 'espruino');
  if (existsSync(join(shared, 'Makefile')) && existsSync(join(shared, 'src', 'jsvar.c'))) return shared;
  const up = join(cacheDir, 'upstream');
  if (!existsSync(join(up, 'Makefile'))) {
    mkdirSync(cacheDir, { recursive: true });
    rmSync(up, { recursive: true, force: true });
    process.stderr.write(`espruino: no ../shared/espruino; cloning ${ESPRUINO_REPO} at ${ESPRUINO_COMMIT}\n`);
    sh('git', ['clone', '--quiet', '--no-checkout', ESPRUINO_REPO, up], cacheDir);
    sh('git', ['checkout', '--quiet', ESPRUINO_COMMIT], up);
  }
  return up;
}

function hashInputs(src: string): string {
  const h = createHash('sha256');
  h.update(ESPRUINO_COMMIT);
  h.update(src);
  h.update(readFileSync(patchFile));
  for (const f of readdirSync(shimDir).sort()) h.update(f).update(readFileSync(join(shimDir, f)));
  for (const b of Object.values(ESPRUINO_BOARDS)) h.update(boardFile(b));
  return h.digest('hex').slice(0, 16);
}

/** A build tree for the current inputs: reused when its key matches, rebuilt otherwise. */
function prepareTree(): { tree: string; key: string } {
  const src = sourceDir();
  const key = hashInputs(src);
  const tree = join(cacheDir, 'tree');
  const keyFile = join(tree, '.budlink-key');
  if (existsSync(keyFile) && readFileSync(keyFile, 'utf8') === key) return { tree, key };
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${tree}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  cpSync(src, tmp, {
    recursive: true,
    filter: (p) => !/^[/\\](\.git|gen|obj|bin)([/\\]|$)/.test(p.slice(src.length)),
  });
  mkdirSync(join(tmp, 'bin'), { recursive: true });
  const git = (args: string[]): void =>
    sh('git', ['-c', 'user.email=build@budlink', '-c', 'user.name=budlink', ...args], tmp);
  git(['init', '--quiet']);
  git(['apply', patchFile]);
  mkdirSync(join(tmp, 'libs', 'budlink'), { recursive: true });
  for (const f of readdirSync(shimDir)) cpSync(join(shimDir, f), join(tmp, 'libs', 'budlink', f));
  for (const b of Object.values(ESPRUINO_BOARDS))
    writeFileSync(join(tmp, 'boards', `BUDLINK_${b.id.toUpperCase()}.py`), boardFile(b));
  git(['add', '-A']);
  git(['commit', '--quiet', '-m', `pinned ${ESPRUINO_COMMIT} + budlink`]);
  writeFileSync(join(tmp, '.budlink-key'), key);
  renameSync(tmp, tree);
  return { tree, key };
}

/**
 * Build (if needed) and return the binary path of one board. `vars` builds it with another JsVar count
 * (diagnostics only: how much a firmware that does not fit would need; below 4,096 the JsVar layout
 * stays the board's).
 */
export function buildBoard(board: EspruinoBoard, mode: BuildMode = 'release', vars?: number): string {
  const { tree, key } = prepareTree();
  const out = binaryPath(board.id, mode, vars);
  const stamp = `${out}.key`;
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return out;
  const dir = `${board.id}-${mode}${vars ? `-v${vars}` : ''}`;
  for (const d of ['gen', 'obj']) mkdirSync(join(tree, d, dir), { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, BOARD: `BUDLINK_${board.id.toUpperCase()}` };
  if (vars) env.VARIABLES = String(vars);
  const args = [
    `-j${Math.max(1, cpus().length)}`,
    `GENDIR=gen/${dir}`,
    `OBJDIR=obj/${dir}`,
    'SINGLETHREAD=1',
  ];
  if (mode === 'release') args.push('RELEASE=1', 'OPTIMIZEFLAGS=-Os');
  const t0 = Date.now();
  sh('make', args, tree, env);
  mkdirSync(dirname(out), { recursive: true });
  cpSync(join(tree, 'bin', `espruino_budlink_${board.id}`), out);
  rmSync(join(tree, 'bin', `espruino_budlink_${board.id}`));
  writeFileSync(stamp, key);
  process.stderr.write(
    `espruino: ${board.id} (${mode}${vars ? `, ${vars} JsVars` : ''}) built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  return out;
}

/** Is the binary for this board and mode present and built from the current inputs? (No building.) */
export function isBuilt(board: string, mode: BuildMode = 'release'): boolean {
  const out = binaryPath(board, mode);
  if (!existsSync(out) || !existsSync(`${out}.key`)) return false;
  try {
    return readFileSync(`${out}.key`, 'utf8') === hashInputs(sourceDir());
  } catch {
    return false;
  }
}

/** Can this machine build it? (gcc with 32-bit support, make, python3.) */
export function toolchainProblem(): string | null {
  for (const [cmd, args] of [
    ['make', ['--version']],
    ['python3', ['--version']],
    ['gcc', ['--version']],
  ] as const) {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
    } catch {
      return `${cmd} is missing (scripts/install-system-deps.sh installs it)`;
    }
  }
  const r = spawnSync('gcc', ['-m32', '-x', 'c', '-', '-o', '/dev/null'], {
    input: 'int main(void){return 0;}',
    encoding: 'utf8',
  });
  if (r.status !== 0)
    return '32-bit gcc support is missing: install gcc-multilib (scripts/install-system-deps.sh)';
  return null;
}

function main(): void {
  const argv = process.argv.slice(2);
  const mode: BuildMode = argv.includes('--debug') ? 'debug' : 'release';
  const v = argv.find((a) => a.startsWith('--vars='));
  const vars = v ? Number(v.slice(7)) : undefined;
  const names = argv.filter((a) => !a.startsWith('--'));
  const boards = names.length ? names : Object.keys(ESPRUINO_BOARDS);
  const problem = toolchainProblem();
  if (problem) {
    process.stderr.write(`espruino: cannot build: ${problem}\n`);
    process.exit(2);
  }
  for (const n of boards) {
    const b = ESPRUINO_BOARDS[n];
    if (!b) {
      process.stderr.write(
        `espruino: unknown board '${n}' (known: ${Object.keys(ESPRUINO_BOARDS).join(', ')})\n`,
      );
      process.exit(2);
    }
    process.stdout.write(`${buildBoard(b, mode, vars)}\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
