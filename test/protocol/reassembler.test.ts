import { expect } from 'chai';
import { Accept, decodeFrame, encodeFrame, FrameType, MAX_LOST_RUNS, Reassembler } from '@budlink/protocol';

describe('protocol: Reassembler', () => {
  it('delivers in order whatever the arrival order, and drops duplicates', () => {
    const r = new Reassembler<number>(65534, 8);
    expect(r.accept(0, 2, false)).to.equal(Accept.ACCEPTED);
    expect(r.drain()).to.deep.equal([]);
    expect(r.accept(65535, 1, false)).to.equal(Accept.ACCEPTED);
    expect(r.accept(0, 2, false)).to.equal(Accept.DUPLICATE);
    expect(r.pending).to.equal(2);
    expect(r.accept(65534, 0, false)).to.equal(Accept.ACCEPTED);
    expect(r.drain()).to.deep.equal([0, 1, 2]);
    expect(r.accept(65535, 1, false)).to.equal(Accept.DUPLICATE);
    expect(r.next).to.equal(1);
  });

  it('completes when END and everything before it are delivered', () => {
    const r = new Reassembler<string>(0, 4);
    r.accept(2, 'end', true);
    expect(r.end).to.equal(2);
    expect(r.complete).to.equal(false);
    r.accept(1, 'b', false);
    r.accept(0, 'a', false);
    expect(r.drain()).to.deep.equal(['a', 'b', 'end']);
    expect(r.complete).to.equal(true);
    expect(r.done).to.equal(true);
    expect(r.finish()).to.deep.equal([]);
    expect(r.accept(3, 'x', false)).to.equal(Accept.CLOSED);
  });

  it('refuses frames after END and a second, different END', () => {
    const r = new Reassembler<number>(0, 8);
    r.accept(3, 3, true);
    expect(r.accept(4, 4, false)).to.equal(Accept.AFTER_END);
    expect(r.accept(2, 2, true)).to.equal(Accept.AFTER_END);
    expect(r.accept(2, 2, false)).to.equal(Accept.ACCEPTED);
  });

  it('reports gaps from next to the furthest frame, splitting runs over 255, bounded', () => {
    const r = new Reassembler<number>(100, 1000);
    r.accept(101, 1, false);
    r.accept(104, 4, false);
    r.accept(700, 600, false);
    expect(r.gaps(10)).to.deep.equal([
      { start: 100, count: 1 },
      { start: 102, count: 2 },
      { start: 105, count: 255 },
      { start: 360, count: 255 },
      { start: 615, count: 85 },
    ]);
    expect(r.gaps(2)).to.have.length(2);
  });

  it('builds an ACK without gaps and a NACK with as many gaps as fit the payload', () => {
    const r = new Reassembler<number>(0, 64);
    r.accept(0, 0, false);
    const a = r.buildAck(3, 9, 20);
    expect(a).to.deep.equal({ type: FrameType.ACK, stream: 3, seq: 9, cumulative: 1, gaps: [] });
    for (let s = 2; s < 40; s += 2) r.accept(s, s, false);
    const n = r.buildAck(3, 10, 20);
    expect(n.type).to.equal(FrameType.NACK);
    expect(n.gaps).to.have.length(4);
    expect(n.gaps[0]).to.deep.equal({ start: 1, count: 1 });
    const e = encodeFrame(n, 20);
    if (!e.ok) expect.fail(e.error.message);
    expect(e.bytes.length).to.be.at.most(20);
    const d = decodeFrame(e.bytes, 20);
    expect(d.ok).to.equal(true);
  });

  it('slides past frames the sender can no longer hold and records them lost', () => {
    const r = new Reassembler<number>(0, 4);
    r.accept(1, 1, false);
    expect(r.accept(5, 5, false)).to.equal(Accept.ACCEPTED); // 5 - 4 + 1 = 2: 0 and 1 leave the window
    expect(r.lost()).to.deep.equal([{ start: 0, count: 1 }]);
    expect(r.drain()).to.deep.equal([1]);
    expect(r.next).to.equal(2);
    r.accept(2, 2, false);
    expect(r.drain()).to.deep.equal([2]);
    expect(r.gaps(4)).to.deep.equal([{ start: 3, count: 2 }]);
  });

  it('finish() delivers what it holds and names every gap never recovered', () => {
    const r = new Reassembler<number>(65533, 16);
    r.accept(65533, 0, false);
    r.accept(0, 3, false);
    r.accept(3, 6, true);
    expect(r.drain()).to.deep.equal([0]);
    const gaps = r.finish();
    expect(gaps).to.deep.equal([
      { start: 65534, count: 2 },
      { start: 1, count: 2 },
    ]);
    expect(r.drain()).to.deep.equal([3, 6]);
    expect(r.complete).to.equal(false);
    expect(r.done).to.equal(true);
  });

  it('a sender leaping 30,000 seqs ahead per frame: the lost record stays bounded, the count exact', () => {
    const r = new Reassembler<number>(0, 256);
    const n = 200;
    for (let i = 1; i <= n; i++) expect(r.accept((i * 30000) & 0xffff, i, false)).to.equal(Accept.ACCEPTED);
    expect(r.lost().length).to.be.at.most(MAX_LOST_RUNS);
    r.finish();
    expect(r.drain()).to.have.length(n);
    // Seqs 0..n × 30,000 were covered: all lost but the n frames received.
    expect(r.lostCount).to.equal(n * 30000 + 1 - n);
    expect(r.lost().length).to.equal(MAX_LOST_RUNS);
    expect(r.lost()[0]).to.deep.equal({ start: 0, count: 255 });
  });

  it('rejects a bad window', () => {
    expect(() => new Reassembler<number>(0, 0)).to.throw(Error, /must/);
  });
});
