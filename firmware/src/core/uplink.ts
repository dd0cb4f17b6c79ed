/**
 * The utterance sender: WAKE (seq 0) → AUDIO (1, …) → END on one stream, read from the sample ring
 * (which holds the pre-roll and any backlog). Every frame stays in the FrameWindow until ACKed; a
 * NACKed frame is rebuilt and sent again: AUDIO from the ring, WAKE and END from the state kept here.
 * Pull-based: the pacer calls `next()` for each notification it may send.
 *
 * Priority in next(): WAKE, NACKed frames, then new frames (if the window has room), then — when
 * everything is sent but nothing acknowledged for rtoMs — the newest held frame again (so a lost END or
 * tail frame makes the host NACK what it lacks). A stream with no ACK at all for giveUpMs is abandoned.
 *
 * Ring and window: frames hold no bytes, so the ring must still have a held frame's samples when the
 * host asks for them. While capturing, when the oldest held frame's samples are about to be overwritten
 * (within `evictBacklog` of the newest sample) it is dropped from the window (counted as evicted; the
 * host then reports that frame lost, PROTOCOL.md §6); if the ring overruns samples not yet sent, the
 * utterance ends there with END reason ERROR. Never silently. Once capture has ended, `keep()` tells
 * the ring which samples to protect: it skips mic buffers rather than overwrite them until the host
 * has acknowledged them (the next utterance's pre-roll then starts after the skipped audio).
 */
import { Codec, EndReason, FrameType } from '@budlink/protocol';
import type { EndReasonCode, SeqGap } from '@budlink/protocol';
import type { WakeHit } from './gate';
import type { SampleRing } from './ring';
import type { Hal } from '../hal/types';

/** What the uplink sends with: notify() for single frames, notifier() for its batches. */
export type Notifier = Pick<Hal, 'notify' | 'notifier'>;
import { END_SLOT, FrameWindow, HELD, WAKE_SLOT } from './window';
import { frame, put } from './wire';

export interface UplinkOptions {
  rtoMs: number;
  giveUpMs: number;
  /**
   * How far behind the newest sample a frame's samples may be before the ring is about to overwrite
   * them: about two mic buffers below the ring size (a mic buffer lands in the ring in one piece).
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
  /** Unacknowledged frames dropped because the ring was about to overwrite them (lost for good). */
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
  /** Absolute end of the utterance, -1 while capturing (read by the App's mic path: keep()). */
  endAt = -1;
  private endReason: EndReasonCode = EndReason.SILENCE;
  private endQueued = false;
  private lastAudioSeq = 0;
  /** WAKE fields: trigger, score, preRollMs, wakeStart, wakeEnd; wakeDue until it was first sent. */
  private wake = [0, 0, 0, 0, 0];
  private wakeDue = false;
  private lastProgress = 0;
  private lastAck = 0;
  /** The AUDIO frame of the batches, reused (notify copies it), a 16-bit view of its seq, its notifier. */
  private out = new Uint8Array(0);
  /** Audio samples in `out` (its length is dearer to read on Espruino). */
  private outN = -1;
  /** `out.set` and `ring.buf.subarray`, bound (newOut). */
  private copy: ((src: Uint8Array, at: number) => void) | null = null;
  private view: ((from: number, to: number) => Uint8Array) | null = null;
  private outSeq = new Uint16Array(0);
  private send: ((arg: unknown) => void) | null = null;
  private sendArg: unknown = null;
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
    this.first = this.cursor = from;
    this.endAt = -1;
    this.endQueued = this.skipPending = false;
    this.afterGap = 0;
    this.window.reset();
    this.active = this.wakeDue = true;
    this.lastProgress = this.lastAck = now;
    this.lastAudioSeq = 0;
    const w = this.wake;
    w[0] = hit.trigger;
    w[1] = hit.score;
    w[2] = (((trigger - from) * 1000) / this.rate) | 0;
    w[3] = trigger - from;
    w[4] = hit.endSample - from;
    this.window.push(0, WAKE_SLOT, 0, 0);
    this.seq = 1;
    return true;
  }

  /** Capture ended at absolute sample `endSample`; END follows the remaining audio. */
  finish(reason: EndReasonCode, endSample: number): void {
    if (!this.active || this.endAt >= 0) return;
    this.endAt = endSample < this.cursor ? this.cursor : endSample;
    this.endReason = reason;
  }

  /**
   * An ACK (nack false) or NACK from the host for `stream` (`gaps` empty for a plain ACK, the common
   * case: no allocation). Frames of another stream are ignored.
   */
  onAck(stream: number, cumulative: number, gaps: SeqGap[], nack: boolean, now: number): void {
    if (!this.active || stream !== this.stream) return;
    this.lastAck = now;
    const w = this.window;
    const held = w.count;
    const pending = w.resends;
    w.ack(cumulative, gaps, nack);
    // Only progress restarts the re-send timer: a host repeating the same ACK (it does every 150 ms
    // while waiting) must not keep a lost tail from being re-sent, e.g. after a reconnect.
    if (w.count !== held || w.resends !== pending) this.lastProgress = now;
    if (this.endQueued && w.count === 0) this.reset();
  }

  /** Drop the stream (done or given up). */
  reset(): void {
    this.active = this.wakeDue = this.skipPending = false;
    this.window.reset();
  }

  /**
   * The link went down: the stream is kept (capture goes on into the ring, the window keeps its
   * frames); re-sends asked for on the old link are forgotten: the host NACKs again after resume.
   */
  suspend(): void {
    const w = this.window;
    while (w.takeResend() >= 0);
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
    this.lastAck = this.lastProgress = now;
    this.suspend();
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
   * Send up to `tokens` frames of the utterance; returns the tokens left (-1: a notify call failed).
   * Full AUDIO frames straight from the ring go out in a batch (burst()); WAKE, re-sends, partial
   * frames, END and evictions take the general path (pumpAll) one frame at a time.
   *
   * This runs on every pacer tick while streaming: on the real interpreter every statement costs
   * ~5–8k x86 instructions and a function's text is read again each time it runs, so the common case
   * (a batch, or nothing due yet) is decided here in a few statements and everything else is left to
   * pumpAll(). Its eviction test is a conservative one (the held frames span at most `used` frames of
   * samples before the cursor); when it fails, pumpAll() decides exactly.
   */
  pump(now: number, tokens: number, hal: Notifier): number {
    const win = this.window;
    if (this.active && !this.wakeDue && !win.resends && this.endAt < 0) {
      const n = this.payload - 4;
      const c = this.cursor;
      const size = this.ring.size;
      const w = this.ring.written;
      const end = c - (c % size) + size; // batches stop at the ring's end
      let k = (((w < end ? w : end) - c) / n) | 0;
      if (k > win.capacity - win.used) k = win.capacity - win.used;
      if (k > tokens) k = tokens | 0;
      if (k > 0 && w - c + win.used * n <= this.options.evictBacklog) {
        tokens -= k;
        if (!this.burst(k, now, hal)) return -1;
        // Nothing more due: less than a frame buffered and the window open (progress was just made).
        if (tokens < 1 || (w - this.cursor < n && win.used < win.capacity)) return tokens;
      } else if (
        k <= 0 &&
        (tokens < 1 || (w - c < n && win.used < win.capacity && now - this.lastProgress < this.options.rtoMs))
      )
        return tokens;
    }
    return this.pumpAll(now, tokens, hal);
  }

  /** pump()'s general case: one decision per frame. */
  private pumpAll(now: number, tokens: number, hal: Notifier): number {
    const ring = this.ring;
    const win = this.window;
    const n = this.payload - 4;
    while (tokens >= 1 && this.active) {
      const w = ring.written;
      const c = this.cursor;
      if (!this.wakeDue && !win.resends && this.endAt < 0) {
        const k = this.fastCount(tokens, w, c, n);
        if (k > 0) {
          tokens -= k;
          if (!this.burst(k, now, hal)) return -1;
          continue;
        }
        // Nothing due yet: less than a frame buffered, window open, no re-send timer expired.
        if (w - c < n && win.used < win.capacity && now - this.lastProgress < this.options.rtoMs) break;
      }
      const f = this.wakeDue || win.resends ? this.again(now) : this.slow(now);
      if (!f) break;
      tokens--;
      if (!hal.notify(f)) return -1;
    }
    return tokens;
  }

  /**
   * How many whole AUDIO frames (at most `tokens`) can go out now without the general path: in the
   * ring and not wrapping in it, room in the window, and the oldest held frame (the first of the batch
   * if none is) not about to be overwritten (else only one: slow() evicts first).
   */
  private fastCount(tokens: number, w: number, c: number, n: number): number {
    const win = this.window;
    const size = this.ring.size;
    const at = c % size;
    let k = Math.floor((w - c) / n);
    const wrap = Math.floor((size - at) / n);
    if (wrap < k) k = wrap;
    if (win.capacity - win.used < k) k = win.capacity - win.used;
    if (tokens < k) k = Math.floor(tokens);
    if (k <= 0) return 0;
    let o = win.head;
    if (win.flag[o]! & WAKE_SLOT && win.used > 1) o = o + 1 === win.capacity ? 0 : o + 1;
    const oldest = win.count && win.len[o] ? c - ((c - win.from[o]!) >>> 0) : c;
    if (w - oldest <= this.options.evictBacklog) return k;
    return win.count ? 0 : 1;
  }

  /**
   * `k` full AUDIO frames from the cursor, built in one reused buffer and notified through the HAL's
   * notifier (one native call per frame): the loop is kept to a few statements, since its text is read
   * again on every pass (measured on the real interpreter: ~130k x86 instructions per frame, of which
   * the copy ~55k, the three window stores ~25k, the loop itself ~26k). The sequence number goes in
   * through a 16-bit view of the header. False if a
   * notify failed (that frame stays held for re-send, the ones after it are not taken).
   */
  private burst(k: number, now: number, hal: Notifier): boolean {
    const win = this.window;
    const n = this.payload - 4;
    if (this.outN !== n) this.newOut(n, hal);
    const out = this.out;
    const copy = this.copy as (src: Uint8Array, at: number) => void;
    const view = this.view as (from: number, to: number) => Uint8Array;
    const sq = this.outSeq;
    const send = this.send as (arg: unknown) => void;
    const arg = this.sendArg;
    const cap = win.capacity;
    const flag = win.flag;
    const from = win.from;
    const len = win.len;
    out[1] = this.stream;
    let c = this.cursor;
    let at = c % this.ring.size;
    let s = this.seq;
    let j = win.head + win.used;
    if (j >= cap) j -= cap;
    if (!win.used) win.first = s;
    win.used += k;
    win.count += k;
    this.lastProgress = now;
    let ok = true;
    try {
      for (;;) {
        copy(view(at, at + n), 4);
        sq[0] = s;
        flag[j] = HELD;
        from[j] = c;
        len[j] = n;
        c += n;
        s++;
        send(arg);
        if (!--k) break;
        at += n;
        if (++j === cap) j = 0;
      }
    } catch {
      // this frame stays held (re-sent on timeout); the ones after it were never sent: give them back
      win.used -= k - 1;
      win.count -= k - 1;
      ok = false;
    }
    this.cursor = c;
    this.seq = s & 0xffff;
    this.lastAudioSeq = (s - 1) & 0xffff;
    return ok;
  }

  /** The batch frame for `n`-sample payloads: its type set once, a view of its seq, its notifier. */
  private newOut(n: number, hal: Notifier): void {
    const out = new Uint8Array(n + 4);
    out[0] = FrameType.AUDIO;
    this.out = out;
    this.outN = n;
    this.outSeq = new Uint16Array(out.buffer, 2, 1);
    // out.set and ring.buf.subarray bound once: a built-in method looked up on a typed array costs
    // ~10k x86 instructions on Espruino, twice per frame
    this.copy = out.set.bind(out);
    const buf = this.ring.buf;
    this.view = buf.subarray.bind(buf);
    const f = hal.notifier(out);
    this.send = f[0];
    this.sendArg = f[1];
  }

  /**
   * Once capture has ended, the first sample the held frames still need (the ring must not overwrite
   * it: a NACK can come seconds later), else -1 (while capturing, the ring keeps writing and the
   * oldest held frame is evicted instead when the ring is about to overwrite it).
   */
  keep(): number {
    if (!this.active || this.endAt < 0) return -1;
    const o = this.oldestSample();
    return o >= this.ring.oldest() ? o : -1; // already overwritten (a long disconnect): nothing to keep
  }

  /** The first sample a held AUDIO frame still needs from the ring (the cursor when none). */
  private oldestSample(): number {
    const w = this.window;
    for (let i = 0; i < w.used; i++) {
      const k = (w.head + i) % w.capacity;
      if (w.flag[k]! & 1 && w.len[k]) return this.cursor - ((this.cursor - w.from[k]!) >>> 0);
    }
    return this.cursor;
  }

  /** WAKE first, then NACKed frames, rebuilt. */
  private again(now: number): Uint8Array | null {
    if (this.wakeDue) {
      this.wakeDue = false;
      return this.rebuild(0);
    }
    for (;;) {
      const s = this.window.takeResend();
      if (s < 0) return this.slow(now);
      const f = this.rebuild(s);
      if (f) {
        this.counters.resent++;
        return f;
      }
    }
  }

  /**
   * Frame `seq` again from what the window and this sender kept, or null if it is no longer held or
   * its samples are gone from the ring (then it is dropped: evicted).
   */
  private rebuild(seq: number): Uint8Array | null {
    const w = this.window;
    const k = w.slot(seq);
    if (k < 0) return null;
    const kind = w.flag[k]!;
    if (kind & WAKE_SLOT) {
      const v = this.wake;
      const b = frame(19, FrameType.WAKE, this.stream, seq);
      b[4] = v[0]!;
      b[5] = v[1]!;
      b[6] = Codec.PCM_U8;
      put(b, 7, this.rate, 2);
      put(b, 9, v[2]!, 2);
      put(b, 11, v[3]!, 4);
      put(b, 15, v[4]!, 4);
      return b;
    }
    if (kind & END_SLOT) {
      const b = frame(11, FrameType.END, this.stream, seq);
      b[4] = this.endReason;
      put(b, 5, this.lastAudioSeq, 2);
      put(b, 7, this.cursor - this.first, 4);
      return b;
    }
    const n = w.len[k]!;
    const b = frame(4 + n, FrameType.AUDIO, this.stream, seq);
    if (n && this.ring.read(this.cursor - ((this.cursor - w.from[k]!) >>> 0), b, 4, n)) return b;
    if (!n) return b;
    w.drop(seq); // its samples are gone from the ring
    this.counters.evicted++;
    return null;
  }

  /** Everything but a full AUDIO frame: the tail, END, overflow, give-up, eviction and timeout re-send. */
  private slow(now: number): Uint8Array | null {
    if (now - this.lastAck >= this.options.giveUpMs) {
      this.counters.abandoned++;
      this.reset();
      return null;
    }
    const w = this.window;
    // The ring is about to overwrite the oldest held frame: drop it (never the WAKE: the host needs it
    // to make sense of the stream, and it is rebuilt from state).
    while (
      this.endAt < 0 &&
      w.count &&
      !(w.flag[w.head]! & WAKE_SLOT) &&
      this.ring.written - this.oldestSample() > this.options.evictBacklog &&
      w.drop(w.first)
    )
      this.counters.evicted++;
    if (!this.endQueued && w.used < w.capacity) {
      const f = this.build();
      if (f) {
        this.lastProgress = now;
        return f;
      }
    }
    if (w.count && now - this.lastProgress >= this.options.rtoMs) {
      // The newest frame still held, again (frames whose samples are gone are dropped on the way).
      this.lastProgress = now;
      for (let i = w.used - 1; i >= 0; i--) {
        const f = this.rebuild((w.first + i) & 0xffff);
        if (f) {
          this.counters.resent++;
          return f;
        }
      }
    }
    return null;
  }

  /** Build the next AUDIO or END frame (held in the window), or null if none is ready. */
  private build(): Uint8Array | null {
    if (this.skipPending) {
      // Frames are pushed with consecutive seqs: the gap opens once what came before is acknowledged.
      if (this.window.used) return null;
      this.skipLost();
    }
    const chunk = this.payload - 4;
    const limit = this.endAt >= 0 ? this.endAt : this.ring.written;
    let n = limit - this.cursor;
    if (n > chunk) n = chunk;
    if (n <= 0 || (n < chunk && this.endAt < 0)) {
      if (this.endAt < 0) return null;
      // After a gap the host must see `capacity` frames past it (END last) to know the device no longer
      // holds it (PROTOCOL.md §6): empty AUDIO frames make up for missing audio.
      if (this.afterGap > 1) n = 0;
      else {
        this.window.push(this.seq, END_SLOT, 0, 0);
        this.endQueued = true;
        this.seq = (this.seq + 1) & 0xffff;
        return this.rebuild((this.seq - 1) & 0xffff);
      }
    }
    if (n > 0 && this.cursor < this.ring.written - this.ring.size) {
      // The ring overwrote samples not yet sent: the link is too slow. Truncate, never silently.
      this.counters.overflows++;
      this.endAt = this.cursor;
      this.endReason = EndReason.ERROR;
      return this.build();
    }
    if (this.afterGap > 0) this.afterGap--;
    const s = this.seq;
    this.window.push(s, 0, this.cursor, n);
    this.cursor += n;
    this.lastAudioSeq = s;
    this.seq = (s + 1) & 0xffff;
    return this.rebuild(s);
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
    const k = Math.ceil((from - this.cursor) / (this.payload - 4));
    this.cursor = from;
    this.seq = (this.seq + k) & 0xffff;
    this.lastAudioSeq = (this.seq - 1) & 0xffff;
    this.afterGap = this.window.capacity;
  }
}
