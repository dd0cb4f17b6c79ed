/**
 * Band-limited sample-rate conversion by a rational factor L/M (polyphase windowed sinc).
 *
 * Output sample n sits at input time t = n·M/L. Its value is Σ x[j]·h(t − j) where h is an ideal
 * low-pass (sinc) with cutoff at `rolloff` × the lower of the two Nyquist frequencies, shaped by a
 * Kaiser window (β = 7.86, about 80 dB stop-band attenuation) spanning ZERO_CROSSINGS lobes either
 * side. Because t − j only takes L distinct fractional values, the kernel is tabulated once per phase
 * (when L is reasonable) and each output is a dot product of 2K taps. Down-sampling widens the
 * kernel (cutoff below the output Nyquist) so energy above it is removed instead of aliased.
 *
 * The filter is centred (zero phase): the streaming Resampler holds back K input samples of
 * look-ahead and flush() pads with silence, so push(a) + push(b) + flush() equals resample(a ++ b).
 */

const ZERO_CROSSINGS = 24;
const ROLLOFF = 0.9;
const KAISER_BETA = 7.857;
/** Above this many phases the table is not built and coefficients are computed per output. */
const MAX_TABLE_PHASES = 2048;

export class ResampleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResampleError';
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function checkRate(name: string, hz: number): void {
  if (!Number.isInteger(hz) || hz <= 0 || hz > 1_000_000) {
    throw new ResampleError(`${name} must be a positive integer sample rate in Hz, got ${String(hz)}`);
  }
}

/** The filter design for one rate pair; shared by resample() and Resampler. */
class Kernel {
  readonly up: number;
  readonly down: number;
  /** Taps either side: window spans input offsets (-K, K]. */
  readonly half: number;
  private readonly fc: number;
  private readonly halfWidth: number;
  private readonly i0Beta: number;
  private readonly table: Float64Array[] | undefined;

  constructor(fromHz: number, toHz: number) {
    const g = gcd(fromHz, toHz);
    this.up = toHz / g;
    this.down = fromHz / g;
    // Cutoff as a fraction of the input Nyquist frequency.
    this.fc = Math.min(1, this.up / this.down) * ROLLOFF;
    this.halfWidth = ZERO_CROSSINGS / this.fc;
    this.half = Math.ceil(this.halfWidth);
    this.i0Beta = besselI0(KAISER_BETA);
    if (this.up <= MAX_TABLE_PHASES) {
      this.table = [];
      for (let p = 0; p < this.up; p++) this.table.push(this.phase(p));
    }
  }

  private h(d: number): number {
    const ad = Math.abs(d);
    if (ad >= this.halfWidth) return 0;
    const x = this.fc * d;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const r = ad / this.halfWidth;
    const w = besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / this.i0Beta;
    return this.fc * sinc * w;
  }

  /** Taps for phase p (fractional position p/up), applied to x[ip-K+1 .. ip+K]; unity DC gain. */
  private phase(p: number): Float64Array {
    const K = this.half;
    const taps = new Float64Array(2 * K);
    let sum = 0;
    for (let i = 0; i < 2 * K; i++) {
      const v = this.h(p / this.up + K - 1 - i);
      taps[i] = v;
      sum += v;
    }
    if (sum !== 0) for (let i = 0; i < 2 * K; i++) taps[i] = (taps[i] as number) / sum;
    return taps;
  }

  taps(p: number): Float64Array {
    return this.table ? (this.table[p] as Float64Array) : this.phase(p);
  }
}

/** Kernels are immutable: share them between resamplers of the same rate pair (bounded cache). */
const kernelCache = new Map<string, Kernel>();
const KERNEL_CACHE_SIZE = 16;

function kernelFor(fromHz: number, toHz: number): Kernel {
  const key = `${String(fromHz)}>${String(toHz)}`;
  let k = kernelCache.get(key);
  if (k) {
    kernelCache.delete(key);
  } else {
    k = new Kernel(fromHz, toHz);
    if (kernelCache.size >= KERNEL_CACHE_SIZE) kernelCache.delete(kernelCache.keys().next().value as string);
  }
  kernelCache.set(key, k); // most recently used last
  return k;
}

/**
 * Streaming resampler. Feed chunks of any size with push(); each call returns the output samples
 * that are fully determined so far (the filter needs K samples of look-ahead). flush() ends the
 * stream and returns the remainder; the total output length is ceil(inputLength · toHz / fromHz).
 */
export class Resampler {
  readonly fromHz: number;
  readonly toHz: number;
  private readonly kernel: Kernel | undefined;
  /** Input history: buf[0] is input sample number `bufStart`. */
  private buf: Float64Array;
  private bufLen = 0;
  private bufStart: number;
  private inputCount = 0;
  private outIndex = 0;
  private flushed = false;

  constructor(fromHz: number, toHz: number) {
    checkRate('fromHz', fromHz);
    checkRate('toHz', toHz);
    this.fromHz = fromHz;
    this.toHz = toHz;
    this.kernel = fromHz === toHz ? undefined : kernelFor(fromHz, toHz);
    const K = this.kernel ? this.kernel.half : 0;
    // Leading silence so the first outputs see zeros before sample 0.
    this.buf = new Float64Array(Math.max(1024, 4 * K));
    this.bufLen = K;
    this.bufStart = -K;
  }

  push(chunk: Int16Array): Int16Array {
    if (this.flushed) throw new ResampleError('Resampler.push() after flush()');
    if (!this.kernel) return chunk.slice();
    this.append(chunk);
    this.inputCount += chunk.length;
    return this.produce(false);
  }

  flush(): Int16Array {
    if (this.flushed) return new Int16Array(0);
    this.flushed = true;
    if (!this.kernel) return new Int16Array(0);
    this.append(new Int16Array(this.kernel.half + 1));
    return this.produce(true);
  }

  private append(chunk: Int16Array): void {
    const need = this.bufLen + chunk.length;
    if (need > this.buf.length) {
      const next = new Float64Array(Math.max(need, this.buf.length * 2));
      next.set(this.buf.subarray(0, this.bufLen));
      this.buf = next;
    }
    for (let i = 0; i < chunk.length; i++) this.buf[this.bufLen + i] = chunk[i] as number;
    this.bufLen += chunk.length;
  }

  private produce(final: boolean): Int16Array {
    const k = this.kernel as Kernel;
    const K = k.half;
    const L = k.up;
    const M = k.down;
    // Total outputs the whole stream will have (known only once flushed).
    const totalOut = final ? Math.ceil((this.inputCount * L) / M) : Infinity;
    // Highest input index (exclusive) really present (not the flush padding).
    const available = this.bufStart + this.bufLen;
    // Outputs n with floor(n·M/L) + K < available, capped by totalOut.
    const limit = Math.min(totalOut, Math.ceil(((available - K) * L) / M));
    const count = Math.max(0, limit - this.outIndex);
    const out = new Int16Array(count);
    const buf = this.buf;
    const bufStart = this.bufStart;
    let n = this.outIndex;
    for (let o = 0; o < count; o++, n++) {
      const pos = n * M;
      const ip = Math.floor(pos / L);
      const taps = k.taps(pos - ip * L);
      const base = ip - K + 1 - bufStart;
      const len = taps.length;
      let acc = 0;
      for (let i = 0; i < len; i++) acc += (taps[i] as number) * (buf[base + i] as number);
      out[o] = acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : Math.round(acc);
    }
    this.outIndex = n;
    // Drop history no future output needs: next output's first tap index.
    const nextIp = Math.floor((this.outIndex * M) / L);
    const keepFrom = nextIp - K + 1 - this.bufStart;
    if (keepFrom > 0 && keepFrom <= this.bufLen) {
      this.buf.copyWithin(0, keepFrom, this.bufLen);
      this.bufLen -= keepFrom;
      this.bufStart += keepFrom;
    }
    return out;
  }
}

/** One-shot band-limited resampling (same result as a Resampler fed everything then flushed). */
export function resample(input: Int16Array, fromHz: number, toHz: number): Int16Array {
  const r = new Resampler(fromHz, toHz);
  const a = r.push(input);
  const b = r.flush();
  const out = new Int16Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
