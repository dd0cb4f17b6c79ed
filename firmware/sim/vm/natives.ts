/**
 * Espruino's native helpers, with Espruino's semantics (not what a JS programmer might expect):
 * as the real interpreter computes them (docs/ESPRUINO-ENGINE.md). Pure functions over array-likes; the vm
 * context wraps them and charges their cost.
 */

/** What Espruino's native iterators accept: arrays, typed arrays, strings of numbers (not used). */
export interface NumArrayLike {
  length: number;
  [i: number]: number;
}

function isArrayLike(v: unknown): v is NumArrayLike {
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as { length?: unknown }).length === 'number' &&
    (ArrayBuffer.isView(v) || Array.isArray(v))
  );
}

function expectArray(fn: string, v: unknown): NumArrayLike {
  if (!isArrayLike(v)) throw new TypeError(`${fn}: expecting an array, got ${describe(v)}`);
  return v;
}

/** `Object.prototype.toString` tag: works across vm realms, unlike `instanceof`. */
export function tagOf(v: unknown): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

const ELEMENT_BITS: Record<string, number> = {
  Uint8Array: 8,
  Int8Array: 8,
  Uint8ClampedArray: 8,
  Uint16Array: 16,
  Int16Array: 16,
  Uint32Array: 32,
  Int32Array: 32,
  Float32Array: 32,
  Float64Array: 64,
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'Array';
  if (ArrayBuffer.isView(v)) return tagOf(v);
  return typeof v;
}

/** E.sum: the sum of all elements (non-numbers count as their numeric value). */
export function eSum(arr: unknown): number {
  const a = expectArray('E.sum', arr);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += +a[i]!;
  return s;
}

/** E.variance: the SUM of squared deviations from `mean` (Espruino does not divide by the length). */
export function eVariance(arr: unknown, mean: unknown): number {
  const a = expectArray('E.variance', arr);
  const m = +(mean as number);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = +a[i]! - m;
    s += d * d;
  }
  return s;
}

/** E.convolve: sum of a[i] * b[(i + offset) mod b.length]. */
export function eConvolve(a0: unknown, b0: unknown, offset: unknown): number {
  const a = expectArray('E.convolve', a0);
  const b = expectArray('E.convolve', b0);
  if (b.length === 0) return 0;
  let off = Math.floor(+(offset as number) || 0) % b.length;
  if (off < 0) off += b.length;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += +a[i]! * +b[(i + off) % b.length]!;
  return s;
}

/** Bits per element of the source array, as Espruino's array iterators see it. */
function elementBits(a: NumArrayLike): number {
  if (ArrayBuffer.isView(a)) return ELEMENT_BITS[tagOf(a)] ?? 8;
  return 32; // plain arrays: Espruino treats elements as 32-bit integers when splitting into bits
}

/**
 * E.mapInPlace(from, to, map, bits): to[j] = map[v] (array LUT, out-of-range -> undefined -> 0 when
 * stored) or map(v) (function: one JS call per element). With `bits`, each source element is split
 * into chunks of `bits` bits, most significant first, and each chunk is one output element.
 * `callJs` runs a JS function on the device (charged as JS cost by the caller).
 */
export function eMapInPlace(
  from0: unknown,
  to0: unknown,
  map: unknown,
  bits: unknown,
  callJs: (fn: (v: number) => unknown, v: number) => unknown,
): void {
  const from = expectArray('E.mapInPlace', from0);
  const to = expectArray('E.mapInPlace', to0);
  const isFn = typeof map === 'function';
  if (!isFn && !isArrayLike(map))
    throw new TypeError(`E.mapInPlace: expecting a function or array, got ${describe(map)}`);
  const lookup = (v: number): unknown =>
    isFn ? callJs(map as (v: number) => unknown, v) : (map as NumArrayLike)[v];
  const b = Math.floor(+(bits as number) || 0);
  let j = 0;
  const put = (v: unknown): void => {
    if (j < to.length) (to as unknown as unknown[])[j] = v === undefined ? 0 : v;
    j++;
  };
  if (b <= 0) {
    for (let i = 0; i < from.length && j < to.length; i++) put(lookup(+from[i]!));
    return;
  }
  const srcBits = elementBits(from);
  const mask = b >= 32 ? 0xffffffff : (1 << b) - 1;
  for (let i = 0; i < from.length && j < to.length; i++) {
    const v = +from[i]! >>> 0;
    for (let shift = srcBits - b; shift >= 0 && j < to.length; shift -= b) put(lookup((v >>> shift) & mask));
  }
}

let crcTable: Uint32Array | null = null;
/** E.CRC32: standard reflected CRC-32 (poly 0xEDB88320), over bytes of an array or a string's char codes. */
export function eCrc32(data: unknown): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  const byte = (v: number): void => {
    crc = crcTable![(crc ^ v) & 0xff]! ^ (crc >>> 8);
  };
  if (typeof data === 'string') for (let i = 0; i < data.length; i++) byte(data.charCodeAt(i) & 0xff);
  else if (tagOf(data) === 'ArrayBuffer') {
    const u = new Uint8Array(data as ArrayBuffer);
    for (let i = 0; i < u.length; i++) byte(u[i]!);
  } else if (ArrayBuffer.isView(data)) {
    const u = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < u.length; i++) byte(u[i]!);
  } else if (Array.isArray(data)) for (let i = 0; i < data.length; i++) byte(+data[i] & 0xff);
  else throw new TypeError(`E.CRC32: expecting a string or array, got ${describe(data)}`);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * E.FFT(re, im, inverse): radix-2 in place, zero-padded to the next power of two (at most 2048
 * points here, like the device's stack limit), the forward transform scaled by 1/N. Results are
 * written back into the first `re.length` elements (typed integer arrays truncate). With `im`
 * undefined, the magnitude sqrt(re^2 + im^2) is written into `re`.
 */
export function eFFT(re0: unknown, im0: unknown, inverse: unknown): void {
  const re = expectArray('E.FFT', re0);
  const hasIm = im0 !== undefined && im0 !== null;
  const im = hasIm ? expectArray('E.FFT', im0) : null;
  let n = 1;
  while (n < re.length) n <<= 1;
  if (n > 2048) throw new Error('E.FFT: too many points (stack would overflow)');
  const xr = new Float64Array(n);
  const xi = new Float64Array(n);
  for (let i = 0; i < re.length; i++) xr[i] = +re[i]!;
  if (im !== null) for (let i = 0; i < Math.min(im.length, n); i++) xi[i] = +im[i]!;
  fftInPlace(xr, xi, !!inverse);
  // Espruino computes in 32-bit floats on most boards: round through Float32 before storing.
  const f32 = new Float32Array(1);
  const r = (v: number): number => {
    f32[0] = v;
    return f32[0]!;
  };
  if (im === null) {
    for (let i = 0; i < re.length; i++)
      (re as NumArrayLike)[i] = r(Math.sqrt(xr[i]! * xr[i]! + xi[i]! * xi[i]!));
  } else {
    for (let i = 0; i < re.length; i++) (re as NumArrayLike)[i] = r(xr[i]!);
    for (let i = 0; i < im.length && i < n; i++) (im as NumArrayLike)[i] = r(xi[i]!);
  }
}

/** Iterative radix-2 FFT; forward uses e^{-i...} and divides by N (Espruino's convention). */
export function fftInPlace(xr: Float64Array, xi: Float64Array, inverse: boolean): void {
  const n = xr.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = xr[i]!;
      xr[i] = xr[j]!;
      xr[j] = t;
      t = xi[i]!;
      xi[i] = xi[j]!;
      xi[j] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const ar = xr[i + k]!;
        const ai = xi[i + k]!;
        const br = xr[i + k + len / 2]! * cr - xi[i + k + len / 2]! * ci;
        const bi = xr[i + k + len / 2]! * ci + xi[i + k + len / 2]! * cr;
        xr[i + k] = ar + br;
        xi[i + k] = ai + bi;
        xr[i + k + len / 2] = ar - br;
        xi[i + k + len / 2] = ai - bi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
  if (!inverse)
    for (let i = 0; i < n; i++) {
      xr[i] = xr[i]! / n;
      xi[i] = xi[i]! / n;
    }
}

/**
 * E.toString(...args): bytes of typed arrays / arrays / numbers (one char each, & 0xff) and strings,
 * concatenated into one string.
 */
export function eToString(args: unknown[]): string {
  let s = '';
  const add = (v: unknown): void => {
    if (typeof v === 'string') s += v;
    else if (typeof v === 'number') s += String.fromCharCode(v & 0xff);
    else if (tagOf(v) === 'ArrayBuffer') add(new Uint8Array(v as ArrayBuffer));
    else if (ArrayBuffer.isView(v)) {
      const u = tagOf(v) === 'Uint8Array' ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : null;
      if (u !== null) {
        for (let i = 0; i < u.length; i += 4096)
          s += String.fromCharCode.apply(
            null,
            Array.prototype.slice.call(u.subarray(i, i + 4096)) as number[],
          );
      } else {
        const a = v as unknown as NumArrayLike;
        for (let i = 0; i < a.length; i++) s += String.fromCharCode(+a[i]! & 0xff);
      }
    } else if (Array.isArray(v)) for (const x of v) add(x);
    else if (v !== null && typeof v === 'object' && 'data' in v) {
      const o = v as { data: unknown; count?: number };
      const n = typeof o.count === 'number' ? o.count : 1;
      for (let i = 0; i < n; i++) add(o.data);
    }
  };
  for (const a of args) add(a);
  return s;
}

/** Bytes of a value Espruino accepts as BLE/Storage data: string, array, typed array, ArrayBuffer. */
export function toBytes(v: unknown, what: string): Uint8Array {
  if (typeof v === 'string') {
    const out = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = v.charCodeAt(i) & 0xff;
    return out;
  }
  if (tagOf(v) === 'ArrayBuffer') return new Uint8Array(new Uint8Array(v as ArrayBuffer));
  if (ArrayBuffer.isView(v)) {
    const t = tagOf(v);
    if (t === 'Uint8Array' || t === 'Int8Array' || t === 'Uint8ClampedArray' || t === 'DataView')
      return new Uint8Array(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    const a = v as unknown as NumArrayLike;
    const out = new Uint8Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = +a[i]! & 0xff;
    return out;
  }
  if (Array.isArray(v)) {
    const out = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = +v[i] & 0xff;
    return out;
  }
  if (typeof v === 'number') return new Uint8Array([v & 0xff]);
  throw new TypeError(`${what}: expecting a string, array or ArrayBuffer, got ${describe(v)}`);
}

/**
 * Espruino's rand() and srand() (src/jsutils.c: two multiply-with-carry generators in 32-bit unsigned
 * arithmetic, 31-bit results). Math.random() is rand() / 2^31; E.srand(seed) reseeds. The real
 * interpreter's engine calls srand(seed) once per power-on (the process start), so reset()/load()
 * continue the sequence.
 */
export class EspruinoRandom {
  private w = 0xdeadbeef;
  private z = 0xcafebabe;

  constructor(seed?: number) {
    if (seed !== undefined) this.srand(seed);
  }

  /** srand(seed): `seed` as a C unsigned int. */
  srand(seed: number): void {
    const s = seed >>> 0;
    this.w = ((s & 0xffff) | (s << 16)) >>> 0;
    this.z = ((s & 0xffff0000) | (s >>> 16)) >>> 0;
  }

  /** rand(): 0 .. RAND_MAX (0x7FFFFFFF). */
  rand(): number {
    this.z = (36969 * (this.z & 65535) + (this.z >>> 16)) >>> 0;
    this.w = (18000 * (this.w & 65535) + (this.w >>> 16)) >>> 0;
    return ((this.z << 16) + this.w) & 0x7fffffff;
  }

  /** Math.random(): rand() / (RAND_MAX + 1). */
  random(): number {
    return this.rand() / 2147483648;
  }
}
