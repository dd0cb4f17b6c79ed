/**
 * Energy voice-activity detector with an adaptive noise floor. Per buffer it costs two native calls
 * (E.sum, E.variance) and a handful of statements: no per-sample JavaScript.
 *
 * energy = E.variance(buf, mean) / n  (mean square of the AC part; 8-bit samples, so 0..16384)
 * speech = energy > floor × threshold/16  and  energy > minEnergy
 * The floor follows quiet buffers quickly (1/8 per buffer), falls at once to a quieter buffer, and creeps
 * up slowly (1/64 per buffer) even during "speech" so a step in background noise cannot hold the
 * gate open forever.
 */
import type { Hal } from '../hal/types';

export interface VadOptions {
  /** Energy ratio over the floor, in 1/16 units (48 = 3.0×, about +4.8 dB). 1..255. */
  threshold: number;
  /** Absolute energy below which nothing is speech (8-bit units squared). */
  minEnergy: number;
  /** Starting floor. */
  initialFloor: number;
}

export const VAD_DEFAULTS: VadOptions = { threshold: 48, minEnergy: 4, initialFloor: 4 };

export class Vad {
  floor: number;
  /** Energy of the last buffer. */
  energy = 0;
  /** Speech decision of the last buffer. */
  speech = false;
  threshold: number;
  /**
   * Extra factor on the threshold (1 normally). While the earbud's own speaker plays, the app raises it
   * (ECHO_BIAS) so the reply leaking into the mic does not read as the user barging in.
   */
  bias = 1;
  private minEnergy: number;
  private dsp: Pick<Hal, 'sum' | 'variance'>;

  constructor(dsp: Pick<Hal, 'sum' | 'variance'>, options: VadOptions) {
    this.dsp = dsp;
    this.threshold = options.threshold;
    this.minEnergy = options.minEnergy;
    this.floor = options.initialFloor > options.minEnergy ? options.initialFloor : options.minEnergy;
  }

  /** Classify one buffer of `n` samples (its length, passed); updates the floor. */
  process(buf: Uint8Array, n: number): boolean {
    if (n === 0) return this.speech;
    const d = this.dsp;
    const e = d.variance(buf, d.sum(buf) / n) / n;
    this.energy = e;
    const f = this.floor;
    const min = this.minEnergy;
    const speech = e > min && e * 16 > f * this.threshold * this.bias;
    this.floor = e < f ? (e < min ? min : e) : f + (e - f) / (speech ? 64 : 8);
    this.speech = speech;
    return speech;
  }
}
