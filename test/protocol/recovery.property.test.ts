/**
 * Property: a RetransmitWindow sender and a Reassembler receiver, over a link that loses up to 30% of
 * frames each way and reorders frames within the window, end with every frame delivered exactly once
 * and in order; when the sender must drop frames (a full ring it cannot wait on), the receiver reports
 * a gap for exactly the frames the sender no longer holds and the receiver never got.
 * ACK/NACK frames go through the real codec at the negotiated payload size.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  Accept,
  decodeFrame,
  encodeFrame,
  FrameType,
  RetransmitWindow,
  Reassembler,
  seqAdd,
} from '@budlink/protocol';
import type { AckFrame } from '@budlink/protocol';
import { below, rng } from '@budlink/test-support/rng';

interface Scenario {
  frames: number; // AUDIO frames before END
  capacity: number; // sender ring
  extraWindow: number; // receiver window = capacity + extraWindow
  firstSeq: number;
  loss: number; // 0..0.3, each direction
  seed: number;
  evict: boolean; // sender drops its oldest frame instead of waiting when full
  produceRate: number; // new frames per tick when evicting
  payload: number; // negotiated payload size (limits the gaps per NACK)
}

interface Outcome {
  delivered: number[]; // indexes (0..frames = END) in delivery order
  lost: number[]; // indexes the receiver reported lost
  evicted: number[]; // indexes the sender dropped unacknowledged
  received: boolean[]; // the receiver accepted this index at some point
  complete: boolean;
}

function run(s: Scenario): Outcome {
  const r = rng(s.seed);
  const total = s.frames + 1; // + END
  const seqOf = (i: number) => seqAdd(s.firstSeq, i);
  const indexOf = (seq: number) => (seq - s.firstSeq + 65536) & 0xffff;
  const sender = new RetransmitWindow(s.capacity);
  const receiver = new Reassembler<number>(s.firstSeq, s.capacity + s.extraWindow);
  const received: boolean[] = new Array(total).fill(false);
  const evicted: number[] = [];
  const delivered: number[] = [];
  let produced = 0;
  let inFlight: Uint8Array[] = [];
  let idle = 0;
  let ackSeq = 0;
  const encode = (i: number): Uint8Array => {
    const frame =
      i === s.frames
        ? {
            type: FrameType.END,
            stream: 1,
            seq: seqOf(i),
            reason: 1 as const,
            lastSeq: seqOf(i - 1),
            totalSamples: i,
          }
        : { type: FrameType.AUDIO, stream: 1, seq: seqOf(i), samples: new Uint8Array([i & 0xff]) };
    const e = encodeFrame(frame, s.payload);
    if (!e.ok) throw new Error(e.error.message);
    return e.bytes;
  };
  for (let tick = 0; tick < 20000; tick++) {
    // Sender: produce new frames.
    let budget = s.evict ? s.produceRate : s.capacity;
    while (produced < total && budget-- > 0) {
      if (sender.full) {
        if (!s.evict) break;
        evicted.push(indexOf(sender.evictOldest()));
      }
      const bytes = encode(produced);
      expect(sender.push(seqOf(produced), bytes)).to.equal(true);
      inFlight.push(bytes);
      produced++;
    }
    // Link: reorder this tick's frames (a window's worth at most), lose some.
    const batch = inFlight;
    inFlight = [];
    for (let i = batch.length - 1; i > 0; i--) {
      const j = below(r, i + 1);
      const t = batch[i] as Uint8Array;
      batch[i] = batch[j] as Uint8Array;
      batch[j] = t;
    }
    let progress = false;
    for (const bytes of batch) {
      if (r() < s.loss) continue;
      const d = decodeFrame(bytes, s.payload);
      if (!d.ok) throw new Error(d.error.message);
      const f = d.frame;
      const code = receiver.accept(f.seq, indexOf(f.seq), f.type === FrameType.END);
      if (code === Accept.ACCEPTED) {
        received[indexOf(f.seq)] = true;
        progress = true;
      }
    }
    for (const i of receiver.drain()) delivered.push(i);
    if (receiver.done && sender.size === 0) break;
    // Receiver: ACK/NACK every tick, through the codec, lost like anything else.
    const ack = receiver.buildAck(1, ackSeq, s.payload);
    ackSeq = seqAdd(ackSeq, 1);
    const e = encodeFrame(ack, s.payload);
    if (!e.ok) throw new Error(e.error.message);
    if (r() >= s.loss) {
      const d = decodeFrame(e.bytes, s.payload);
      if (!d.ok) throw new Error(d.error.message);
      for (const bytes of sender.onAck(d.frame as AckFrame)) inFlight.push(bytes);
    }
    // Sender timer: nothing new arrived for a few ticks, re-send the tail.
    idle = progress ? 0 : idle + 1;
    if (idle > 0 && idle % 3 === 0) for (const bytes of sender.held()) inFlight.push(bytes);
    if (produced === total && idle > 60) break; // nothing recoverable left
  }
  const lostGaps = receiver.finish();
  for (const i of receiver.drain()) delivered.push(i);
  const lost: number[] = [];
  for (const g of lostGaps) for (let k = 0; k < g.count; k++) lost.push(indexOf(seqAdd(g.start, k)));
  return { delivered, lost, evicted, received, complete: receiver.complete };
}

const scenario = (evict: boolean) =>
  fc.record({
    frames: fc.integer({ min: 0, max: 300 }),
    capacity: fc.integer({ min: 1, max: 48 }),
    extraWindow: fc.integer({ min: 0, max: 16 }),
    firstSeq: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 65200, max: 65535 })),
    loss: fc.double({ min: 0, max: 0.3, noNaN: true }),
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
    evict: fc.constant(evict),
    produceRate: fc.integer({ min: 1, max: 64 }),
    payload: fc.integer({ min: 20, max: 244 }),
  });

describe('protocol: loss recovery properties (RetransmitWindow + Reassembler)', () => {
  it('a sender that waits when full delivers every frame exactly once, in order', () => {
    fc.assert(
      fc.property(scenario(false), (s) => {
        const o = run(s);
        expect(o.evicted).to.deep.equal([]);
        expect(o.lost).to.deep.equal([]);
        expect(o.complete).to.equal(true);
        expect(o.delivered).to.deep.equal(Array.from({ length: s.frames + 1 }, (_, i) => i));
      }),
      { seed: 20261126, numRuns: 300 },
    );
  });

  it('a sender that drops when full: gaps reported exactly for frames dropped and never received', () => {
    let withLoss = 0;
    let withRecoveredEviction = 0;
    fc.assert(
      fc.property(scenario(true), (s) => {
        const o = run(s);
        if (o.lost.length > 0) withLoss++;
        if (o.evicted.some((i) => o.received[i])) withRecoveredEviction++;
        const total = s.frames + 1;
        // In order, each at most once.
        for (let i = 1; i < o.delivered.length; i++) {
          expect(o.delivered[i] as number).to.be.above(o.delivered[i - 1] as number);
        }
        const expectedLost = o.evicted.filter((i) => !o.received[i]).sort((a, b) => a - b);
        expect([...o.lost].sort((a, b) => a - b)).to.deep.equal(expectedLost);
        // Every frame is delivered or reported lost, never both.
        const all = [...o.delivered, ...o.lost].sort((a, b) => a - b);
        expect(all).to.deep.equal(Array.from({ length: total }, (_, i) => i));
        expect(o.complete).to.equal(o.lost.length === 0);
      }),
      { seed: 20261127, numRuns: 300 },
    );
    // The property must not hold vacuously: both kinds of eviction happen in the runs.
    expect(withLoss).to.be.above(30);
    expect(withRecoveredEviction).to.be.above(30);
  });
});
