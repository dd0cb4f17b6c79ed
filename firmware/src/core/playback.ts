/**
 * Reply playback: PLAY frames into a byte FIFO that feeds the double-buffered Waveform output, with
 * CREDIT flow control so the host never overruns the FIFO.
 *
 * - A new stream id starts a new reply (expected seq 0); frames of a stream cancelled by barge-in are
 *   dropped. A duplicate (seq before the expected one) is ignored; a gap drops the frame and sends a
 *   NACK for the missing run (go-back-N: the host re-sends from `cumulative`), and again on every 2nd
 *   frame past the same hole: a re-send lost as well is asked for again (the host's credit probe keeps
 *   frames coming), and a burst past the hole costs at most one NACK per two frames.
 * - CREDIT.upTo = expected seq + whole frames that fit in the free space; sent after WELCOME, on a new
 *   stream, whenever a quarter of the FIFO has been freed since the last CREDIT, and at the end.
 * - playedSamples counts samples of output buffers that finished playing (not merely queued).
 * - Barge-in (cancel): speaker stopped, FIFO dropped, a CREDIT reports playedSamples.
 * - Output starts once the FIFO is half full or PLAY_END arrived (jitter pre-buffer) and stops when the
 *   stream is complete and both output buffers have played.
 */
import { FrameType, PlayEndReason, seqAdd, seqDiff } from '@budlink/protocol';
import type { PlayEndFrame } from '@budlink/protocol';
import type { Hal } from '../hal/types';
import { ByteFifo } from './ring';
import { frame, put } from './wire';

export interface PlaybackPorts {
  /** Queue an encoded control frame (CREDIT, NACK); the caller stamps its bytes 2..3 (message seq). */
  sendRaw: (bytes: Uint8Array) => void;
  /** Start the speaker output (it will call fill()). Returns an error reason or null. */
  startOutput: () => string | null;
  stopOutput: () => void;
}

export class Playback {
  /** Current playback stream id, -1 before the first. */
  stream = -1;
  /** Next PLAY seq expected. */
  expected = 0;
  /** Samples of the current stream played so far. */
  played = 0;
  playing = false;
  /** Output buffers with no stream data (underruns while playing). */
  underruns = 0;
  /** Whole-frame payload size (negotiated). */
  payload: number;
  readonly fifo: ByteFifo;
  private ports: PlaybackPorts;
  private dsp: Pick<Hal, 'mapInPlace'>;
  private lut: Uint8Array | null = null;
  private cancelled = -1;
  private ended = false;
  private endExpected = 0;
  private lastNack = -1;
  /** Frames seen past the hole at `lastNack`. */
  private pastHole = 0;
  /** Bytes freed by playback since the last CREDIT. */
  private freed = 0;
  private inFlight = [0, 0];
  private toggle = 0;
  /** startOutput() is filling the first buffers: their CREDIT waits until it has returned. */
  private priming = false;

  constructor(fifoBytes: number, payload: number, dsp: Pick<Hal, 'mapInPlace'>, ports: PlaybackPorts) {
    this.fifo = new ByteFifo(fifoBytes);
    this.payload = payload;
    this.dsp = dsp;
    this.ports = ports;
  }

  /** Volume 0..255 (255 = unchanged), applied with a native LUT map as frames arrive. */
  setVolume(volume: number): void {
    if (volume >= 255) {
      this.lut = null;
      return;
    }
    const lut = this.lut || new Uint8Array(256);
    for (let i = 0; i < 256; i++) lut[i] = 128 + Math.round(((i - 128) * volume) / 255);
    this.lut = lut;
  }

  /** True while a stream is receiving or playing. */
  busy(): boolean {
    return (
      this.playing ||
      (this.stream >= 0 && this.stream !== this.cancelled && !this.ended && this.fifo.length > 0)
    );
  }

  /** A PLAY frame (`s`: its samples, a view the caller owns). Returns a refusal reason or null. */
  onPlay(stream: number, seq: number, s: Uint8Array): string | null {
    const fifo = this.fifo;
    // Common case first: the next frame of the current stream, and it fits.
    if (
      seq === this.expected &&
      stream === this.stream &&
      !this.ended &&
      s.length <= fifo.size - fifo.length
    ) {
      if (this.lut) this.dsp.mapInPlace(s, s, this.lut);
      fifo.push(s);
      this.expected = (this.expected + 1) & 0xffff;
      return this.playing || fifo.length * 2 < fifo.size ? null : this.startOutput();
    }
    return this.onPlaySlow(stream, seq, s);
  }

  private onPlaySlow(stream: number, seq: number, s: Uint8Array): string | null {
    if (stream === this.cancelled) return null;
    if (stream !== this.stream) this.begin(stream);
    const d = seqDiff(seq, this.expected);
    if (d < 0 || this.ended) {
      // A duplicate. A repeat of the last frame accepted is the host asking for credit: its CREDIT
      // may have been lost, and before the speaker starts nothing else would repeat it (§7).
      if (d === -1) this.sendCredit();
      return null;
    }
    if (d > 0) {
      if (this.lastNack !== this.expected) {
        this.lastNack = this.expected;
        this.pastHole = 0;
      }
      if ((this.pastHole++ & 1) === 0) this.nack(d);
      return null;
    }
    if (s.length > this.fifo.free())
      return 'playback buffer full: ' + s.length + ' > ' + this.fifo.free() + ' free';
    if (this.lut) this.dsp.mapInPlace(s, s, this.lut);
    this.fifo.push(s);
    this.expected = seqAdd(this.expected, 1);
    if (!this.playing && this.fifo.length * 2 >= this.fifo.size) return this.startOutput();
    return null;
  }

  /** Handle PLAY_END from the host. Returns an error message or null. */
  onPlayEnd(f: PlayEndFrame): string | null {
    if (f.stream === this.cancelled) return null;
    if (f.stream !== this.stream) this.begin(f.stream);
    if (f.reason !== PlayEndReason.COMPLETE) {
      this.halt();
      this.sendCredit();
      return null;
    }
    this.ended = true;
    this.endExpected = seqAdd(f.lastSeq, 1);
    if (this.fifo.length === 0 && seqDiff(this.expected, this.endExpected) >= 0 && !this.playing) {
      this.sendCredit();
      return null;
    }
    if (seqDiff(this.expected, this.endExpected) < 0) {
      // Frames missing at the end: ask again; PLAY frames are accepted until complete.
      this.ended = false;
      const d = seqDiff(this.endExpected, this.expected);
      this.nack(d);
      return null;
    }
    return this.playing ? null : this.startOutput();
  }

  /** Speaker callback: refill `buf`, which just finished playing. */
  fill(buf: Uint8Array): void {
    this.played += this.inFlight[this.toggle] as number;
    const n = this.fifo.pop(buf);
    if (n < buf.length) buf.fill(128, n);
    this.inFlight[this.toggle] = n;
    this.toggle ^= 1;
    if (n === 0 && !this.ended) {
      // Starving: the host may be waiting on a CREDIT that was lost (nothing else would re-send it:
      // an empty FIFO frees nothing). Say it again on the first empty buffer and every 4th after.
      if ((this.underruns++ & 3) === 0) this.sendCredit();
    }
    if (this.ended && this.fifo.length === 0 && this.inFlight[0] === 0 && this.inFlight[1] === 0) {
      this.halt();
      this.sendCredit();
      return;
    }
    this.freed += n;
    if (this.freed * 4 >= this.fifo.size && !this.priming) this.sendCredit();
  }

  /**
   * Barge-in: stop at once and report what was heard in a CREDIT (playedSamples); the host answers
   * with PLAY_END CANCELLED, and later frames of this stream are dropped (docs/PROTOCOL.md §7).
   */
  cancel(): void {
    if (this.stream < 0 || this.stream === this.cancelled) return;
    this.cancelled = this.stream;
    this.ended = true;
    this.halt();
    this.sendCredit();
  }

  /** Current CREDIT for the stream (stream 0 before any). */
  /** NACK the `missing` frames from the expected seq on (one gap, at most 255). */
  private nack(missing: number): void {
    const b = frame(10, FrameType.NACK, this.stream, 0);
    put(b, 4, this.expected, 2);
    b[6] = 1;
    put(b, 7, this.expected, 2);
    b[9] = missing > 255 ? 255 : missing;
    this.ports.sendRaw(b);
  }

  sendCredit(): void {
    this.freed = 0;
    const free = this.fifo.free();
    const up = (this.expected + Math.floor(free / (this.payload - 4))) & 0xffff;
    const played = this.played;
    const b = frame(12, FrameType.CREDIT, this.stream < 0 ? 0 : this.stream, 0);
    put(b, 4, up, 2);
    put(b, 6, free > 0xffff ? 0xffff : free, 2);
    put(b, 8, played, 4);
    this.ports.sendRaw(b);
  }

  /** Drop everything (disconnect). */
  reset(): void {
    this.halt();
    this.stream = -1;
    this.cancelled = -1;
    this.expected = 0;
    this.played = 0;
  }

  private begin(stream: number): void {
    this.halt();
    this.stream = stream;
    this.expected = 0;
    this.played = 0;
    this.ended = false;
    this.lastNack = -1;
    this.sendCredit();
  }

  private startOutput(): string | null {
    this.inFlight[0] = 0;
    this.inFlight[1] = 0;
    this.toggle = 0;
    this.playing = true;
    // The speaker fills its first buffers from inside the PLAY write's handler, the deepest call stack
    // the firmware has: the CREDIT they earn is built after it has unwound (measured: with 90% of
    // Puck.js's JsVars, building it there ran out of memory on the first reply).
    this.priming = true;
    const err = this.ports.startOutput();
    this.priming = false;
    if (err) this.playing = false;
    else if (this.freed * 4 >= this.fifo.size) this.sendCredit();
    return err;
  }

  private halt(): void {
    if (this.playing) this.ports.stopOutput();
    this.playing = false;
    this.fifo.clear();
  }
}
