/**
 * Operator: complete utterances -> utterances with the wake verifier's verdict. One verification
 * at a time, in order. A verifier that throws or rejects does not stop the pipeline: the failure
 * goes to `onError` and the verdict is `onFailure` (default: accept, since the device already
 * decided and a broken verifier must not make the assistant deaf), with score NaN.
 * A verifier may answer with a Promise or an Observable (its first value counts).
 * Unsubscribing while a verification is pending discards its result.
 */
import { concatMap, defer, map, catchError, of, take, throwIfEmpty, type OperatorFunction } from 'rxjs';
import type { Utterance, WakeVerdict, WakeVerifier } from './types';

export interface VerifiedUtterance {
  utterance: Utterance;
  verdict: WakeVerdict;
}

export interface VerifyWakeOptions {
  onError?: (error: unknown, utterance: Utterance) => void;
  onFailure?: 'accept' | 'reject';
}

export function verifyWake(
  verifier: WakeVerifier,
  options: VerifyWakeOptions = {},
): OperatorFunction<Utterance, VerifiedUtterance> {
  const failAccept = (options.onFailure ?? 'accept') === 'accept';
  return concatMap((utterance) =>
    defer(() => verifier.verify(utterance, utterance.wake)).pipe(
      take(1),
      throwIfEmpty(() => new Error('WakeVerifier.verify() completed without a verdict')),
      map((verdict): VerifiedUtterance => {
        if (typeof verdict?.accept !== 'boolean')
          throw new TypeError('WakeVerifier.verify() must resolve to { accept: boolean, score: number }');
        return { utterance, verdict };
      }),
      catchError((e: unknown) => {
        options.onError?.(e, utterance);
        return of({ utterance, verdict: { accept: failAccept, score: Number.NaN } });
      }),
    ),
  );
}
