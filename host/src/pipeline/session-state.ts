/**
 * Operator: the session state machine of one device, as the host sees it.
 *
 *   handshake --hello--> idle --wake--> utterance --complete--> verifying --accept--> thinking
 *      ^                  ^                                        |reject            |reply-audio
 *      |                  +----------------------------------------+                  v
 *   disconnect            +<----------------------- reply-done ----------------- speaking
 *
 * A wake in verifying / thinking / speaking is a barge-in (back to utterance). `error` and `abort`
 * go back to idle from anywhere but handshake; a phase that sees no `activity` for its timeout goes
 * back to idle with STATE ERROR. Each transition is emitted with the STATE frame to send, so the
 * earbud's LEDs / earcons follow. Inputs that make no sense in the current phase are ignored (and
 * emitted nowhere): the orchestrator logs them.
 */
import {
  Observable,
  asyncScheduler,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { AssistantState, type AssistantStateCode } from '@budlink/protocol';
import type { Phase, PhaseChange } from './types';

export type SessionInput =
  /** A fresh HELLO (new device session, or the device rebooted). */
  | { kind: 'hello' }
  /**
   * HELLO from the same device session after a reconnect: back to `to` (default idle; 'utterance'
   * when an unfinished utterance stream may resume), re-sending its STATE.
   */
  | { kind: 'resume'; to?: Phase }
  /** The link went down. */
  | { kind: 'disconnect' }
  /** A new utterance started (WAKE). In verifying / thinking / speaking this is a barge-in. */
  | { kind: 'wake' }
  /** Something happened that proves the current phase is alive (audio frames, credits). */
  | { kind: 'activity' }
  | { kind: 'utterance-complete' }
  | { kind: 'verdict'; accept: boolean }
  /** First reply audio is going to the device. */
  | { kind: 'reply-audio' }
  /** The reply finished playing (or the service answered with no audio). */
  | { kind: 'reply-done' }
  | { kind: 'error'; detail: number; reason: string }
  /** The utterance or reply was dropped without an error to show (cancelled, lost). */
  | { kind: 'abort'; reason: string };

/** Per-phase inactivity timeouts in ms (0 or absent: none). */
export interface PhaseTimeouts {
  utterance?: number;
  verifying?: number;
  thinking?: number;
  speaking?: number;
}

export interface SessionStateOptions {
  timeouts?: PhaseTimeouts;
  scheduler?: SchedulerLike;
  /** Starting phase (default 'handshake'). */
  initial?: Phase;
}

const STATE_OF: Record<Phase, AssistantStateCode | undefined> = {
  handshake: undefined,
  idle: AssistantState.IDLE,
  utterance: AssistantState.LISTENING,
  verifying: AssistantState.VERIFYING,
  thinking: AssistantState.THINKING,
  speaking: AssistantState.SPEAKING,
};

/** STATE.detail sent with ERROR when a phase timed out (no ErrorCode fits a timeout). */
export const TIMEOUT_DETAIL = 0;

/** The pure transition function: the next phase change for an input, or undefined to ignore it. */
export function transition(phase: Phase, input: SessionInput): PhaseChange | undefined {
  const to = (next: Phase, cause: string): PhaseChange => ({
    from: phase,
    to: next,
    cause,
    state: STATE_OF[next],
    detail: 0,
  });
  switch (input.kind) {
    case 'hello':
      return to('idle', 'hello');
    case 'resume':
      return phase === 'handshake' ? to(input.to ?? 'idle', 'resume') : to(phase, 'resume');
    case 'disconnect':
      return phase === 'handshake'
        ? undefined
        : { from: phase, to: 'handshake', cause: 'disconnect', detail: 0 };
    case 'wake':
      if (phase === 'handshake') return undefined;
      return to('utterance', phase === 'thinking' || phase === 'speaking' ? 'barge-in' : 'wake');
    case 'activity':
      return undefined;
    case 'utterance-complete':
      return phase === 'utterance' ? to('verifying', 'utterance-complete') : undefined;
    case 'verdict':
      if (phase !== 'verifying') return undefined;
      return input.accept ? to('thinking', 'accept') : to('idle', 'reject');
    case 'reply-audio':
      return phase === 'thinking' ? to('speaking', 'reply-audio') : undefined;
    case 'reply-done':
      return phase === 'thinking' || phase === 'speaking' ? to('idle', 'reply-done') : undefined;
    case 'error':
      if (phase === 'handshake') return undefined;
      return {
        from: phase,
        to: 'idle',
        cause: `error: ${input.reason}`,
        state: AssistantState.ERROR,
        detail: input.detail,
      };
    case 'abort':
      if (phase === 'handshake' || phase === 'idle') return undefined;
      return to('idle', `abort: ${input.reason}`);
  }
}

/**
 * SessionInput -> PhaseChange. Completes when the source completes (pending timeout dropped);
 * errors pass through.
 */
export function sessionState(options: SessionStateOptions = {}): OperatorFunction<SessionInput, PhaseChange> {
  const timeouts = options.timeouts ?? {};
  const scheduler = options.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<PhaseChange>((subscriber) => {
      let phase: Phase = options.initial ?? 'handshake';
      let timer: Subscription | undefined;

      const arm = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        const ms = phase === 'handshake' || phase === 'idle' ? 0 : (timeouts[phase] ?? 0);
        if (ms > 0) {
          const timedOut = phase;
          timer = scheduler.schedule(() => {
            timer = undefined;
            if (phase !== timedOut) return;
            phase = 'idle';
            subscriber.next({
              from: timedOut,
              to: 'idle',
              cause: `timeout: no activity in ${timedOut} for ${ms} ms`,
              state: AssistantState.ERROR,
              detail: TIMEOUT_DETAIL,
            });
          }, ms);
        }
      };

      const sub = source.subscribe({
        next: (input) => {
          if (input.kind === 'activity') {
            if (timer) arm();
            return;
          }
          const change = transition(phase, input);
          if (!change) return;
          phase = change.to;
          arm();
          subscriber.next(change);
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      return () => {
        timer?.unsubscribe();
        sub.unsubscribe();
      };
    });
}
