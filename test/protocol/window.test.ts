import { expect } from 'chai';
import { FrameType, RetransmitWindow } from '@budlink/protocol';
import type { AckFrame, SeqGap } from '@budlink/protocol';

const frame = (seq: number) => new Uint8Array([seq & 0xff, seq >> 8]);
const seqOf = (b: Uint8Array) => (b[0] as number) | ((b[1] as number) << 8);
const ack = (cumulative: number, gaps: SeqGap[]): AckFrame => ({
  type: FrameType.ACK,
  stream: 1,
  seq: 0,
  cumulative,
  gaps,
});
const nack = (cumulative: number, gaps: SeqGap[]): AckFrame => ({
  type: FrameType.NACK,
  stream: 1,
  seq: 0,
  cumulative,
  gaps,
});

function filled(capacity: number, first: number, n: number): RetransmitWindow {
  const w = new RetransmitWindow(capacity);
  for (let i = 0; i < n; i++)
    expect(w.push((first + i) & 0xffff, frame((first + i) & 0xffff))).to.equal(true);
  return w;
}

describe('protocol: RetransmitWindow', () => {
  it('is bounded: push returns false when full and keeps nothing', () => {
    const w = filled(4, 10, 4);
    expect(w.full).to.equal(true);
    expect(w.push(14, frame(14))).to.equal(false);
    expect(w.size).to.equal(4);
    expect(w.get(14)).to.equal(null);
    expect(w.capacity).to.equal(4);
  });

  it('refuses a seq that does not follow the newest', () => {
    const w = filled(8, 10, 2);
    expect(() => w.push(13, frame(13))).to.throw(Error, /does not follow/);
    expect(() => w.push(11, frame(11))).to.throw(Error, /does not follow/);
    expect(w.nextSeq).to.equal(12);
  });

  it('rejects a bad capacity', () => {
    expect(() => new RetransmitWindow(0)).to.throw(Error, /must/);
    expect(() => new RetransmitWindow(2.5)).to.throw(Error, /must/);
  });

  it('ACK frees everything before cumulative, across the wrap', () => {
    const w = filled(8, 65533, 6); // 65533..65535, 0, 1, 2
    expect(w.onAck(ack(1, []))).to.deep.equal([]);
    expect(w.size).to.equal(2);
    expect(w.oldest()).to.equal(1);
    expect(w.get(0)).to.equal(null);
    expect(seqOf(w.get(2) as Uint8Array)).to.equal(2);
    expect(w.push(3, frame(3))).to.equal(true);
  });

  it('NACK returns the held frames of the gaps, in order, and frees what the receiver has', () => {
    const w = filled(16, 100, 10); // 100..109
    const resend = w.onAck(
      nack(101, [
        { start: 101, count: 2 },
        { start: 105, count: 1 },
      ]),
    );
    expect(resend.map(seqOf)).to.deep.equal([101, 102, 105]);
    // 100 (cumulative), 103, 104 (between gaps) freed; 106..109 unknown: kept.
    expect(w.held().map(seqOf)).to.deep.equal([101, 102, 105, 106, 107, 108, 109]);
    expect(w.size).to.equal(7);
  });

  it('an ACK with gaps frees but re-sends nothing', () => {
    const w = filled(16, 0, 6);
    expect(w.onAck(ack(1, [{ start: 1, count: 1 }]))).to.deep.equal([]);
    expect(w.held().map(seqOf)).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('skips gaps it no longer holds, and ignores a stale ACK', () => {
    const w = filled(4, 0, 4);
    expect(w.evictOldest()).to.equal(0);
    expect(w.push(4, frame(4))).to.equal(true);
    expect(w.onAck(nack(0, [{ start: 0, count: 2 }])).map(seqOf)).to.deep.equal([1]);
    expect(w.onAck(ack(65000, []))).to.deep.equal([]);
    expect(w.size).to.equal(4);
  });

  it('an ACK past the newest frees everything', () => {
    const w = filled(4, 0, 3);
    w.onAck(ack(100, []));
    expect(w.size).to.equal(0);
    expect(w.oldest()).to.equal(-1);
    expect(w.push(3, frame(3))).to.equal(true);
  });

  it('a freed middle slot still counts until the oldest is freed', () => {
    const w = filled(4, 0, 4);
    w.onAck(
      ack(0, [
        { start: 0, count: 1 },
        { start: 2, count: 1 },
      ]),
    ); // frees 1
    expect(w.size).to.equal(3);
    expect(w.full).to.equal(true);
    w.onAck(ack(1, [])); // frees 0; slots 0 and 1 released
    expect(w.full).to.equal(false);
    expect(w.held().map(seqOf)).to.deep.equal([2, 3]);
  });

  it('clear empties it and evictOldest on empty says -1', () => {
    const w = filled(4, 7, 3);
    w.clear();
    expect(w.size).to.equal(0);
    expect(w.held()).to.deep.equal([]);
    expect(w.evictOldest()).to.equal(-1);
    expect(w.push(500, frame(500))).to.equal(true);
  });
});
