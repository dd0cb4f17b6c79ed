import { expect } from 'chai';
import { EndReason, FrameType, Trigger, type AckFrame } from '@budlink/protocol';
import {
  reassemble,
  type ReassemblyInput,
  type ReassemblyOutput,
  type UtteranceFrame,
} from '../../../host/src/pipeline/reassemble';
import { audio, end, scheduler, wake } from './marbles';

const f = (frame: UtteranceFrame, at: number): ReassemblyInput => ({ kind: 'frame', frame, at });
const ack = (
  stream: number,
  cumulative: number,
  gaps: { start: number; count: number }[] = [],
): ReassemblyOutput => ({
  kind: 'send',
  frame: { type: gaps.length ? FrameType.NACK : FrameType.ACK, stream, seq: 0, cumulative, gaps } as AckFrame,
});
const wakeInfo = { trigger: Trigger.WAKEWORD, score: 200, preRollMs: 500, wakeStart: 100, wakeEnd: 900 };
const utt = (
  stream: number,
  samples: number[],
  recovered: number,
  wakeAt: number,
  completedAt: number,
): ReassemblyOutput => ({
  kind: 'complete',
  utterance: {
    deviceId: 'dev',
    stream,
    wake: wakeInfo,
    codec: 1,
    sampleRate: 8000,
    samples: new Uint8Array(samples),
    endReason: EndReason.SILENCE,
    recovered,
    lost: 0,
    wakeAt,
    completedAt,
  },
});
const opts = (nackIntervalMs: number) => ({
  deviceId: 'dev',
  payloadSize: () => 20,
  nackIntervalMs,
  ackEveryFrames: 8,
});

describe('pipeline/reassemble', () => {
  it('delivers an in-order utterance, ACKs its end, and stops its timer', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a 9ms b 9ms c 9ms d 9ms |', {
        a: f(wake(1), 0),
        b: f(audio(1, 1, 130), 10),
        c: f(audio(1, 2, 131), 20),
        d: f(end(1, 3, 8), 30),
      });
      expectObservable(src.pipe(reassemble(opts(100)))).toBe('(sp) 6ms p 9ms p 9ms (pku) 5ms |', {
        s: { kind: 'started', stream: 1, wake: wakeInfo, at: 0 },
        p: { kind: 'progress', stream: 1 },
        k: ack(1, 4),
        u: {
          kind: 'complete',
          utterance: {
            deviceId: 'dev',
            stream: 1,
            wake: wakeInfo,
            codec: 1,
            sampleRate: 8000,
            samples: new Uint8Array([130, 130, 130, 130, 131, 131, 131, 131]),
            endReason: EndReason.SILENCE,
            recovered: 0,
            lost: 0,
            wakeAt: 0,
            completedAt: 30,
          },
        },
      });
      expectSubscriptions(src.subscriptions).toBe('^ 39ms !');
    });
  });

  it('NACKs a dropped frame at once and again on END, and completes when the re-send arrives', () => {
    const outputs: ReassemblyOutput[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a 9ms c 9ms d 9ms b 9ms |', {
        a: f(wake(1), 0),
        c: f(audio(1, 2, 2), 10),
        d: f(end(1, 3, 8), 20),
        b: f(audio(1, 1, 1), 30),
      });
      const out = src.pipe(reassemble(opts(12)));
      out.subscribe((o) => outputs.push(o));
      expectObservable(out).toBe('(sp) 6ms (pn) 6ms (pn) 6ms (pku) 5ms |', {
        s: { kind: 'started', stream: 1, wake: wakeInfo, at: 0 },
        p: { kind: 'progress', stream: 1 },
        n: ack(1, 1, [{ start: 1, count: 1 }]),
        k: ack(1, 4),
        u: utt(1, [1, 1, 1, 1, 2, 2, 2, 2], 1, 0, 30),
      });
    });
    const done = outputs.find((o) => o.kind === 'complete');
    expect(done && done.kind === 'complete' && done.utterance.recovered).to.equal(1);
    expect(done && done.kind === 'complete' && Array.from(done.utterance.samples)).to.deep.equal([
      1, 1, 1, 1, 2, 2, 2, 2,
    ]);
  });

  it('re-sends the NACK periodically while nothing arrives, and releases the timer on unsubscribe', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('a 4ms c -------------------------------', {
        a: f(wake(1), 0),
        c: f(audio(1, 2, 2), 5),
      });
      const n = ack(1, 1, [{ start: 1, count: 1 }]);
      // Timer ticks at 10 (fresh: c came at 5), 20 and 30 (silent: NACK again).
      expectObservable(src.pipe(reassemble(opts(10))), '^ 34ms !').toBe('(sp) 1ms (pn) 11ms n 9ms n', {
        s: { kind: 'started', stream: 1, wake: wakeInfo, at: 0 },
        p: { kind: 'progress', stream: 1 },
        n,
      });
      expectSubscriptions(src.subscriptions).toBe('^ 34ms !');
    });
  });

  it('recovers a lost WAKE, re-ACKs late duplicates of a finished stream, and drops a stream a new one supersedes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a 9ms w 9ms e 9ms x 9ms y 9ms z 9ms |', {
        a: f(audio(2, 1, 9), 0),
        w: f(wake(2), 10),
        e: f(end(2, 2, 4), 20),
        x: f(audio(2, 1, 9), 30),
        y: f(wake(3), 40),
        z: f(wake(4), 50),
      });
      const outputs: ReassemblyOutput[] = [];
      const out = src.pipe(reassemble(opts(100)));
      out.subscribe((o) => outputs.push(o));
      expectObservable(out).toBe('(spn) 5ms p 9ms (pku) 5ms k 9ms (SP) 6ms (dTQ) 5ms |', {
        s: { kind: 'started', stream: 2, wake: undefined, at: 0 },
        p: { kind: 'progress', stream: 2 },
        n: ack(2, 0, [{ start: 0, count: 1 }]),
        k: ack(2, 3),
        u: utt(2, [9, 9, 9, 9], 1, 0, 20),
        S: { kind: 'started', stream: 3, wake: wakeInfo, at: 40 },
        P: { kind: 'progress', stream: 3 },
        d: { kind: 'dropped', stream: 3, reason: 'superseded by a new utterance', lost: [] },
        T: { kind: 'started', stream: 4, wake: wakeInfo, at: 50 },
        Q: { kind: 'progress', stream: 4 },
      });
    });
  });
  it('completes without frames the device no longer holds (window slid past them), counting them lost', () => {
    const outputs: ReassemblyOutput[] = [];
    scheduler().run(({ cold, flush, expectSubscriptions }) => {
      const frames: Record<string, ReassemblyInput> = { a: f(wake(1), 0) };
      const keys = 'bcdefghijklmnopq';
      for (let i = 0; i < keys.length; i++) frames[keys[i] as string] = f(audio(1, i + 2, i + 2), 1);
      frames.r = f(end(1, 18, 64), 2);
      const src = cold(`(a${keys}r|)`, frames);
      src.pipe(reassemble({ ...opts(100), window: () => 16 })).subscribe((o) => outputs.push(o));
      flush();
      expectSubscriptions(src.subscriptions).toBe('(^!)');
    });
    const done = outputs.find((o) => o.kind === 'complete');
    if (!done || done.kind !== 'complete') throw new Error('no complete utterance');
    expect(done.utterance.lost).to.equal(1);
    expect(done.utterance.samples.length).to.equal(64);
    expect(done.utterance.samples[0]).to.equal(2);
    expect(outputs.at(-2)).to.deep.equal(ack(1, 19));
  });
});
