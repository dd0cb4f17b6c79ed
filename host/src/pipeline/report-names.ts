/**
 * Utterance reports as people and scripts read them: the protocol's numbers (trigger, END reason) as
 * names, for log lines, summaries and `--json` output.
 */
import { EndReason, Trigger } from '@budlink/protocol';
import type { UtteranceReport } from './types';

const TRIGGERS: Record<number, string> = {
  [Trigger.WAKEWORD]: 'wake-word',
  [Trigger.TAP]: 'tap',
  [Trigger.HOST]: 'host',
  [Trigger.VAD]: 'voice-activity',
};

const END_REASONS: Record<number, string> = {
  [EndReason.SILENCE]: 'silence',
  [EndReason.TAP]: 'tap',
  [EndReason.MAX_LENGTH]: 'max-length',
  [EndReason.CANCELLED]: 'cancelled',
  [EndReason.HOST]: 'host',
  [EndReason.ERROR]: 'error',
};

/** WAKE.trigger by name ('trigger-N' for a code this version does not know). */
export function triggerName(code: number | undefined): string | undefined {
  return code === undefined ? undefined : (TRIGGERS[code] ?? `trigger-${code}`);
}

/** END.reason by name ('reason-N' for a code this version does not know). */
export function endReasonName(code: number | undefined): string | undefined {
  return code === undefined ? undefined : (END_REASONS[code] ?? `reason-${code}`);
}

/** A report for JSON output: codes replaced by their names. */
export function reportForJson(r: UtteranceReport): Record<string, unknown> {
  return { ...r, trigger: triggerName(r.trigger), endReason: endReasonName(r.endReason) };
}
