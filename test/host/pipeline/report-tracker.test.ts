/** Per-utterance reports: the pending one, stage timings from the wake (on a virtual clock), outcomes. */
import { expect } from 'chai';
import { Codec, EndReason, Trigger } from '@budlink/protocol';
import { ReportTracker } from '../../../host/src/pipeline/report-tracker';
import type { Utterance, UtteranceReport } from '../../../host/src/pipeline/types';

describe('pipeline/report-tracker', () => {
  let clock: number;
  let finished: UtteranceReport[];
  let reports: ReportTracker;
  beforeEach(() => {
    clock = 1000;
    finished = [];
    reports = new ReportTracker({ deviceId: 'dev', now: () => clock, finished: (r) => finished.push(r) });
  });

  const utterance = (stream: number, extra: Partial<Utterance> = {}): Utterance => ({
    deviceId: 'dev',
    stream,
    wake: { trigger: Trigger.TAP, score: 255, preRollMs: 0, wakeStart: 0, wakeEnd: 0 },
    codec: Codec.PCM_S16LE,
    sampleRate: 8000,
    samples: new Uint8Array(1600), // 800 s16 samples: 100 ms
    endReason: EndReason.SILENCE,
    recovered: 2,
    lost: 1,
    wakeAt: 1000,
    completedAt: 1250,
    ...extra,
  });

  it('opens the pending report at the WAKE and stamps each stage once, in ms from the wake', () => {
    const r = reports.open(3, Trigger.WAKEWORD, 1000);
    expect(reports.pending).to.equal(r);
    expect(r).to.include({ deviceId: 'dev', stream: 3, trigger: Trigger.WAKEWORD, outcome: 'aborted' });
    clock = 1400;
    reports.stamp(r, 'verified');
    clock = 1500;
    reports.stamp(r, 'verified'); // the first time counts
    reports.stamp(r, 'serviceRequest', 1450);
    reports.stamp(r, 'firstReplyAudio', 900); // before the wake: clamped to 0
    expect(r.timings).to.deep.equal({ wake: 0, verified: 400, serviceRequest: 450, firstReplyAudio: 0 });
  });

  it('fills the pending report from its completed utterance; another stream is not its utterance', () => {
    const r = reports.open(3, undefined, 1000);
    expect(reports.receiving()).to.equal(true);
    expect(reports.complete(utterance(4))).to.equal(undefined);
    expect(reports.complete(utterance(3))).to.equal(r);
    expect(r).to.include({ samples: 800, durationMs: 100, recovered: 2, lost: 1, trigger: Trigger.TAP });
    expect(r.timings.utteranceEnd).to.equal(250);
    expect(reports.receiving()).to.equal(false);
    expect(reports.pending).to.equal(r); // still pending until its verdict
  });

  it('a new WAKE supersedes the pending report (finished as aborted)', () => {
    const first = reports.open(1, undefined, 1000);
    const second = reports.open(2, undefined, 1100);
    expect(finished).to.deep.equal([first]);
    expect(first).to.include({ outcome: 'aborted', error: 'superseded by a new utterance' });
    expect(reports.pending).to.equal(second);
  });

  it('take() and release() hand the pending report out once', () => {
    const r = reports.open(1, undefined, 1000);
    expect(reports.take(2)).to.equal(undefined);
    expect(reports.take(1)).to.equal(r);
    expect(reports.take()).to.equal(undefined);
    const s = reports.open(2, undefined, 1000);
    expect(reports.release(r)).to.equal(false);
    expect(reports.release(s)).to.equal(true);
    expect(reports.pending).to.equal(undefined);
    expect(finished).to.deep.equal([]);
  });

  it('finish gives the outcome and ends playback that had started', () => {
    const r = reports.open(1, undefined, 1000);
    clock = 1300;
    reports.stamp(r, 'firstPlay');
    clock = 1800;
    reports.finish(r, 'cancelled', 'barge-in');
    expect(finished).to.deep.equal([r]);
    expect(r).to.include({ outcome: 'cancelled', error: 'barge-in' });
    expect(r.timings).to.include({ firstPlay: 300, playbackEnd: 800 });
    const s = reports.open(2, undefined, 2000);
    reports.finish(s, 'rejected');
    expect(s.timings.playbackEnd).to.equal(undefined);
    expect(s.error).to.equal(undefined);
  });
});
