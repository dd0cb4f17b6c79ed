/**
 * Scenarios for `budlink simulate --scenario FILE`: a JSON list of steps (say a WAV, tap, silence,
 * wait, drop the link, power-cycle) read and checked here, and run against simulated earbuds by
 * runScenario. Waits run on an injectable scheduler (virtual time in tests); the wait for an
 * utterance's report is the target's, driven by the bridge's events rather than by polling.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { asyncScheduler, firstValueFrom, fromEvent, takeUntil, timer, type SchedulerLike } from 'rxjs';
import { UsageError } from './io';

export type Step =
  | { say: string; earbud?: number }
  | { tap: number }
  | { silence: number; earbud?: number }
  | { wait: number }
  | { dropLink: number }
  | { powerCycle: number };

const KINDS = ['say', 'tap', 'silence', 'wait', 'dropLink', 'powerCycle'] as const;

/** The steps of a parsed scenario file (`name` is for messages); UsageError when they are not steps. */
export function parseScenario(parsed: unknown, name: string): Step[] {
  const steps =
    typeof parsed === 'object' && parsed !== null ? (parsed as { steps?: unknown }).steps : undefined;
  if (!Array.isArray(steps)) throw new UsageError(`scenario ${name}: expected { "steps": [...] }`);
  return steps.map((s: unknown, i) => checkStep(s, i, name));
}

function checkStep(s: unknown, i: number, name: string): Step {
  const step = typeof s === 'object' && s !== null ? (s as Record<string, unknown>) : {};
  const keys = Object.keys(step);
  const kind = KINDS.find((k) => keys.includes(k));
  const extra = keys.filter((k) => k !== kind && k !== 'earbud');
  const fail = (why: string): never => {
    throw new UsageError(`scenario ${name}: step ${i} ${why}`);
  };
  if (!kind || extra.length > 0) {
    fail(`must have one of ${KINDS.join(', ')}${extra.length ? ` (unknown: ${extra.join(', ')})` : ''}`);
  }
  const value = step[kind as string];
  if (kind === 'say' ? typeof value !== 'string' : typeof value !== 'number') {
    fail(`'${String(kind)}' must be a ${kind === 'say' ? 'file name' : 'number'}`);
  }
  if (step.earbud !== undefined && typeof step.earbud !== 'number') fail(`'earbud' must be a number`);
  return step as Step;
}

/**
 * The steps of scenario file `path` (relative to `cwd`). A WAV a step says is found relative to the
 * scenario file, as its author wrote it, wherever the command runs.
 */
export function readScenario(path: string, cwd: string): Step[] {
  const file = resolve(cwd, path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`scenario ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseScenario(parsed, path).map((step) =>
    'say' in step ? { ...step, say: resolve(dirname(file), step.say) } : step,
  );
}

/** An utterance a scenario had an earbud say: which earbud, the WAV (resolved) and its length. */
export interface Spoken {
  earbud: number;
  path: string;
  ms: number;
}

/** The steps of a run without a scenario: every earbud says each WAV in turn. */
export function sayEach(wavs: readonly string[], earbuds: number): Step[] {
  return wavs.flatMap((w) => Array.from({ length: earbuds }, (_, i): Step => ({ say: w, earbud: i })));
}

/** What a scenario acts on. */
export interface ScenarioEarbud {
  /** Speak a WAV file; returns its duration (ms). */
  feedWav(path: string): number;
  feedSilence(ms: number): void;
  pressButton(ms: number): void;
  powerCycle(): void;
}

export interface ScenarioTarget {
  readonly earbuds: readonly ScenarioEarbud[];
  /** Drop earbud `i`'s link for a moment (it reconnects). */
  dropLink(i: number): void;
  /** Resolves once `n` utterances have been reported, or after `timeoutMs`, or on abort. */
  reported(n: number, timeoutMs: number): Promise<void>;
}

export interface ScenarioOptions {
  /** Progress lines. */
  say: (line: string) => void;
  /** Stops the run between steps (and cuts a wait short). */
  signal: AbortSignal;
  /** WAV paths are resolved against this directory. */
  cwd: string;
  /** How long to wait for an utterance's report (default 60000 ms). */
  replyTimeoutMs?: number;
  /** Timers of `wait` steps (default asyncScheduler). */
  scheduler?: SchedulerLike;
}

/** Silence after each utterance, so the earbud's VAD closes the gate (ms). */
const HANGOVER_MS = 2000;

/**
 * Run `steps` in order, each one saying what it does; returns the utterances spoken. After a `say`,
 * waits for its report before the next step, except that when several earbuds take turns, they
 * speak at once and the wait comes after the last one's turn.
 */
export async function runScenario(
  steps: readonly Step[],
  target: ScenarioTarget,
  options: ScenarioOptions,
): Promise<Spoken[]> {
  const count = target.earbuds.length;
  const replyTimeoutMs = options.replyTimeoutMs ?? 60000;
  const earbud = (i: number | undefined): ScenarioEarbud => {
    const e = target.earbuds[i ?? 0];
    if (!e) throw new UsageError(`scenario: no earbud ${String(i)}`);
    return e;
  };
  const spoken: Spoken[] = [];
  for (const step of steps) {
    if (options.signal.aborted) break;
    if ('say' in step) {
      const i = step.earbud ?? 0;
      const path = resolve(options.cwd, step.say);
      const ms = earbud(i).feedWav(path);
      earbud(i).feedSilence(HANGOVER_MS);
      spoken.push({ earbud: i, path, ms });
      options.say(`earbud ${i} says ${step.say} (${(ms / 1000).toFixed(1)} s)`);
      if (count === 1 || i === count - 1) await target.reported(spoken.length, replyTimeoutMs);
    } else if ('tap' in step) {
      earbud(step.tap).pressButton(100);
      options.say(`earbud ${step.tap}: tap`);
    } else if ('silence' in step) {
      earbud(step.earbud).feedSilence(step.silence);
      options.say(`earbud ${step.earbud ?? 0}: ${step.silence} ms of silence`);
    } else if ('wait' in step) {
      options.say(`waiting ${step.wait} ms`);
      await wait(step.wait, options);
    } else if ('dropLink' in step) {
      earbud(step.dropLink);
      target.dropLink(step.dropLink);
      options.say(`earbud ${step.dropLink}: link dropped`);
    } else {
      earbud(step.powerCycle).powerCycle();
      options.say(`earbud ${step.powerCycle}: power-cycled`);
    }
  }
  return spoken;
}

function wait(ms: number, options: ScenarioOptions): Promise<void> {
  const aborted$ = fromEvent(options.signal, 'abort');
  const done$ = timer(ms, options.scheduler ?? asyncScheduler).pipe(takeUntil(aborted$));
  return firstValueFrom(done$, { defaultValue: 0 }).then(() => undefined);
}
