/**
 * The vm engine's microphone: the audio queued for the ADC (each chunk at its own rate, resampled to
 * the ADC's), the actions due at a given sample (sample-timed button presses), and the history of every
 * sample the ADC took (micSamples()).
 */
import type { MicSource } from './device';
import { heardByMic } from '../core/mic-input';

/** Mic samples kept for micSamples(): 4 M (~8 min at 8 kHz). */
const HISTORY_LIMIT = 4 << 20;

/** The microphone: queued audio, each chunk at its own rate; silence (128) when empty. */
export class MicQueue implements MicSource {
  private chunks: { data: Uint8Array | Int16Array; rate: number; resampled: Map<number, Uint8Array> }[] = [];
  private pos = 0;
  consumed = 0;
  /** Samples the ADC has taken (fed or silent). */
  taken = 0;
  /** Actions due just before the ADC takes sample `at` (0-based), with the rate and that sample's time. */
  private due: { at: number; fn: (rate: number, t: number) => void }[] = [];
  /** Every sample the ADC took, up to HISTORY_LIMIT (for tests checking bit-exact uplink audio). */
  history: Uint8Array = new Uint8Array(1 << 16);
  historyLength = 0;

  private record(v: number): number {
    if (this.historyLength < HISTORY_LIMIT) {
      if (this.historyLength === this.history.length) {
        const h = new Uint8Array(this.history.length * 2);
        h.set(this.history);
        this.history = h;
      }
      this.history[this.historyLength++] = v;
    }
    return v;
  }

  /** Queue audio (16-bit signed, or 8-bit unsigned as the ADC gives it) at its own rate. */
  push(data: Uint8Array | Int16Array, rate: number): void {
    if (data.length > 0) this.chunks.push({ data, rate, resampled: new Map() });
  }

  clear(): void {
    this.chunks = [];
    this.pos = 0;
  }

  /** Samples still queued, at `rate`. */
  pending(rate: number): number {
    let n = 0;
    for (let i = 0; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      const len = c.rate === rate ? c.data.length : Math.floor((c.data.length * rate) / c.rate);
      n += i === 0 ? len - this.pos : len;
    }
    return Math.max(0, n);
  }

  /** Run `fn` just before the ADC takes sample number `at` (0-based: micSamples() index). */
  atSample(at: number, fn: (rate: number, t: number) => void): void {
    this.due.push({ at, fn });
  }

  next(rate: number, t: number): number {
    if (this.due.length) {
      const now = this.due.filter((d) => d.at <= this.taken);
      this.due = this.due.filter((d) => d.at > this.taken);
      for (const d of now) d.fn(rate, t);
    }
    this.taken++;
    for (;;) {
      const c = this.chunks[0];
      if (!c) return this.record(128);
      let d = c.resampled.get(rate);
      if (!d) c.resampled.set(rate, (d = heardByMic(c.data, c.rate, rate)));
      if (this.pos < d.length) {
        this.consumed++;
        return this.record(d[this.pos++]!);
      }
      this.chunks.shift();
      this.pos = 0;
    }
  }
}
