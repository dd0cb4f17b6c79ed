/**
 * Sample ring: the pre-roll buffer and the uplink backlog in one typed array, allocated once, when the
 * microphone first starts (alloc()): a board whose microphone this build cannot drive (Thingy:52's PDM)
 * keeps its JsVars (measured: 4 KB is ~315 of Thingy:52's 2,500, the margin it needs). Positions are
 * absolute sample indices (samples written since boot); the ring keeps the last
 * `size` of them. Copies are `set()`/`subarray()` only (native), at most two per call.
 */
export class SampleRing {
  buf = new Uint8Array(0);
  readonly size: number;
  /** Absolute index one past the last sample written. */
  written = 0;
  /** First sample of the audio since the last skipped buffer (see write): nothing before it is read. */
  valid = 0;
  /** A buffer was skipped: the next one written starts a new stretch of audio. */
  private gap = false;

  constructor(size: number) {
    this.size = size;
  }

  /** Allocate the samples (once; the microphone started). */
  alloc(): void {
    if (!this.buf.length) this.buf = new Uint8Array(this.size);
  }

  /**
   * Append a buffer of `n` samples (`src.length`, passed: reading it costs as much as a statement on
   * Espruino; longer than the ring: only its tail is kept). With `keep` ≥ 0, samples from
   * `keep` on must survive: a buffer that would overwrite them is dropped instead, and the audio
   * written after it is a new stretch (`valid`): nothing older reads back with it.
   * (The common case, a mic buffer that neither wraps nor has to be dropped, is one native copy and a
   * few statements: on Espruino the text of this method is read on every mic buffer.)
   */
  write(src: Uint8Array, keep: number, n: number): void {
    const w = this.written;
    const at = w % this.size;
    if (keep < 0 && !this.gap && at + n <= this.size) {
      this.buf.set(src, at);
      this.written = w + n;
    } else this.writeSlow(src, keep);
  }

  private writeSlow(src: Uint8Array, keep: number): void {
    const size = this.size;
    const w = this.written;
    if (keep >= 0 && w + src.length - size > keep) {
      this.gap = true;
      return;
    }
    if (this.gap) {
      this.gap = false;
      this.valid = w;
    }
    let data = src;
    if (data.length > size) data = data.subarray(data.length - size);
    const n = data.length;
    const at = (w + src.length - n) % size;
    const first = size - at;
    if (n <= first) this.buf.set(data, at);
    else {
      this.buf.set(data.subarray(0, first), at);
      this.buf.set(data.subarray(first), 0);
    }
    this.written = w + src.length;
  }

  /** Oldest absolute index still held. */
  oldest(): number {
    const o = this.written - this.size;
    return o > this.valid ? o : this.valid;
  }

  /**
   * Copy samples [from, from + dst.length) into `dst` (from dstOffset). Returns false, copying nothing,
   * if any of them has been overwritten or not written yet.
   */
  read(from: number, dst: Uint8Array, dstOffset: number, count: number): boolean {
    const size = this.size;
    if (from < this.written - size || from < this.valid || from + count > this.written) return false;
    const at = from % size;
    const first = size - at;
    if (count <= first) dst.set(this.buf.subarray(at, at + count), dstOffset);
    else {
      dst.set(this.buf.subarray(at, size), dstOffset);
      dst.set(this.buf.subarray(0, count - first), dstOffset + first);
    }
    return true;
  }
}

/**
 * Byte FIFO for playback: PLAY samples in, output buffers out. Allocated once.
 */
export class ByteFifo {
  readonly buf: Uint8Array;
  readonly size: number;
  private head = 0; // read position
  length = 0;

  constructor(size: number) {
    this.size = size;
    this.buf = new Uint8Array(size);
  }

  free(): number {
    return this.size - this.length;
  }

  /** Append all of `src`; returns false (writing nothing) if it does not fit. */
  push(src: Uint8Array): boolean {
    const n = src.length;
    if (n > this.size - this.length) return false;
    const at = (this.head + this.length) % this.size;
    const first = this.size - at;
    if (n <= first) this.buf.set(src, at);
    else {
      this.buf.set(src.subarray(0, first), at);
      this.buf.set(src.subarray(first), 0);
    }
    this.length += n;
    return true;
  }

  /** Move up to dst.length bytes into dst; returns how many. */
  pop(dst: Uint8Array): number {
    const n = dst.length < this.length ? dst.length : this.length;
    const first = this.size - this.head;
    if (n <= first) dst.set(this.buf.subarray(this.head, this.head + n), 0);
    else {
      dst.set(this.buf.subarray(this.head, this.size), 0);
      dst.set(this.buf.subarray(0, n - first), first);
    }
    this.head = (this.head + n) % this.size;
    this.length -= n;
    return n;
  }

  clear(): void {
    this.head = 0;
    this.length = 0;
  }
}
