import { expect } from 'chai';
import type { ColdObservable } from 'rxjs/internal/testing/ColdObservable';
import { verifyWake } from '../../../host/src/pipeline/verify-wake';
import type { Utterance, WakeVerdict, WakeVerifier } from '../../../host/src/pipeline/types';
import { scheduler } from './marbles';

const utt = (stream: number): Utterance => ({
  deviceId: 'd',
  stream,
  wake: { trigger: 1, score: 200, preRollMs: 500, wakeStart: 0, wakeEnd: 10 },
  codec: 1,
  sampleRate: 8000,
  samples: new Uint8Array(4),
  endReason: 1,
  recovered: 0,
  lost: 0,
  wakeAt: 0,
  completedAt: 0,
});

describe('pipeline/verify-wake', () => {
  it('asks the verifier for each utterance in turn and pairs it with the verdict', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const verdicts: Record<number, ColdObservable<WakeVerdict>> = {
        1: cold('---a|', { a: { accept: true, score: 0.9 } }),
        2: cold('-r|', { r: { accept: false, score: 0.1 } }),
      };
      const verifier: WakeVerifier = { verify: (u) => verdicts[u.stream] as ColdObservable<WakeVerdict> };
      const src = cold('ab-----|', { a: utt(1), b: utt(2) });
      expectObservable(src.pipe(verifyWake(verifier))).toBe('---AB--|', {
        A: { utterance: utt(1), verdict: { accept: true, score: 0.9 } },
        B: { utterance: utt(2), verdict: { accept: false, score: 0.1 } },
      });
      expectSubscriptions(src.subscriptions).toBe('^------!');
      expectSubscriptions((verdicts[1] as ColdObservable<WakeVerdict>).subscriptions).toBe('^--!');
      expectSubscriptions((verdicts[2] as ColdObservable<WakeVerdict>).subscriptions).toBe('---^!');
    });
  });

  it('a failing verifier is reported and the verdict defaults to accept (or reject when asked)', () => {
    const seen: unknown[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const verifier: WakeVerifier = { verify: () => cold('--#', undefined, new Error('model missing')) };
      const src = cold('a-|', { a: utt(1) });
      expectObservable(src.pipe(verifyWake(verifier, { onError: (e) => seen.push(e) }))).toBe('--(A|)', {
        A: { utterance: utt(1), verdict: { accept: true, score: Number.NaN } },
      });
      expectObservable(src.pipe(verifyWake(verifier, { onFailure: 'reject' }))).toBe('--(A|)', {
        A: { utterance: utt(1), verdict: { accept: false, score: Number.NaN } },
      });
    });
    expect(seen).to.have.length(1);
    expect((seen[0] as Error).message).to.equal('model missing');
  });

  it('drops a pending verification when unsubscribed', () => {
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const slow = cold('-----a', { a: { accept: true, score: 1 } });
      const src = hot('a-----', { a: utt(1) });
      expectObservable(src.pipe(verifyWake({ verify: () => slow })), '^--!').toBe('---');
      expectSubscriptions(slow.subscriptions).toBe('^--!');
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('accepts everything with the default verifier (promise based)', async () => {
    const { acceptAllVerifier } = await import('../../../host/src/pipeline/types');
    expect(await acceptAllVerifier.verify(utt(1), utt(1).wake)).to.deep.equal({ accept: true, score: 1 });
  });
});
