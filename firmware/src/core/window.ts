/**
 * The device's retransmit window: which utterance frames (by seq) are still unacknowledged, and which of
 * them the host asked for again. It holds no frame bytes: an AUDIO frame is rebuilt from the sample ring
 * when it is re-sent (its first sample index and length are kept), WAKE and END from the uplink's state.
 * Frames held cost 6 bytes each instead of a Uint8Array each (16 × 50-byte frames were ~145 JsVars
 * on a Puck.js; measured on the real interpreter), so the window's memory is fixed at boot.
 *
 * Semantics are those of the protocol's reference model (protocol/src/window.ts, RetransmitWindow; the
 * property test test/firmware/unit/window.test.ts holds this equal to it): frames enter with
 * consecutive seqs; an ACK frees every frame before `cumulative` and every frame between the listed
 * gaps; a NACK also asks for the frames inside its gaps again. A re-send request is kept once per
 * frame however many NACKs name it (a NACK flood costs no memory and no extra notifications).
 */

import type { SeqGap } from '@budlink/protocol';

/** Slot flags. */
export const HELD = 1;
export const RESEND = 2;
/** Kind of the frame in a slot (AUDIO is neither). */
export const WAKE_SLOT = 4;
export const END_SLOT = 8;

export class FrameWindow {
  readonly capacity: number;
  /** Per slot: flags (HELD, RESEND, WAKE_SLOT, END_SLOT). */
  readonly flag: Uint8Array;
  /** Per slot: the AUDIO frame's first sample (absolute index, modulo 2^32) and its sample count. */
  readonly from: Uint32Array;
  readonly len: Uint8Array;
  /** Slot of the oldest seq in the window, the seq it holds, and the seqs spanned (held or freed). */
  head = 0;
  first = 0;
  used = 0;
  /** Frames still held, how many of them await a re-send, and freed slots not yet trimmed. */
  count = 0;
  resends = 0;
  holes = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.flag = new Uint8Array(capacity);
    this.from = new Uint32Array(capacity);
    this.len = new Uint8Array(capacity);
  }

  /** Hold frame `seq` (it must follow the newest by one: the uplink numbers them so). */
  push(seq: number, kind: number, from: number, n: number): void {
    const u = this.used;
    if (u === 0) this.first = seq;
    let k = this.head + u;
    if (k >= this.capacity) k -= this.capacity;
    this.flag[k] = HELD | kind;
    this.from[k] = from;
    this.len[k] = n;
    this.used = u + 1;
    this.count++;
  }

  /** Slot of `seq` if it is held, else -1. */
  slot(seq: number): number {
    const i = (seq - this.first) & 0xffff;
    if (i >= this.used) return -1;
    let k = this.head + i;
    if (k >= this.capacity) k -= this.capacity;
    return this.flag[k]! & HELD ? k : -1;
  }

  /**
   * Apply an ACK (nack false) or NACK: free every frame before `cumulative` and between the gaps
   * (ascending, as decoded); a NACK marks the held frames inside its gaps for re-send.
   */
  ack(cumulative: number, gaps: SeqGap[], nack: boolean): void {
    let pos = (cumulative - this.first) & 0xffff;
    if (pos >= 0x8000) pos -= 0x10000;
    if (pos > this.used) pos = this.used;
    if (gaps[0] || this.holes || this.resends) return this.ackGaps(pos, gaps, nack);
    // A plain ACK with every frame in the window held (the common case): O(1), the flags of the
    // slots left behind are rewritten by push() before they are read again.
    if (pos <= 0) return;
    let h = this.head + pos;
    if (h >= this.capacity) h -= this.capacity;
    this.head = h;
    this.used -= pos;
    this.count -= pos;
    this.first = (this.first + pos) & 0xffff;
  }

  /** ack() with gaps, or with freed or re-send-marked frames in the window (`pos`: cumulative's position). */
  private ackGaps(pos: number, gaps: SeqGap[], nack: boolean): void {
    this.free(0, pos);
    for (let g = 0; g < gaps.length; g++) {
      const s = signed(gaps[g]!.start - this.first);
      this.free(pos, s);
      const e = s + gaps[g]!.count;
      if (nack)
        for (let i = s < 0 ? 0 : s; i < e && i < this.used; i++) {
          const k = (this.head + i) % this.capacity;
          const f = this.flag[k]!;
          if (f & HELD && !(f & RESEND)) {
            this.flag[k] = f | RESEND;
            this.resends++;
          }
        }
      pos = e;
    }
    this.trim();
  }

  /** The oldest frame awaiting a re-send (its mark cleared), or -1. */
  takeResend(): number {
    if (!this.resends) return -1;
    for (let i = 0; i < this.used; i++) {
      const k = (this.head + i) % this.capacity;
      if (this.flag[k]! & RESEND) {
        this.flag[k] = this.flag[k]! & ~RESEND;
        this.resends--;
        return (this.first + i) & 0xffff;
      }
    }
    this.resends = 0;
    return -1;
  }

  /** Drop frame `seq` (the host will find it lost). Returns false if it was not held. */
  drop(seq: number): boolean {
    const i = (seq - this.first) & 0xffff;
    if (i >= this.used || !(this.flag[(this.head + i) % this.capacity]! & HELD)) return false;
    this.free(i, i + 1);
    this.trim();
    return true;
  }

  /** Forget everything. */
  reset(): void {
    this.flag.fill(0);
    this.head = this.used = this.count = this.resends = this.holes = 0;
  }

  /** Free the held frames at window positions [a, b). */
  private free(a: number, b: number): void {
    for (let i = a < 0 ? 0 : a; i < b && i < this.used; i++) {
      const k = (this.head + i) % this.capacity;
      const f = this.flag[k]!;
      if (f & HELD) {
        if (f & RESEND) this.resends--;
        this.flag[k] = 0;
        this.count--;
        this.holes++;
      }
    }
  }

  /** Advance the head past freed slots. */
  private trim(): void {
    while (this.used > 0 && !(this.flag[this.head]! & HELD)) {
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
      this.first = (this.first + 1) & 0xffff;
      this.used--;
      this.holes--;
    }
  }
}

function signed(d: number): number {
  const x = d & 0xffff;
  return x >= 0x8000 ? x - 0x10000 : x;
}
