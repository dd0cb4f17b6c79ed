import { packetize } from '../../../host/src/pipeline/packetize';
import { expect } from 'chai';
import { scheduler } from './marbles';

const u8 = (...v: number[]) => new Uint8Array(v);

describe('pipeline/packetize', () => {
  it('cuts a byte stream into fixed payloads and flushes the rest on completion', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-c-|', { a: u8(1, 2), b: u8(3, 4, 5, 6, 7), c: u8(8) });
      expectObservable(src.pipe(packetize(3))).toBe('--(xy)(z|)', {
        x: u8(1, 2, 3),
        y: u8(4, 5, 6),
        z: u8(7, 8),
      });
      expectSubscriptions(src.subscriptions).toBe('^-----!');
    });
  });

  it('never splits a 2-byte sample and drops a dangling odd byte', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a|', { a: u8(1, 2, 3, 4, 5, 6, 7) });
      expectObservable(src.pipe(packetize(5, 2))).toBe('x(y|)', { x: u8(1, 2, 3, 4), y: u8(5, 6) });
    });
    expect(() => packetize(1, 2)).to.throw(RangeError);
  });
});
