/**
 * Reference model of the sender side of a stream (docs/PROTOCOL.md §Loss recovery): no product code
 * runs it. The device's window is the firmware's FrameWindow (firmware/src/core/window.ts), property-
 * tested against this model (test/firmware/unit/window.test.ts); the host re-sends playback go-back-N
 * without one. This class states the semantics and drives the loss-recovery properties
 * (test/protocol/recovery.property.test.ts).
 *
 * The model keeps the frames sent but not yet acknowledged, in a bounded ring, so a NACK can be
 * answered by re-sending them. Link-agnostic and timer-free: the caller sends, and calls `held()` to
 * re-send the tail when its own timer says so.
 *
 * Frames are pushed with consecutive sequence numbers. An ACK/NACK frees every frame before
 * `cumulative` and every frame between `cumulative` and the end of its last gap that no gap lists
 * (the receiver has those); a NACK also returns the held frames of its gaps, in order, to re-send.
 */
import type { AckFrame } from './frames';
import { FrameType } from './frames';
import { seqAdd, seqDiff } from './seq';

export class RetransmitWindow {
  /** Most frames held (slots from the oldest held to the newest pushed). */
  readonly capacity: number;
  private frames: (Uint8Array | null)[];
  private head: number; // ring index of the oldest slot
  private used: number; // slots from the oldest to the newest (freed ones included)
  private count: number; // frames actually held
  private first: number; // seq of the oldest slot

  constructor(capacity: number) {
    if (!(capacity >= 1 && capacity <= 32767 && Math.floor(capacity) === capacity)) {
      throw new Error('RetransmitWindow capacity must be an integer in 1..32767');
    }
    this.capacity = capacity;
    this.frames = [];
    for (let i = 0; i < capacity; i++) this.frames.push(null);
    this.head = 0;
    this.used = 0;
    this.count = 0;
    this.first = 0;
  }

  /** Frames held. */
  get size(): number {
    return this.count;
  }

  /** True when `push` would refuse (every slot used). */
  get full(): boolean {
    return this.used === this.capacity;
  }

  /** Seq the next push must carry (when not empty). */
  get nextSeq(): number {
    return seqAdd(this.first, this.used);
  }

  /**
   * Keep `bytes` (the encoded frame) under `seq`. Returns false, keeping nothing, when full. Throws a
   * Throws an Error if `seq` does not follow the newest frame pushed (a caller bug): sequence numbers of
   * one stream are consecutive. An empty window accepts any seq.
   */
  push(seq: number, bytes: Uint8Array): boolean {
    if (this.used === this.capacity) return false;
    if (this.used === 0) {
      this.first = seq & 0xffff;
    } else if (seq !== seqAdd(this.first, this.used)) {
      throw new Error(
        'RetransmitWindow.push: seq ' + seq + ' does not follow ' + seqAdd(this.first, this.used - 1),
      );
    }
    this.frames[(this.head + this.used) % this.capacity] = bytes;
    this.used++;
    this.count++;
    return true;
  }

  /** The frame held under `seq`, or null. */
  get(seq: number): Uint8Array | null {
    const i = seqDiff(seq, this.first);
    if (i < 0 || i >= this.used) return null;
    return this.frames[(this.head + i) % this.capacity] as Uint8Array | null;
  }

  /** Every held frame, oldest first (to re-send the tail when no ACK came in time). */
  held(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.used; i++) {
      const f = this.frames[(this.head + i) % this.capacity];
      if (f) out.push(f);
    }
    return out;
  }

  /** Seq of the oldest held frame, or -1 when empty. */
  oldest(): number {
    return this.count === 0 ? -1 : this.first;
  }

  /**
   * Drop the oldest held frame without it being acknowledged (a device whose ring is full and whose
   * audio cannot wait). Returns its seq, or -1 when empty.
   */
  evictOldest(): number {
    if (this.count === 0) return -1;
    const seq = this.first;
    this.release(0);
    this.trim();
    return seq;
  }

  /**
   * Apply an ACK or NACK. Frees what the receiver has; for a NACK returns the held frames of the gaps,
   * in sequence order (gaps naming frames no longer held are skipped: the receiver will report them
   * lost). An ACK returns an empty array.
   */
  onAck(ack: AckFrame): Uint8Array[] {
    const resend: Uint8Array[] = [];
    const nack = ack.type === FrameType.NACK;
    let pos = seqDiff(ack.cumulative, this.first); // slot index of cumulative
    if (pos > this.used) pos = this.used;
    for (let i = 0; i < pos; i++) this.release(i);
    const gaps = ack.gaps;
    for (let g = 0; g < gaps.length; g++) {
      const gap = gaps[g] as { start: number; count: number };
      const s = seqDiff(gap.start, this.first);
      // Between the previous gap and this one: received.
      for (let i = pos < 0 ? 0 : pos; i < s && i < this.used; i++) this.release(i);
      const e = s + gap.count;
      if (nack) {
        for (let i = s < 0 ? 0 : s; i < e && i < this.used; i++) {
          const f = this.frames[(this.head + i) % this.capacity];
          if (f) resend.push(f);
        }
      }
      pos = e;
    }
    this.trim();
    return resend;
  }

  /** Drop everything (a new stream, or the stream was cancelled). */
  clear(): void {
    for (let i = 0; i < this.capacity; i++) this.frames[i] = null;
    this.head = 0;
    this.used = 0;
    this.count = 0;
  }

  private release(i: number): void {
    const k = (this.head + i) % this.capacity;
    if (this.frames[k]) {
      this.frames[k] = null;
      this.count--;
    }
  }

  /** Advance the oldest slot past freed ones. */
  private trim(): void {
    while (this.used > 0 && this.frames[this.head] === null) {
      this.head = (this.head + 1) % this.capacity;
      this.first = seqAdd(this.first, 1);
      this.used--;
    }
  }
}
