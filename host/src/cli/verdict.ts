/**
 * Was each utterance a simulated earbud spoke answered? `budlink simulate` matches, per earbud, the
 * n-th utterance spoken with the n-th report the bridge made for that earbud, and calls it answered
 * only when that report is complete and as long as the speech in the WAV (a reply to a question cut
 * short is not an answer). A spoken utterance with no report, and a report for nothing spoken (the
 * earbud's VAD split one utterance in two), are failures too.
 */
import type { UtteranceReport } from '../pipeline/types';
import type { Spoken } from './scenario';

/** A report shorter than this share of the speech in its WAV is truncated. */
export const TRUNCATED_BELOW = 0.9;

export interface Judged {
  spoken: Spoken;
  report?: UtteranceReport;
  answered: boolean;
  /** Why it was not answered. */
  why?: string;
}

export interface RunVerdict {
  judged: Judged[];
  /** Reports beyond what each earbud spoke: `earbud i: n report(s) for m utterance(s) spoken`. */
  extra: string[];
  answered: number;
  /** Every utterance answered and nothing else reported. */
  ok: boolean;
}

/**
 * Judge a run: `reports` per earbud index, in the order the bridge made them; `speechMs(path)` is
 * the length of the speech in a WAV (from its first to its last sound).
 */
export function judgeRun(
  spoken: readonly Spoken[],
  reports: readonly (readonly UtteranceReport[])[],
  speechMs: (path: string) => number,
): RunVerdict {
  const next = reports.map(() => 0);
  const judged = spoken.map((s): Judged => {
    const i = next[s.earbud] ?? 0;
    next[s.earbud] = i + 1;
    const report = reports[s.earbud]?.[i];
    if (!report) return { spoken: s, answered: false, why: 'no report: the bridge never heard it end' };
    if (report.outcome !== 'complete') {
      return {
        spoken: s,
        report,
        answered: false,
        why: `${report.outcome}${report.error ? `: ${report.error}` : ''}`,
      };
    }
    const want = speechMs(s.path);
    if (report.durationMs < want * TRUNCATED_BELOW) {
      const got = (report.durationMs / 1000).toFixed(2);
      return {
        spoken: s,
        report,
        answered: false,
        why: `truncated: ${got} s heard of ${(want / 1000).toFixed(2)} s said`,
      };
    }
    return { spoken: s, report, answered: true };
  });
  const extra: string[] = [];
  reports.forEach((r, i) => {
    const said = spoken.filter((s) => s.earbud === i).length;
    if (r.length > said) extra.push(`earbud ${i}: ${r.length} report(s) for ${said} utterance(s) spoken`);
  });
  const answered = judged.filter((j) => j.answered).length;
  return {
    judged,
    extra,
    answered,
    ok: answered === spoken.length && spoken.length > 0 && extra.length === 0,
  };
}

/**
 * The speech in decoded audio: from the first to the last 20 ms block louder than a tenth of its
 * loudest (RMS) block, in ms, without the silence around it; and that loudest block (RMS, of 32768).
 */
export function speechSpan({ samples, sampleRate }: { samples: Int16Array; sampleRate: number }): {
  ms: number;
  loudest: number;
} {
  const block = Math.max(1, Math.round(sampleRate / 50));
  const rms: number[] = [];
  for (let at = 0; at < samples.length; at += block) {
    let sum = 0;
    const end = Math.min(samples.length, at + block);
    for (let i = at; i < end; i++) sum += (samples[i] as number) * (samples[i] as number);
    rms.push(Math.sqrt(sum / (end - at)));
  }
  const loudest = rms.reduce((m, r) => (r > m ? r : m), 0);
  if (loudest === 0) return { ms: 0, loudest };
  const first = rms.findIndex((r) => r >= loudest / 10);
  const last = rms.length - 1 - [...rms].reverse().findIndex((r) => r >= loudest / 10);
  return { ms: ((last - first + 1) * block * 1000) / sampleRate, loudest };
}
