/**
 * Per-utterance reports of one device: opened at the WAKE, filled in when the utterance completes,
 * time-stamped at each stage (ms from the WAKE, host clock: end of utterance, verdict, service
 * request, first reply audio, first PLAY, playback end) and finished once with an outcome. It holds
 * the one utterance still being received or verified ("pending"); a reply's report is the reply's.
 */
import type { TriggerCode } from '@budlink/protocol';
import { bytesPerSample } from './to-device-audio';
import type { Utterance, UtteranceReport } from './types';

export type Stage = keyof UtteranceReport['timings'];

export interface ReportTrackerOptions {
  deviceId: string;
  /** Host clock (ms). */
  now: () => number;
  /** Each report, once, when it is finished. */
  finished: (report: UtteranceReport) => void;
}

export class ReportTracker {
  private current: UtteranceReport | undefined;
  private readonly wakeAt = new WeakMap<UtteranceReport, number>();

  constructor(private readonly options: ReportTrackerOptions) {}

  /** The utterance still being received or verified. */
  get pending(): UtteranceReport | undefined {
    return this.current;
  }

  /** The pending utterance has not completed yet (it may resume after a reconnect). */
  receiving(): boolean {
    return this.current !== undefined && this.current.timings.utteranceEnd === undefined;
  }

  /** A new utterance's WAKE arrived at `at`: its report is pending; one pending before is superseded. */
  open(stream: number, trigger: TriggerCode | undefined, at: number): UtteranceReport {
    if (this.current) this.finish(this.current, 'aborted', 'superseded by a new utterance');
    const report: UtteranceReport = {
      deviceId: this.options.deviceId,
      stream,
      trigger,
      samples: 0,
      durationMs: 0,
      recovered: 0,
      lost: 0,
      replySamples: 0,
      outcome: 'aborted',
      timings: { wake: 0 },
      transcript: {},
    };
    this.wakeAt.set(report, at);
    this.current = report;
    return report;
  }

  /** The pending report filled in from its completed utterance; undefined when `u` is not pending. */
  complete(u: Utterance): UtteranceReport | undefined {
    const report = this.current;
    if (!report || report.stream !== u.stream) return undefined;
    report.samples = u.samples.length / bytesPerSample(u.codec);
    report.durationMs = (report.samples * 1000) / u.sampleRate;
    report.recovered = u.recovered;
    report.lost = u.lost;
    report.trigger = u.wake.trigger;
    report.endReason = u.endReason;
    this.stamp(report, 'utteranceEnd', u.completedAt);
    return report;
  }

  /** Take the pending report out (only if it is of `stream`, when given). */
  take(stream?: number): UtteranceReport | undefined {
    const report = this.current;
    if (!report || (stream !== undefined && report.stream !== stream)) return undefined;
    this.current = undefined;
    return report;
  }

  /** Take `report` out if it is still the pending one (not superseded); false otherwise. */
  release(report: UtteranceReport): boolean {
    if (this.current !== report) return false;
    this.current = undefined;
    return true;
  }

  /** Record when `report` reached `stage` (the first time only). */
  stamp(report: UtteranceReport, stage: Stage, at = this.options.now()): void {
    if (report.timings[stage] === undefined) report.timings[stage] = Math.max(0, at - this.wakeBase(report));
  }

  /** Give `report` its outcome and hand it on; playback that started ends now. */
  finish(report: UtteranceReport, outcome: UtteranceReport['outcome'], error?: string): void {
    if (report.timings.playbackEnd === undefined && report.timings.firstPlay !== undefined) {
      report.timings.playbackEnd = this.options.now() - this.wakeBase(report);
    }
    report.outcome = outcome;
    if (error) report.error = error;
    this.options.finished(report);
  }

  private wakeBase(report: UtteranceReport): number {
    return this.wakeAt.get(report) ?? this.options.now();
  }
}
