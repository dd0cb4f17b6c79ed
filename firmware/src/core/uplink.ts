/**
 * The utterance sender: WAKE (seq s) → AUDIO (s+1, …) → END on one stream, read from the sample ring
 * (which holds the pre-roll and any backlog), each frame kept in a RetransmitWindow until ACKed and
 * re-sent on NACK. Pull-based: the pacer calls `next()` for each notification it may send.
 *
 * Priority in next(): NACKed frames, then new frames (if the window has room), then — when everything
 * is sent but not acknowledged for rtoMs — the newest held frame again (so a lost END or tail frame
 * makes the host NACK what it lacks). A stream with no ACK at all for giveUpMs is abandoned.
 */
import { Codec, EndReason, FrameType, HEADER_BYTES } from '@budlink/protocol';
import type { AckFrame, EndReasonCode } from '@budlink/protocol';
import { encodeEnd, encodeWake } from './fastpath';
import type { WakeHit } from './gate';
import type { SampleRing } from './ring';
import { FrameWindow } from './window';

export interface UplinkOptions {
  rtoMs: number;
  giveUpMs: number;
  /**
   * Backlog (samples captured but not yet framed) past which, with the window full, the oldest
   * unacknowledged frame is dropped so capture can go on (docs/PROTOCOL.md §6). Set it about two mic
   * buffers below the ring size; past the ring size the utterance is truncated (END reason ERROR).
   */
  evictBacklog: number;
}

export interface UplinkCounters {
  /** Frames re-sent after a NACK or a timeout. */
  resent: number;
  /** Utterances truncated because the ring overran the sender (link too slow). */
  overflows: number;
  /** Streams abandoned without any ACK. */
  abandoned: number;
  /** Unacknowledged frames dropped from a full window so capture could go on (lost for good). */
  evicted: number;
}

export class Uplink {
  /** Current (or last) stream id, u8. */
  stream = 0;
  /** A stream is being sent or awaits its acknowledgements. */
  active = false;
  /** Whole-frame size limit (the negotiated payload size). */
  payload: number;
  rate: number;
  counters: UplinkCounters = { resent: 0, overflows: 0, abandoned: 0, evicted: 0 };
  readonly window: FrameWindow;
  private ring: SampleRing;
  private options: UplinkOptions;
  private seq = 0;
  private first = 0; // absolute index of the utterance's first sample
  private cursor = 0; // absolute index of the next sample to send
  private endAt = -1; // absolute end of the utterance, -1 while capturing
  private endReason: EndReasonCode = EndReason.SILENCE;
  private endQueued = false;
  private lastAudioSeq = 0;
  private resend: Uint8Array[] = [];
  private wake: Uint8Array | null = null;
  private lastProgress = 0;
  private lastAck = 0;
  /** resume() found audio lost while the link was down: skip it once the window has emptied. */
  private skipPending = false;
  /** Frames (the last one END) still owed after a skipped gap so that the host can prove it lost. */
  private afterGap = 0;

  constructor(ring: SampleRing, capacity: number, payload: number, rate: number, options: UplinkOptions) {
    this.ring = ring;
    this.window = new FrameWindow(capacity);
    this.payload = payload;
    this.rate = rate;
    this.options = options;
  }

  /**
   * Start an utterance for `hit` with up to `preRollMs` of audio before the trigger point.
   * Returns false if a previous stream is still in flight.
   */
  start(hit: WakeHit, preRollMs: number, now: number): boolean {
    if (this.active) return false;
    const ring = this.ring;
    const trigger = hit.startSample;
    let from = trigger - Math.floor((preRollMs * this.rate) / 1000);
    if (from < ring.oldest()) from = ring.oldest();
    if (from > trigger) from = trigger;
    this.stream = (this.stream + 1) & 0xff;
    this.seq = 0;
    this.first = from;
    this.cursor = from;
    this.endAt = -1;
    this.endQueued = false;
    this.resend = [];
    this.skipPending = false;
    this.afterGap = 0;
    this.window.reset();
    this.active = true;
    this.lastProgress = now;
    this.lastAck = now;
    this.lastAudioSeq = 0;
    const wake = encodeWake(
      this.stream,
      0,
      hit.trigger,
      hit.score,
      Codec.PCM_U8,
      this.rate,
      (((trigger - from) * 1000) / this.rate) | 0,
      trigger - from,
      hit.endSample - from,
    );
    this.window.push(0, wake);
    this.seq = 1;
    this.wake = wake;
    return true;
  }

  /** Capture ended at absolute sample `endSample`; END follows the remaining audio. */
  finish(reason: EndReasonCode, endSample: number): void {
    if (!this.active || this.endAt >= 0) return;
    this.endAt = endSample < this.cursor ? this.cursor : endSample;
    this.endReason = reason;
  }

  /** True while capturing (WAKE sent, END not yet decided). */
  capturing(): boolean {
    return this.active && this.endAt < 0;
  }

  /** A plain ACK (no gaps) up to `cumulative` (the common case: O(1), no allocation). */
  ackTo(stream: number, cumulative: number, now: number): void {
    if (!this.active || stream !== this.stream) return;
    this.lastAck = now;
    const w = this.window;
    const held = w.count;
    w.ackTo(cumulative);
    // Only progress restarts the re-send timer: a host repeating the same ACK (it does every 150 ms
    // while waiting) must not keep a lost tail from being re-sent, e.g. after a reconnect.
    if (w.count !== held) this.lastProgress = now;
    if (this.endQueued && w.count === 0) this.done();
  }

  /** Apply an ACK/NACK from the host (frames of another stream are ignored). */
  onAck(ack: AckFrame, now: number): void {
    if (!this.active || ack.stream !== this.stream) return;
    this.lastAck = now;
    const held = this.window.count;
    const again = this.window.onAck(ack);
    if (again.length || this.window.count !== held) this.lastProgress = now;
    for (let i = 0; i < again.length; i++) this.resend.push(again[i] as Uint8Array);
    this.checkDone();
  }

  /** Drop the stream (given up). */
  reset(): void {
    this.active = false;
    this.resend = [];
    this.wake = null;
    this.skipPending = false;
    this.window.clear();
  }

  /**
   * The link went down: the stream is kept (capture goes on into the ring, the window keeps its
   * frames); only the re-sends queued for the old link are dropped, the host NACKs again after resume.
   */
  suspend(): void {
    this.resend = [];
  }

  /**
   * Continue the stream on a new link, after its WELCOME (docs/PROTOCOL.md §5): the re-send and give-up
   * clocks restart. Returns true if audio was lost while the link was down (the ring has overwritten,
   * or is within two mic buffers of overwriting, samples not yet framed): the utterance then ends here
   * with END reason ERROR, the frames that audio would have filled get sequence numbers that are never
   * sent (the host reports them as a gap), and the newest audio still in the ring follows them.
   */
  resume(now: number): boolean {
    if (!this.active) return false;
    this.lastAck = now;
    this.lastProgress = now;
    this.resend = [];
    const written = this.ring.written;
    const end = this.endAt < 0 ? written : this.endAt;
    if (this.endQueued || this.cursor >= end || this.cursor >= written - this.options.evictBacklog)
      return false;
    this.endAt = end;
    this.endReason = EndReason.ERROR;
    this.skipPending = true;
    this.counters.overflows++;
    return true;
  }

  /**
   * The next frame to notify, or null if nothing is due now. The common case (a full AUDIO frame
   * from the ring) is kept to a few statements: this runs ~90 times a second at 4 kHz on 50-byte
   * payloads, and every JS statement counts on Espruino.
   */
  next(now: number): Uint8Array | null {
    if (!this.active) return null;
    if (this.wake || this.resend.length) return this.urgent();
    const c = this.cursor;
    const n = this.payload - HEADER_BYTES;
    const ring = this.ring;
    const size = ring.size;
    const w = ring.written;
    const at = c % size;
    const win = this.window;
    // Fast path: capturing, a whole frame available, still held by the ring, not wrapping, window open.
    if (this.endAt < 0 && w - c >= n && c >= w - size && at + n <= size && win.used < win.capacity) {
      const out = new Uint8Array(HEADER_BYTES + n);
      out.set(ring.buf.subarray(at, at + n), HEADER_BYTES);
      const s = this.seq;
      out[0] = FrameType.AUDIO;
      out[1] = this.stream;
      out[2] = s;
      out[3] = s >> 8;
      // FrameWindow.push inlined (the hot path): the seq follows the newest frame by construction.
      const u = win.used;
      if (u === 0) win.first = s;
      let k = win.head + u;
      if (k >= win.capacity) k -= win.capacity;
      win.frames[k] = out;
      win.used = u + 1;
      win.count++;
      this.cursor = c + n;
      this.lastAudioSeq = s;
      this.seq = (s + 1) & 0xffff;
      this.lastProgress = now;
      return out;
    }
    // Nothing due yet: capturing, less than a frame buffered, window open, no re-send timer expired.
    if (
      this.endAt < 0 &&
      w - c < n &&
      win.used < win.capacity &&
      now - this.lastProgress < this.options.rtoMs
    )
      return null;
    return this.slow(now);
  }

  /** WAKE first, then NACKed frames. */
  private urgent(): Uint8Array {
    const w = this.wake;
    if (w) {
      this.wake = null;
      return w;
    }
    this.counters.resent++;
    return this.resend.shift() as Uint8Array;
  }

  /** Everything but a full AUDIO frame: the tail, END, overflow, give-up and timeout re-send. */
  private slow(now: number): Uint8Array | null {
    if (now - this.lastAck >= this.options.giveUpMs) {
      this.counters.abandoned++;
      this.reset();
      return null;
    }
    const w = this.window;
    // Never evict the WAKE (seq 0): the host needs it to make sense of the stream.
    if (
      w.used === w.capacity &&
      this.ring.written - this.cursor > this.options.evictBacklog &&
      w.oldest() > 0 &&
      !this.skipPending // the audio eviction would make room for is skipped anyway
    ) {
      w.evictOldest();
      this.counters.evicted++;
    }
    if (!this.endQueued && w.used < w.capacity) {
      const f = this.build();
      if (f) {
        this.lastProgress = now;
        return f;
      }
    }
    if (w.count && now - this.lastProgress >= this.options.rtoMs) {
      this.lastProgress = now;
      const last = this.window.get((this.seq - 1) & 0xffff);
      if (last) {
        this.counters.resent++;
        return last;
      }
    }
    return null;
  }

  /** Build the next AUDIO or END frame (pushed into the window), or null if none is ready. */
  private build(): Uint8Array | null {
    if (this.skipPending) {
      // Frames are pushed with consecutive seqs: the gap opens once what came before is acknowledged.
      if (this.window.used) return null;
      this.skipLost();
    }
    const chunk = this.payload - HEADER_BYTES;
    const limit = this.endAt >= 0 ? this.endAt : this.ring.written;
    let n = limit - this.cursor;
    if (n > chunk) n = chunk;
    if (n <= 0 || (n < chunk && this.endAt < 0)) {
      if (this.endAt < 0) return null;
      // After a gap the host must see `capacity` frames past it (END last) to know the device no longer
      // holds it (PROTOCOL.md §6): empty AUDIO frames make up for missing audio.
      if (this.afterGap > 1) return this.audio(0);
      const end = encodeEnd(
        this.stream,
        this.seq,
        this.endReason,
        this.lastAudioSeq,
        this.cursor - this.first,
      );
      this.window.push(this.seq, end);
      this.endQueued = true;
      this.seq = (this.seq + 1) & 0xffff;
      return end;
    }
    return this.audio(n);
  }

  /** The AUDIO frame of the next `n` samples (0: an empty one), or END if the ring lost them. */
  private audio(n: number): Uint8Array | null {
    const out = new Uint8Array(HEADER_BYTES + n);
    if (n > 0 && !this.ring.read(this.cursor, out, HEADER_BYTES, n)) {
      // The ring overwrote samples not yet sent: the link is too slow. Truncate, never silently.
      this.counters.overflows++;
      this.endAt = this.cursor;
      this.endReason = EndReason.ERROR;
      return this.build();
    }
    if (this.afterGap > 0) this.afterGap--;
    out[0] = FrameType.AUDIO;
    out[1] = this.stream;
    out[2] = this.seq & 0xff;
    out[3] = this.seq >> 8;
    this.cursor += n;
    this.lastAudioSeq = this.seq;
    this.window.push(this.seq, out);
    this.seq = (this.seq + 1) & 0xffff;
    return out;
  }

  /**
   * Open the gap resume() decided on: the samples from the cursor up to the newest audio the ring can
   * still deliver safely (two mic buffers short of `evictBacklog`, so that re-sends cannot make it
   * overrun again) are lost; their frames take sequence numbers (as full frames) and are never sent.
   * END.totalSamples still counts them, so the host can tell how much audio is missing.
   */
  private skipLost(): void {
    this.skipPending = false;
    const ring = this.ring;
    let from = ring.written - (2 * this.options.evictBacklog - ring.size);
    if (from > this.endAt) from = this.endAt;
    if (from <= this.cursor) return;
    const k = Math.ceil((from - this.cursor) / (this.payload - HEADER_BYTES));
    this.cursor = from;
    this.seq = (this.seq + k) & 0xffff;
    this.lastAudioSeq = (this.seq - 1) & 0xffff;
    this.afterGap = this.window.capacity;
  }

  private checkDone(): void {
    if (this.endQueued && this.window.count === 0) this.done();
  }

  /** Every frame of the stream, END included, was acknowledged: release the window's memory. */
  private done(): void {
    this.active = false;
    this.window.clear();
  }
}
