import { expect } from 'chai';
import { FrameType, PlayEndReason, type AckFrame, type CreditFrame } from '@budlink/protocol';
import {
  pacePlayback,
  PlaybackStallError,
  type PlaybackOutput,
  type PlaybackProgress,
} from '../../../host/src/pipeline/pace-playback';
import { scheduler } from './marbles';

/** The pacing settings every case states (a case overrides what it tests). */
const PACING = {
  stream: 1,
  firstSeq: 0,
  bytesPerSample: 1,
  initialWindow: 4,
  stallMs: 5000,
  drainMarginMs: 500,
  probeMs: 0,
  nackHoldMs: 0,
};

const p = (v: number) => new Uint8Array(4).fill(v);
const credit = (upTo: number, playedSamples: number, stream = 1): CreditFrame => ({
  type: FrameType.CREDIT,
  stream,
  seq: 0,
  upTo,
  freeBytes: 100,
  playedSamples,
});
const play = (seq: number, v: number, resend = false): PlaybackOutput => ({
  kind: 'frame',
  frame: { type: FrameType.PLAY, stream: 1, seq, samples: p(v) },
  resend,
});
const playEnd = (seq: number, lastSeq: number, totalSamples: number): PlaybackOutput => ({
  kind: 'frame',
  frame: { type: FrameType.PLAY_END, stream: 1, seq, reason: PlayEndReason.COMPLETE, lastSeq, totalSamples },
  resend: false,
});

describe('pipeline/pace-playback', () => {
  it('sends PLAY within the credit window, re-sends NACKed frames, ends with PLAY_END and waits for the last sample played', () => {
    const progress: PlaybackProgress = { nextSeq: 0, lastSeq: undefined, samplesSent: 0, samplesPlayed: 0 };
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const src = cold('abc|', { a: p(1), b: p(2), c: p(3) });
      const nack: AckFrame = {
        type: FrameType.NACK,
        stream: 1,
        seq: 0,
        cumulative: 1,
        gaps: [{ start: 1, count: 1 }],
      };
      const feedback = hot<CreditFrame | AckFrame>('--o--x----y----z', {
        o: credit(50, 0, 9), // another stream's credit: ignored
        x: credit(3, 4),
        y: nack,
        z: credit(10, 12),
      });
      const out = src.pipe(
        pacePlayback({
          ...PACING,
          feedback$: feedback,
          initialWindow: 2,
          progress,
        }),
      );
      expectObservable(out).toBe('ab 3ms (wFE)(RS) 1ms (Dd|)', {
        a: play(0, 1),
        b: play(1, 2),
        w: { kind: 'played', samples: 4 },
        F: play(2, 3),
        E: playEnd(3, 2, 12),
        R: play(1, 2, true),
        S: play(2, 3, true),
        D: { kind: 'played', samples: 12 },
        d: { kind: 'drained', totalSamples: 12, drained: true },
      });
      expectSubscriptions(src.subscriptions).toBe('^--!');
      expectSubscriptions(feedback.subscriptions).toBe('^ 14ms !');
    });
    expect(progress).to.deep.equal({ nextSeq: 3, lastSeq: 2, samplesSent: 12, samplesPlayed: 12 });
  });

  it('errors with PlaybackStallError when the device grants no credit', () => {
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const src = cold('ab|', { a: p(1), b: p(2) });
      const feedback = hot<CreditFrame | AckFrame>('-');
      const out = src.pipe(
        pacePlayback({
          ...PACING,
          feedback$: feedback,
          initialWindow: 1,
          stallMs: 10,
        }),
      );
      expectObservable(out).toBe('a 10ms #', { a: play(0, 1) }, new PlaybackStallError(10));
      expectSubscriptions(feedback.subscriptions).toBe('^ 10ms !');
    });
  });

  it('out of credit, re-sends the last PLAY every probeMs until a CREDIT comes (a lost CREDIT is asked for again)', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const src = cold('abc|', { a: p(1), b: p(2), c: p(3) });
      // the stream's first CREDIT is lost; the device answers the second probe, then reports all played
      const feedback = hot<CreditFrame | AckFrame>('-------- 15ms x 6ms y', {
        x: credit(3, 0),
        y: credit(4, 12),
      });
      const out = src.pipe(
        pacePlayback({
          ...PACING,
          feedback$: feedback,
          initialWindow: 2,
          probeMs: 10,
        }),
      );
      // c waits from 2 ms: probes at 12 and 22 ms (b again), credit at 23 ms
      expectObservable(out).toBe('ab 10ms r 9ms r (cE) 3ms (PD|)', {
        a: play(0, 1),
        b: play(1, 2),
        r: play(1, 2, true),
        c: play(2, 3),
        E: playEnd(3, 2, 12),
        P: { kind: 'played', samples: 12 },
        D: { kind: 'drained', totalSamples: 12, drained: true },
      });
    });
  });

  it('answers a flood of NACKs for the same hole with one re-send per nackHoldMs', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const src = cold('abc|', { a: p(1), b: p(2), c: p(3) });
      const nack: AckFrame = { type: FrameType.NACK, stream: 1, seq: 0, cumulative: 1, gaps: [] };
      // three NACKs at 5 ms (one re-send), one at 10 ms (held), one at 16 ms (re-sent again)
      const feedback = hot<CreditFrame | AckFrame>('-----(xxx)x 5ms x 3ms y', { x: nack, y: credit(10, 12) });
      const out = src.pipe(
        pacePlayback({
          ...PACING,
          feedback$: feedback,
          nackHoldMs: 10,
        }),
      );
      expectObservable(out).toBe('abcE 1ms (BC) 7ms (BC)(PD|)', {
        a: play(0, 1),
        b: play(1, 2),
        c: play(2, 3),
        E: playEnd(3, 2, 12),
        B: play(1, 2, true),
        C: play(2, 3, true),
        P: { kind: 'played', samples: 12 },
        D: { kind: 'drained', totalSamples: 12, drained: true },
      });
    });
  });

  it('completes without a drain report after stallMs, and frees everything when unsubscribed early', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const src = cold('a|', { a: p(1) });
      const feedback = hot<CreditFrame | AckFrame>('-');
      const out = src.pipe(
        pacePlayback({
          ...PACING,
          firstSeq: 65535,
          feedback$: feedback,
          stallMs: 10,
        }),
      );
      expectObservable(out).toBe('aE 9ms (D|)', {
        a: play(65535, 1),
        E: playEnd(0, 65535, 4),
        D: { kind: 'drained', totalSamples: 4, drained: false },
      });
    });
    scheduler().run(({ cold, hot, expectObservable }) => {
      // An empty reply: PLAY_END names no PLAY (lastSeq 65535) and nothing is left to drain.
      const out = cold<Uint8Array>('--|').pipe(
        pacePlayback({
          ...PACING,
          feedback$: hot<CreditFrame | AckFrame>('-'),
        }),
      );
      expectObservable(out).toBe('--(ED|)', {
        E: playEnd(0, 65535, 0),
        D: { kind: 'drained', totalSamples: 0, drained: true },
      });
    });
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('a-b-c-d', { a: p(1), b: p(2), c: p(3), d: p(4) });
      const feedback = hot<CreditFrame | AckFrame>('-------');
      const out = src.pipe(
        pacePlayback({
          ...PACING,
          feedback$: feedback,
          initialWindow: 1,
        }),
      );
      expectObservable(out, '^--!').toBe('a--', { a: play(0, 1) });
      expectSubscriptions(src.subscriptions).toBe('^--!');
      expectSubscriptions(feedback.subscriptions).toBe('^--!');
    });
  });
  it('after PLAY_END waits for the last CREDIT only as long as the rest of the audio lasts (+ margin)', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const out = cold('a|', { a: p(1) }).pipe(
        pacePlayback({
          ...PACING,
          feedback$: hot<CreditFrame | AckFrame>('-'),
          stallMs: 100,
          sampleRate: 1000, // 4 samples = 4 ms
          drainMarginMs: 2,
        }),
      );
      expectObservable(out).toBe('aE 5ms (D|)', {
        a: play(0, 1),
        E: playEnd(1, 0, 4),
        D: { kind: 'drained', totalSamples: 4, drained: false },
      });
    });
  });
});
