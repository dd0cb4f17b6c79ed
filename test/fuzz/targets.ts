/**
 * Every parser reachable from outside, with its share of the fuzz cases: the test run takes 100,000
 * cases in all (test/fuzz/fuzz.test.ts), the benchmark ten times as many (bench/fuzz.bench.ts).
 * The Realtime events go through a WebSocket per turn, so they get a smaller share.
 */
import { appTarget, codecTarget, deframeTarget, wireTarget } from './frames';
import { configFileTarget, voiceConfigTarget } from './config';
import { realtimeTarget } from './realtime';
import { sseTarget } from './sse';
import { wavTarget } from './wav';
import { runTarget, type AsyncTarget, type RunStats, type Target } from './fuzz';

export interface Entry {
  target: Target<unknown> | AsyncTarget;
  /** Cases in the test run; the benchmark runs BENCH_FACTOR times as many. */
  cases: number;
}

export const TEST_CASES = 100_000;
export const BENCH_FACTOR = 10;

export const TARGETS: Entry[] = [
  { target: codecTarget, cases: 18_000 },
  { target: wireTarget, cases: 15_000 },
  { target: appTarget, cases: 15_000 },
  { target: deframeTarget, cases: 10_000 },
  { target: sseTarget, cases: 12_000 },
  { target: wavTarget, cases: 12_000 },
  { target: configFileTarget, cases: 5_000 },
  { target: voiceConfigTarget, cases: 8_000 },
  { target: realtimeTarget, cases: 5_000 },
];

/** Run one entry's target for `cases` cases from `seed`. */
export async function runEntry(e: Entry, cases: number, seed: number): Promise<RunStats> {
  const t = e.target;
  return 'run' in t ? t.run(cases, seed) : runTarget(t, cases, seed);
}
