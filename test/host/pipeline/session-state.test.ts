import { expect } from 'chai';
import { AssistantState } from '@budlink/protocol';
import { sessionState, transition, type SessionInput } from '../../../host/src/pipeline/session-state';
import type { PhaseChange } from '../../../host/src/pipeline/types';
import { scheduler } from './marbles';

const I: Record<string, SessionInput> = {
  h: { kind: 'hello' },
  w: { kind: 'wake' },
  a: { kind: 'activity' },
  c: { kind: 'utterance-complete' },
  y: { kind: 'verdict', accept: true },
  n: { kind: 'verdict', accept: false },
  r: { kind: 'reply-audio' },
  d: { kind: 'reply-done' },
  e: { kind: 'error', detail: 0, reason: 'boom' },
  x: { kind: 'disconnect' },
  u: { kind: 'resume' },
};
const ch = (from: PhaseChange['from'], to: PhaseChange['to'], cause: string, state?: number): PhaseChange =>
  state === undefined
    ? { from, to, cause, detail: 0 }
    : { from, to, cause, state: state as PhaseChange['state'], detail: 0 };

describe('pipeline/session-state', () => {
  it('walks HELLO → idle → utterance → verifying → thinking → speaking → idle, sending a STATE each step', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('h-w-a-c-y-r-d-|', I);
      expectObservable(src.pipe(sessionState())).toBe('h-w---c-y-r-d-|', {
        h: ch('handshake', 'idle', 'hello', AssistantState.IDLE),
        w: ch('idle', 'utterance', 'wake', AssistantState.LISTENING),
        c: ch('utterance', 'verifying', 'utterance-complete', AssistantState.VERIFYING),
        y: ch('verifying', 'thinking', 'accept', AssistantState.THINKING),
        r: ch('thinking', 'speaking', 'reply-audio', AssistantState.SPEAKING),
        d: ch('speaking', 'idle', 'reply-done', AssistantState.IDLE),
      });
      expectSubscriptions(src.subscriptions).toBe('^-------------!');
    });
  });

  it('ignores inputs that make no sense in the phase; reject goes idle; wake while speaking is a barge-in', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('w-h-r-y-w-c-n-w-c-y-r-w-x-w-|', I);
      expectObservable(src.pipe(sessionState())).toBe('--h-----w-c-n-w-c-y-r-b-x---|', {
        b: ch('speaking', 'utterance', 'barge-in', AssistantState.LISTENING),
        h: ch('handshake', 'idle', 'hello', AssistantState.IDLE),
        w: ch('idle', 'utterance', 'wake', AssistantState.LISTENING),
        c: ch('utterance', 'verifying', 'utterance-complete', AssistantState.VERIFYING),
        n: ch('verifying', 'idle', 'reject', AssistantState.IDLE),
        y: ch('verifying', 'thinking', 'accept', AssistantState.THINKING),
        r: ch('thinking', 'speaking', 'reply-audio', AssistantState.SPEAKING),
        x: ch('utterance', 'handshake', 'disconnect'),
      });
    });
    expect(transition('speaking', { kind: 'wake' })?.cause).to.equal('barge-in');
    expect(transition('utterance', { kind: 'resume' })).to.deep.equal(
      ch('utterance', 'utterance', 'resume', AssistantState.LISTENING),
    );
    expect(transition('handshake', { kind: 'resume', to: 'utterance' })).to.deep.equal(
      ch('handshake', 'utterance', 'resume', AssistantState.LISTENING),
    );
    expect(transition('handshake', { kind: 'resume' })).to.deep.equal(
      ch('handshake', 'idle', 'resume', AssistantState.IDLE),
    );
    expect(transition('thinking', I.e as SessionInput)).to.deep.equal({
      from: 'thinking',
      to: 'idle',
      cause: 'error: boom',
      state: AssistantState.ERROR,
      detail: 0,
    });
  });

  it('times a silent phase out to idle with STATE ERROR; activity keeps it alive', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('h w 5ms a 5ms a 20ms c 30ms |', I);
      const out = src.pipe(sessionState({ timeouts: { utterance: 8, verifying: 10 } }));
      // wake at 1, activity at 7 and 13 keep utterance alive until 21 (13 + 8): timed out before c at 34.
      expectObservable(out).toBe('h w 19ms t 43ms |', {
        h: ch('handshake', 'idle', 'hello', AssistantState.IDLE),
        w: ch('idle', 'utterance', 'wake', AssistantState.LISTENING),
        t: {
          from: 'utterance',
          to: 'idle',
          cause: 'timeout: no activity in utterance for 8 ms',
          state: AssistantState.ERROR,
          detail: 0,
        },
      });
      expectSubscriptions(src.subscriptions).toBe('^ 64ms !');
    });
  });

  it('drops the pending timeout when unsubscribed', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('h-w--------', I);
      expectObservable(src.pipe(sessionState({ timeouts: { utterance: 5 } })), '^---!').toBe('h-w-', {
        h: ch('handshake', 'idle', 'hello', AssistantState.IDLE),
        w: ch('idle', 'utterance', 'wake', AssistantState.LISTENING),
      });
      expectSubscriptions(src.subscriptions).toBe('^---!');
    });
  });
});
