import { expect } from 'chai';
import { Subject } from 'rxjs';
import { EndReason, FrameType, Trigger, type AckFrame } from '@budlink/protocol';
import {
  reassemble,
  type ReassembleOptions,
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
  window: () => 256,
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
        d: { kind: 'dropped', stream: 3, reason: 'superseded by a new utterance', lost: 0 },
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

/**
 * Letting go of a stream (docs/PROTOCOL.md §6): the device frees its END, and accepts a new wake,
 * only when an ACK past END arrives, and each ACK restarts its give-up timer. Run in virtual time.
 */
describe('pipeline/reassemble: letting go of a stream', () => {
  type Sent = [at: number, type: number, cumulative: number, gaps: number];

  /** Feed timed inputs to the operator (nack interval 10 ms) until `horizon`; every output, timed. */
  function drive(
    inputs: [number, ReassemblyInput][],
    horizon: number,
    extra: Partial<Pick<ReassembleOptions, 'window' | 'maxUtterance'>> = {},
  ): [number, ReassemblyOutput][] {
    const out: [number, ReassemblyOutput][] = [];
    const ts = scheduler();
    ts.run(({ flush }) => {
      const src = new Subject<ReassemblyInput>();
      const sub = src
        .pipe(reassemble({ ...opts(10), ...extra, scheduler: ts }))
        .subscribe((o) => out.push([ts.now(), o]));
      for (const [t, input] of inputs) ts.schedule(() => src.next(input), t);
      ts.schedule(() => {
        src.complete();
        sub.unsubscribe();
      }, horizon);
      flush();
    });
    return out;
  }
  const sent = (out: [number, ReassemblyOutput][], stream: number): Sent[] =>
    out.flatMap(([t, o]) =>
      o.kind === 'send' && o.frame.stream === stream
        ? [[t, o.frame.type, o.frame.cumulative, o.frame.gaps.length] as Sent]
        : [],
    );
  const kinds = (out: [number, ReassemblyOutput][]): string[] =>
    out
      .filter(([, o]) => o.kind !== 'send' && o.kind !== 'progress')
      .map(([, o]) => `${o.kind}:${streamOf(o)}`);
  const streamOf = (o: ReassemblyOutput): number =>
    o.kind === 'complete' ? o.utterance.stream : o.kind === 'send' ? o.frame.stream : o.stream;
  const A = FrameType.ACK;
  const N = FrameType.NACK;
  const cancelled = (stream: number, seq: number) => ({
    ...end(stream, seq, 8),
    reason: EndReason.CANCELLED,
  });

  it('abandoned before END (host timeout): one ACK past what arrived, no more repeats, then ACKs past each late frame and past the END sent in answer to GATE CANCEL', () => {
    const out = drive(
      [
        [0, f(wake(1), 0)],
        [1, f(audio(1, 1, 1), 1)],
        [2, f(audio(1, 3, 3), 2)], // seq 2 lost: NACKed at once and on every silent tick
        [45, { kind: 'abandon', stream: 1 }],
        [100, f(audio(1, 4, 4), 100)], // still in flight when the GATE CANCEL reached the device
        [110, f(cancelled(1, 5), 110)], // END in answer to GATE CANCEL
        [120, f(cancelled(1, 5), 120)], // the device's RTO re-send of END (our ACK was lost)
        [130, f(audio(1, 2, 2), 130)], // a late re-send of the old hole
        [150, { kind: 'resync' }], // a reconnect: the final ACK once more
      ],
      300,
    );
    expect(sent(out, 1)).to.deep.equal([
      [2, N, 2, 1],
      [20, N, 2, 1],
      [30, N, 2, 1],
      [40, N, 2, 1],
      [45, A, 4, 0], // past everything received: the device frees its window and goes on to END
      [100, A, 5, 0],
      [110, A, 6, 0], // END.seq + 1 = END.lastSeq + 2
      [120, A, 6, 0],
      [130, A, 6, 0],
      [150, A, 6, 0],
    ]);
    expect(kinds(out)).to.deep.equal(['started:1']); // an abandoned stream never completes
  });

  it('abandoned with END known but a hole before it: the final ACK is END + 1 at once, late frames get END + 1 again', () => {
    const out = drive(
      [
        [0, f(wake(1), 0)],
        [1, f(audio(1, 1, 1), 1)],
        [2, f(end(1, 3, 8), 2)], // seq 2 missing
        [25, { kind: 'abandon', stream: 1 }],
        [100, f(end(1, 3, 8), 100)],
        [110, f(audio(1, 2, 2), 110)],
        [120, { kind: 'abandon', stream: 1 }], // twice: nothing more
      ],
      200,
    );
    expect(sent(out, 1)).to.deep.equal([
      [2, N, 2, 1],
      [20, N, 2, 1],
      [25, A, 4, 0],
      [100, A, 4, 0],
      [110, A, 4, 0],
    ]);
    expect(kinds(out)).to.deep.equal(['started:1']);
  });

  it('completed with frames lost for good: ACK past END once, no periodic repeats, late re-sends get END + 1', () => {
    const inputs: [number, ReassemblyInput][] = [[0, f(wake(1), 0)]];
    for (let s = 2; s <= 17; s++) inputs.push([1, f(audio(1, s, s), 1)]); // seq 1 evicted by the device
    inputs.push([2, f(end(1, 18, 64), 2)], [100, f(end(1, 18, 64), 100)], [110, f(audio(1, 9, 9), 110)]);
    const out = drive(inputs, 200, { window: () => 16 });
    const acks = sent(out, 1);
    expect(acks.at(-3)).to.deep.equal([2, A, 19, 0]);
    expect(acks.slice(-2)).to.deep.equal([
      [100, A, 19, 0],
      [110, A, 19, 0],
    ]);
    expect(acks.filter(([t]) => t > 2 && t < 100)).to.deep.equal([]);
    expect(kinds(out)).to.deep.equal(['started:1', 'complete:1']);
  });

  it('END delivered but the WAKE lost for good: dropped, ACK past END once, no periodic repeats', () => {
    const inputs: [number, ReassemblyInput][] = [];
    for (let s = 1; s <= 16; s++) inputs.push([1, f(audio(1, s, s), 1)]); // seq 16 proves seq 0 gone
    inputs.push([2, f(end(1, 17, 64), 2)], [100, f(end(1, 17, 64), 100)]);
    const out = drive(inputs, 200, { window: () => 16 });
    expect(sent(out, 1).filter(([t]) => t >= 2)).to.deep.equal([
      [2, A, 18, 0],
      [100, A, 18, 0],
    ]);
    const dropped = out.find(([, o]) => o.kind === 'dropped')?.[1];
    expect(dropped).to.deep.equal({
      kind: 'dropped',
      stream: 1,
      reason: 'its WAKE was lost',
      lost: 1,
    });
  });

  it('a late frame of a superseded stream is ACKed past itself and does not take over from the new stream', () => {
    const out = drive(
      [
        [0, f(wake(1), 0)],
        [1, f(audio(1, 1, 1), 1)],
        [2, f(wake(2), 2)],
        [3, f(audio(1, 2, 2), 3)],
        [4, f(audio(2, 1, 7), 4)],
        [5, f(end(2, 2, 4), 5)],
      ],
      50,
    );
    expect(sent(out, 1)).to.deep.equal([[3, A, 3, 0]]);
    expect(kinds(out)).to.deep.equal(['started:1', 'dropped:1', 'started:2', 'complete:2']);
    expect(sent(out, 2)).to.deep.equal([[5, A, 3, 0]]);
  });

  it('after a device restart (reset) the same stream id starts a new utterance instead of being re-ACKed', () => {
    const out = drive(
      [
        [0, f(wake(1), 0)],
        [1, f(end(1, 1, 0), 1)],
        [10, { kind: 'reset' }],
        [20, f(wake(1), 20)],
        [21, f(audio(1, 1, 5), 21)],
        [22, f(end(1, 2, 4), 22)],
      ],
      50,
    );
    expect(kinds(out)).to.deep.equal(['started:1', 'complete:1', 'started:1', 'complete:1']);
    expect(sent(out, 1)).to.deep.equal([
      [1, A, 2, 0],
      [22, A, 3, 0],
    ]);
  });

  it('an utterance past the length limit is dropped with a GATE CANCEL asked for, and ACKed past once', () => {
    const limit = () => ({ bytes: 10, ms: 1250 });
    const out = drive(
      [
        [0, f(wake(1), 0)],
        [1, f(audio(1, 1, 1), 1)],
        [2, f(audio(1, 2, 2), 2)],
        [3, f(audio(1, 3, 3), 3)],
        [4, f(audio(1, 4, 4), 4)],
      ],
      100,
      { maxUtterance: limit },
    );
    expect(kinds(out)).to.deep.equal(['started:1', 'dropped:1']);
    expect(out.find(([, o]) => o.kind === 'dropped')).to.deep.equal([
      3,
      { kind: 'dropped', stream: 1, reason: 'longer than the 1.25 s utterance limit', lost: 0, cancel: true },
    ]);
    // One final ACK past frame 3; the late frame 4 is ACKed past itself; nothing on a timer.
    expect(sent(out, 1)).to.deep.equal([
      [3, A, 4, 0],
      [4, A, 5, 0],
    ]);
  });

  it('a device leaping its seqs ahead cannot keep a stream open: the span counts toward the limit', () => {
    // Each frame lands 30,000 seqs ahead: a window of work, and 29,999 frames declared lost, each time.
    const inputs: [number, ReassemblyInput][] = [[0, f(wake(1), 0)]];
    for (let i = 1; i <= 40; i++) inputs.push([i, f(audio(1, (i * 30000) & 0xffff, i), i)]);
    const out = drive(inputs, 100, { maxUtterance: () => ({ bytes: 60000 * 8, ms: 60000 }) });
    const dropped = out.find(([, o]) => o.kind === 'dropped');
    // 16 leaps move 480,000 seqs, the limit; the 17th is over it.
    expect(dropped?.[0]).to.equal(17);
    // Seqs 0..510,000 were covered; the WAKE and 17 AUDIO frames arrived, the rest is lost.
    expect(dropped?.[1]).to.include({ cancel: true, lost: 17 * 30000 + 1 - 18 });
  });
});
