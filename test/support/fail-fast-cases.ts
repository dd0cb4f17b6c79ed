/**
 * What `budlink` can refuse before anything boots or connects: each case must exit 2 with its message,
 * at once. The CLI test runs them, and the benchmark counts the ones that don't
 * (`ux.cli_fail_fast_failures`). `prepare(dir)` writes the files the cases name into the working directory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWav } from '@budlink/protocol/audio';
import { main } from '../../host/src/cli/main';

export interface FailFastCase {
  args: string[];
  /** Part of the message on stderr. */
  message: string;
}

export const FAIL_FAST_CASES: readonly FailFastCase[] = [
  {
    args: ['simulate', '--earbuds', '2.5'],
    message: "--earbuds must be a whole number between 1 and 8, got '2.5'",
  },
  { args: ['simulate', '--speed', '-1'], message: "--speed must be a number between 0.1 and 50, got '-1'" },
  {
    args: ['demo', '--board', 'esp32'],
    message: "--board must be one of nrf52840dk, puckjs, mdbt42q, thingy52, microbit2, got 'esp32'",
  },
  { args: ['simulate', '--board', 'esp32'], message: '--board must be one of' },
  {
    args: ['simulate', '--board', 'thingy52'],
    message: '--board thingy52: the firmware does not drive its pdm microphone yet',
  },
  { args: ['simulate', '--wav', 'not.wav'], message: '--wav not.wav: not a WAV the earbud can speak' },
  { args: ['demo', '--wav', 'silent.wav'], message: '--wav silent.wav: no speech in it (silent' },
  { args: ['simulate', '--scenario', 'plan.json'], message: 'scenario plan.json: no earbud 3 (there are 1)' },
  { args: ['demo', '--timeout', '1500.5'], message: '--timeout must be a whole number' },
  { args: ['demo', '--sped', '3'], message: "'--sped'" },
  { args: ['simulat'], message: "unknown command 'simulat' (did you mean 'simulate'?)" },
  {
    args: ['simulate', '--link', 'in-process', '--transport', 'bluez'],
    message: "--transport bluez contradicts link 'in-process'",
  },
  { args: ['demo', '--link', 'node-ble', '--transport', 'in-process'], message: 'contradicts link' },
];

/** The files the cases name. */
export function prepareFailFast(dir: string): void {
  writeFileSync(join(dir, 'not.wav'), 'hello, I am text');
  writeFileSync(join(dir, 'silent.wav'), encodeWav(new Int16Array(8000), 8000));
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({ steps: [{ tap: 3 }] }));
}

export interface FailFastResult {
  case: FailFastCase;
  code: number;
  err: string;
  ms: number;
  /** Exit 2, the message, nothing started, within 2 s. */
  ok: boolean;
}

/** Run one case in `dir` (after prepareFailFast). */
export async function runFailFast(c: FailFastCase, dir: string): Promise<FailFastResult> {
  const err: string[] = [];
  const t0 = performance.now();
  const code = await main(c.args, { stdout: () => undefined, stderr: (t) => err.push(t), env: {}, cwd: dir });
  const ms = performance.now() - t0;
  const text = err.join('\n');
  const ok = code === 2 && text.includes(c.message) && !text.includes('starting') && ms < 2000;
  return { case: c, code, err: text, ms, ok };
}
