/**
 * Receiver side of one stream (docs/PROTOCOL.md §Loss recovery): accepts frames in any order within
 * its window, drops duplicates, delivers in sequence order, builds ACK/NACK frames, knows when the
 * stream is complete, and on `finish()` reports exactly the gaps it could not recover.
 * Link-agnostic and timer-free.
 *
 * The window must be at least the sender's ring (HELLO.ringFrames): a frame `window` or more ahead of
 * the next expected one proves the sender no longer holds the frames that far behind it, so the
 * window slides and those frames are recorded as lost.
 *
 * A peer's jump costs at most one window of work, however far ahead it lands, and the lost runs kept
 * for the report are at most MAX_LOST_RUNS (the count of lost frames stays exact), so a hostile sender
 * cannot make a frame cost more than a window or the record grow without bound.
 */
import type { AckFrame, SeqGap } from './frames';
import { FrameType } from './frames';
import { maxGapsFor } from './codec';
import { seqAdd, seqDiff } from './seq';

/** Outcome of `Reassembler.accept`. */
export const Accept = {
  /** Stored (and delivered if it was next). */
  ACCEPTED: 1,
  /** Already received or already delivered: dropped. */
  DUPLICATE: 2,
  /** After the END already seen (or a second, different END): dropped; the peer is at fault. */
  AFTER_END: 3,
  /** The stream was finished: dropped. */
  CLOSED: 4,
} as const;
export type AcceptCode = (typeof Accept)[keyof typeof Accept];

/** Lost runs `lost()` lists at most (the first ones); `lostCount` counts every lost frame. */
export const MAX_LOST_RUNS = 64;

export class Reassembler<T> {
  /** Frames held ahead of `next`, at most this many seqs ahead. */
  readonly window: number;
  private slots: (T | undefined)[];
  private base: number; // ring index of `next`
  private nextSeq: number;
  private far: number; // distance from next to one past the furthest frame received (0 = none ahead)
  private endSeq: number; // -1 until END seen
  private ready: T[];
  private lostGaps: SeqGap[];
  private lostTotal: number;
  private closed: boolean;

  constructor(firstSeq: number, window: number) {
    if (!(window >= 1 && window <= 32767 && Math.floor(window) === window)) {
      throw new Error('Reassembler window must be an integer in 1..32767');
    }
    this.window = window;
    this.slots = [];
    for (let i = 0; i < window; i++) this.slots.push(undefined);
    this.base = 0;
    this.nextSeq = firstSeq & 0xffff;
    this.far = 0;
    this.endSeq = -1;
    this.ready = [];
    this.lostGaps = [];
    this.lostTotal = 0;
    this.closed = false;
  }

  /** Next seq expected: every seq before it was delivered or declared lost (the ACK's cumulative). */
  get next(): number {
    return this.nextSeq;
  }

  /** Seq of the END frame, or -1 if not seen yet. */
  get end(): number {
    return this.endSeq;
  }

  /** END seen, and it and everything before it delivered, with nothing lost. */
  get complete(): boolean {
    return this.endSeq >= 0 && this.nextSeq === seqAdd(this.endSeq, 1) && this.lostTotal === 0;
  }

  /** The stream has no more to deliver: complete, or finished. */
  get done(): boolean {
    return this.closed || (this.endSeq >= 0 && this.nextSeq === seqAdd(this.endSeq, 1));
  }

  /** Frames received and waiting ahead of a gap. */
  get pending(): number {
    let n = 0;
    for (let i = 0; i < this.far; i++) if (this.slots[(this.base + i) % this.window] !== undefined) n++;
    return n;
  }

  /**
   * Offer frame `item` with sequence number `seq`; `isEnd` marks the stream's END (or PLAY_END).
   * Frames that become deliverable in order are queued for `drain()`.
   */
  accept(seq: number, item: T, isEnd: boolean): AcceptCode {
    if (this.closed) return Accept.CLOSED;
    let d = seqDiff(seq, this.nextSeq);
    if (d < 0) return Accept.DUPLICATE;
    if (this.endSeq >= 0 ? seqDiff(seq, this.endSeq) > 0 || (isEnd && seq !== this.endSeq) : false) {
      return Accept.AFTER_END;
    }
    if (d >= this.window) {
      // The sender cannot hold anything before seq - window + 1 any more.
      this.slide(d - this.window + 1);
      d = seqDiff(seq, this.nextSeq); // the slide may have delivered frames after the lost ones
    }
    const k = (this.base + d) % this.window;
    if (this.slots[k] !== undefined) return Accept.DUPLICATE;
    this.slots[k] = item;
    if (isEnd) this.endSeq = seq & 0xffff;
    if (d + 1 > this.far) this.far = d + 1;
    this.advance();
    return Accept.ACCEPTED;
  }

  /** Frames ready in sequence order since the last call. */
  drain(): T[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }

  /**
   * Missing runs from `next` up to the furthest frame received (or END), in order, runs longer than
   * 255 split; at most `maxGaps` of them (the first ones).
   */
  gaps(maxGaps: number): SeqGap[] {
    const out: SeqGap[] = [];
    let i = 0;
    while (i < this.far && out.length < maxGaps) {
      if (this.slots[(this.base + i) % this.window] !== undefined) {
        i++;
        continue;
      }
      let n = 0;
      while (i + n < this.far && n < 255 && this.slots[(this.base + i + n) % this.window] === undefined) n++;
      out.push({ start: seqAdd(this.nextSeq, i), count: n });
      i += n;
    }
    return out;
  }

  /**
   * The ACK (no gaps) or NACK (gaps, as many as fit in `maxPayload`) to send now. `stream` and `seq`
   * go in the header (`seq` is the sender's own message counter).
   */
  buildAck(stream: number, seq: number, maxPayload: number): AckFrame {
    const gaps = this.gaps(maxGapsFor(maxPayload));
    return {
      type: gaps.length > 0 ? FrameType.NACK : FrameType.ACK,
      stream: stream,
      seq: seq,
      cumulative: this.nextSeq,
      gaps: gaps,
    };
  }

  /** Gaps declared lost so far because the window slid past them (the first MAX_LOST_RUNS runs). */
  lost(): SeqGap[] {
    return this.lostGaps.slice(0);
  }

  /** Frames declared lost so far, all of them. */
  get lostCount(): number {
    return this.lostTotal;
  }

  /**
   * Give up on what is missing: every frame still held is queued for `drain()` in order, and the
   * result lists every gap never recovered (those already declared lost, then the holes up to the
   * furthest frame received or END). Empty when the stream completed. Later frames are refused.
   */
  finish(): SeqGap[] {
    if (!this.closed) {
      this.closed = true;
      if (this.far > 0) this.slide(this.far);
    }
    return this.lost();
  }

  /**
   * Move `next` forward by `n`, delivering held frames and recording the others as lost. Nothing is
   * held `far` or more ahead, so past that the slide is one lost run, whatever its length.
   */
  private slide(n: number): void {
    const held = Math.min(n, this.far);
    for (let i = 0; i < held; i++) {
      const k = this.base;
      const item = this.slots[k];
      if (item !== undefined) {
        this.ready.push(item);
        this.slots[k] = undefined;
      } else this.recordLost(this.nextSeq, 1);
      this.base = (this.base + 1) % this.window;
      this.nextSeq = seqAdd(this.nextSeq, 1);
      this.far--;
    }
    const rest = n - held;
    if (rest > 0) {
      this.recordLost(this.nextSeq, rest);
      this.base = (this.base + rest) % this.window;
      this.nextSeq = seqAdd(this.nextSeq, rest);
    }
    this.advance();
  }

  /** `count` frames from `start` are lost: extend the last run or add runs of at most 255. */
  private recordLost(start: number, count: number): void {
    this.lostTotal += count;
    const last = this.lostGaps.length > 0 ? (this.lostGaps[this.lostGaps.length - 1] as SeqGap) : null;
    if (last !== null && seqAdd(last.start, last.count) === start) {
      const add = Math.min(count, 255 - last.count);
      last.count += add;
      start = seqAdd(start, add);
      count -= add;
    }
    while (count > 0 && this.lostGaps.length < MAX_LOST_RUNS) {
      const run = Math.min(count, 255);
      this.lostGaps.push({ start, count: run });
      start = seqAdd(start, run);
      count -= run;
    }
  }

  private advance(): void {
    while (this.slots[this.base] !== undefined) {
      this.ready.push(this.slots[this.base] as T);
      this.slots[this.base] = undefined;
      this.base = (this.base + 1) % this.window;
      this.nextSeq = seqAdd(this.nextSeq, 1);
      if (this.far > 0) this.far--;
    }
  }
}
