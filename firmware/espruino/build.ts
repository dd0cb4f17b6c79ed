/**
 * Builds the real Espruino interpreter (Linux, 32-bit) for each Budlink board, with the Budlink
 * hardware shim, and caches the binaries in .cache/espruino/ (ignored by git).
 *
 *   npx tsx firmware/espruino/build.ts                 all boards, debug builds (-O0, asserts on)
 *   npx tsx firmware/espruino/build.ts --release puckjs  optimised (-Os, asserts off), as on the device
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
export const repoRoot = resolve(here, '..', '..');
export const cacheDir = join(repoRoot, '.cache', 'espruino');
const shimDir = join(here, 'shim');
const patchFile = join(here, 'linux-hardware.patch');

export type BuildMode = 'debug' | 'release';

/** Where the binary for a board and mode is (built or not). */
export function binaryPath(board: string, mode: BuildMode = 'debug'): string {
  return join(cacheDir, 'bin', `${board}-${mode}`);
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

/** Build (if needed) and return the binary path of one board. */
export function buildBoard(board: EspruinoBoard, mode: BuildMode = 'debug'): string {
  const { tree, key } = prepareTree();
  const out = binaryPath(board.id, mode);
  const stamp = `${out}.key`;
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return out;
  const dir = `${board.id}-${mode}`;
  for (const d of ['gen', 'obj']) mkdirSync(join(tree, d, dir), { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, BOARD: `BUDLINK_${board.id.toUpperCase()}` };
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
    `espruino: ${board.id} (${mode}) built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  return out;
}

/** Is the binary for this board and mode present and built from the current inputs? (No building.) */
export function isBuilt(board: string, mode: BuildMode = 'debug'): boolean {
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
  const mode: BuildMode = argv.includes('--release') ? 'release' : 'debug';
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
    process.stdout.write(`${buildBoard(b, mode)}\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
