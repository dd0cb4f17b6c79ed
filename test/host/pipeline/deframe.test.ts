import { expect } from 'chai';
import { AssistantState, ErrorCode, FrameType, decodeFrame, type ProtocolError } from '@budlink/protocol';
import { deframe } from '../../../host/src/pipeline/deframe';
import { bytes, scheduler } from './marbles';

describe('pipeline/deframe', () => {
  const ping = bytes({ type: FrameType.PING, stream: 0, seq: 7, token: 42 });
  const state = bytes({ type: FrameType.STATE, stream: 0, seq: 8, state: AssistantState.IDLE, detail: 0 });
  const decoded = (b: Uint8Array) => {
    const r = decodeFrame(b);
    if (!r.ok) throw new Error('test bug');
    return r.frame;
  };

  it('decodes frames and keeps bad bytes out of the stream, reporting them as typed errors', () => {
    const errors: ProtocolError[] = [];
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-b-c-d-|', {
        a: ping,
        b: new Uint8Array([0x0f, 0]),
        c: new Uint8Array([0x3f, 0, 0, 0]),
        d: state,
      });
      expectObservable(src.pipe(deframe((e) => errors.push(e)))).toBe('-a-----d-|', {
        a: decoded(ping),
        d: decoded(state),
      });
      expectSubscriptions(src.subscriptions).toBe('^--------!');
    });
    expect(errors.map((e) => e.code)).to.deep.equal([ErrorCode.TRUNCATED, ErrorCode.UNKNOWN_TYPE]);
  });

  it('passes the source error through and releases the subscription on unsubscribe', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-#', { a: ping });
      expectObservable(src.pipe(deframe(() => undefined))).toBe('-a-#', { a: decoded(ping) });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-a-a-|', { a: ping });
      expectObservable(src.pipe(deframe(() => undefined)), '^--!').toBe('-a-', { a: decoded(ping) });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });
});
