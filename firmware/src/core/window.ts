/**
 * The device's retransmit window: encoded uplink frames kept by sequence number until the host
 * acknowledges them. Same semantics as the protocol's RetransmitWindow (a property test runs both on
 * the same operations), written for the interpreter: a plain ACK with no holes in the window is O(1)
 * (the ring's head moves; no per-frame loop), push is a handful of statements, and re-starting a stream
 * does not touch every slot.
 *
 * Slots outside [head, head + used) may still reference old frames until they are overwritten or
 * `clear()` runs (the uplink clears when a stream completes): the JsVar peak is the same as a full window.
 */
import type { AckFrame } from '@budlink/protocol';

export class FrameWindow {
  readonly capacity: number;
  /** Slot ring; in-range slots hold a frame or null (freed out of order by a NACK). */
  frames: (Uint8Array | null)[];
  /** Ring index of the oldest slot. */
  head = 0;
  /** Slots from the oldest to the newest, freed ones included (`used === capacity`: full). */
  used = 0;
  /** Frames actually held (the window's size). */
  count = 0;
  /** Seq of the oldest slot. */
  first = 0;
  /** Freed (null) slots inside the used range. */
  holes = 0;

  constructor(capacity: number) {
    if (!(capacity >= 1 && capacity <= 32767 && Math.floor(capacity) === capacity)) {
      throw new RangeError('FrameWindow capacity must be an integer in 1..32767');
    }
    this.capacity = capacity;
    this.frames = [];
    for (let i = 0; i < capacity; i++) this.frames.push(null);
  }

  /**
   * Keep `bytes` under `seq`. False (keeping nothing) when full; a RangeError when `seq` does not follow
   * the newest frame (a caller bug). An empty window accepts any seq.
   */
  push(seq: number, bytes: Uint8Array): boolean {
    const u = this.used;
    if (u === this.capacity) return false;
    if (u === 0) this.first = seq & 0xffff;
    else if (((this.first + u) & 0xffff) !== seq)
      throw new RangeError(
        'FrameWindow.push: seq ' + seq + ' does not follow ' + ((this.first + u - 1) & 0xffff),
      );
    let k = this.head + u;
    if (k >= this.capacity) k -= this.capacity;
    this.frames[k] = bytes;
    this.used = u + 1;
    this.count++;
    return true;
  }

  /** The frame held under `seq`, or null. */
  get(seq: number): Uint8Array | null {
    const i = (seq - this.first) & 0xffff;
    if (i >= this.used) return null;
    let k = this.head + i;
    if (k >= this.capacity) k -= this.capacity;
    return this.frames[k] as Uint8Array | null;
  }

  /** Seq of the oldest held frame, or -1 when empty. */
  oldest(): number {
    return this.count === 0 ? -1 : this.first;
  }

  /** Drop the oldest held frame unacknowledged. Returns its seq, or -1 when empty. */
  evictOldest(): number {
    if (this.count === 0) return -1;
    const seq = this.first;
    this.free(0);
    this.trim();
    return seq;
  }

  /**
   * A plain cumulative ACK: every seq before `cumulative` was received. O(1) when the window has no
   * holes (the common case); a cumulative behind the window changes nothing.
   */
  ackTo(cumulative: number): void {
    let n = (cumulative - this.first) & 0xffff;
    if (n === 0 || n > 0x7fff) return;
    if (n > this.used) n = this.used;
    if (this.holes === 0) {
      let h = this.head + n;
      if (h >= this.capacity) h -= this.capacity;
      this.head = h;
      this.used -= n;
      this.count -= n;
      this.first = (this.first + n) & 0xffff;
      return;
    }
    for (let i = 0; i < n; i++) this.free(i);
    this.trim();
  }

  /**
   * Apply an ACK or NACK with gaps: frees what the receiver has; for a NACK returns the held frames of
   * the gaps in sequence order (gaps naming frames no longer held are skipped).
   */
  onAck(ack: AckFrame): Uint8Array[] {
    const resend: Uint8Array[] = [];
    const gaps = ack.gaps;
    if (gaps.length === 0) {
      this.ackTo(ack.cumulative);
      return resend;
    }
    const nack = ack.type === 0x07;
    let pos = signed(ack.cumulative - this.first);
    if (pos > this.used) pos = this.used;
    for (let i = 0; i < pos; i++) this.free(i);
    for (let g = 0; g < gaps.length; g++) {
      const gap = gaps[g] as { start: number; count: number };
      const s = signed(gap.start - this.first);
      for (let i = pos < 0 ? 0 : pos; i < s && i < this.used; i++) this.free(i);
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

  /** Forget every frame without touching the slots (a new stream). */
  reset(): void {
    this.head = 0;
    this.used = 0;
    this.count = 0;
    this.holes = 0;
  }

  /** Drop everything and release the frames' memory. */
  clear(): void {
    const fr = this.frames;
    for (let i = 0; i < this.capacity; i++) fr[i] = null;
    this.reset();
  }

  /** Free the in-range slot `i` (a hole until trim passes it). */
  private free(i: number): void {
    const k = (this.head + i) % this.capacity;
    if (this.frames[k]) {
      this.frames[k] = null;
      this.count--;
      this.holes++;
    }
  }

  /** Advance the oldest slot past freed ones. */
  private trim(): void {
    const fr = this.frames;
    while (this.used > 0 && fr[this.head] === null) {
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
      this.first = (this.first + 1) & 0xffff;
      this.used--;
      this.holes--;
    }
  }
}

/** A u16 sequence difference as a signed number in −32768..32767. */
function signed(d: number): number {
  const x = d & 0xffff;
  return x >= 0x8000 ? x - 0x10000 : x;
}
