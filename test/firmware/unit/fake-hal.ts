/**
 * A fake HAL for the firmware core in Node: virtual clock with explicit advance(), JS versions of the
 * native helpers with Espruino's semantics (variance = SUM of squared deviations), recorded BLE
 * notifications, in-memory storage, LEDs and a button.
 */
import { decodeFrame, encodeFrame } from '@budlink/protocol';
import type { Frame } from '@budlink/protocol';
import { BOARDS } from '../../../firmware/boards/index';
import type { BoardProfile } from '../../../firmware/boards/index';
import type { Hal, MicStart, SpeakerStart, BleHandlers } from '../../../firmware/src/hal/types';

/** Puck.js with 256-sample mic buffers (64 ms at 4 kHz): ring 4,096 samples, window 16 frames. */
export const puck: BoardProfile = { ...(BOARDS.puckjs as BoardProfile), bufferSamples: 256 };

/** Encode a host frame (test frames are built loosely and checked by the encoder). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export function enc(f: any): Uint8Array {
  const r = encodeFrame(f as Frame);
  if (!r.ok) throw new Error(r.error.message);
  return r.bytes;
}

/** Decode a frame the device sent. */
export function dec(bytes: Uint8Array): Frame {
  const r = decodeFrame(bytes);
  if (!r.ok) throw new Error('device sent an undecodable frame: ' + r.error.message);
  return r.frame;
}

interface Timer {
  id: number;
  at: number;
  every: number; // 0 = one-shot
  fn: () => void;
}

export class FakeHal implements Hal {
  t = 0;
  private timers: Timer[] = [];
  private nextId = 1;
  mic: MicStart | null = null;
  micStarts = 0;
  speaker: SpeakerStart | null = null;
  speakerStarts = 0;
  ble_: BleHandlers | null = null;
  notified: Uint8Array[] = [];
  readValue: Uint8Array | null = null;
  advName = '';
  leds: boolean[];
  button: ((down: boolean, t: number) => void) | null = null;
  files: Record<string, string> = {};
  storeFails = false;
  kicks = 0;
  watchdog = 0;
  logs: string[] = [];
  free = 1000;
  micError: string | null = null;

  constructor(ledCount = 3) {
    this.leds = [];
    for (let i = 0; i < ledCount; i++) this.leds.push(false);
  }

  clock = {
    now: (): number => this.t,
    setTimeout: (fn: () => void, ms: number): number => this.add(fn, ms, 0),
    setInterval: (fn: () => void, ms: number): number => this.add(fn, ms, ms),
    clearTimeout: (id: number): void => this.remove(id),
    clearInterval: (id: number): void => this.remove(id),
  };

  dsp = {
    sum: (a: Uint8Array): number => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += a[i] as number;
      return s;
    },
    variance: (a: Uint8Array, mean: number): number => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += ((a[i] as number) - mean) ** 2;
      return s;
    },
    mapInPlace: (from: Uint8Array, to: Uint8Array, lut: Uint8Array): void => {
      for (let i = 0; i < from.length; i++) to[i] = lut[from[i] as number] as number;
    },
  };

  audio = {
    startMic: (o: MicStart): string | null => {
      if (this.micError) return this.micError;
      this.mic = o;
      this.micStarts++;
      return null;
    },
    stopMic: (): void => {
      this.mic = null;
    },
    startSpeaker: (o: SpeakerStart): string | null => {
      this.speaker = o;
      this.speakerStarts++;
      return null;
    },
    stopSpeaker: (): void => {
      this.speaker = null;
    },
  };

  ble = {
    start: (name: string, _maxPayload: number, h: BleHandlers): void => {
      this.advName = name;
      this.ble_ = h;
    },
    notify: (frame: Uint8Array): boolean => {
      this.notified.push(new Uint8Array(frame));
      return true;
    },
    setValue: (frame: Uint8Array): void => {
      this.readValue = new Uint8Array(frame);
    },
    setName: (name: string): void => {
      this.advName = name;
    },
  };

  io = {
    ledCount: 3,
    led: (i: number, on: boolean): void => {
      this.leds[i] = on;
    },
    onButton: (h: (down: boolean, t: number) => void): void => {
      this.button = h;
    },
  };

  store = {
    read: (name: string): unknown => {
      const s = this.files[name];
      if (s === undefined) return undefined;
      try {
        return JSON.parse(s) as unknown;
      } catch {
        return undefined;
      }
    },
    write: (name: string, value: unknown): boolean => {
      if (this.storeFails) return false;
      this.files[name] = JSON.stringify(value);
      return true;
    },
  };

  sys = {
    memory: (): { free: number; total: number } => ({ free: this.free, total: 2630 }),
    battery: (): number => 87,
    enableWatchdog: (s: number): void => {
      this.watchdog = s;
    },
    kickWatchdog: (): void => {
      this.kicks++;
    },
    log: (text: string): void => {
      this.logs.push(text);
    },
    random32: (): number => 0x12345678,
  };

  private add(fn: () => void, ms: number, every: number): number {
    const id = this.nextId++;
    this.timers.push({ id: id, at: this.t + ms, every: every, fn: fn });
    return id;
  }

  private remove(id: number): void {
    this.timers = this.timers.filter((x) => x.id !== id);
  }

  /** Run timers due up to now + ms, in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Timer | null = null;
      for (const tm of this.timers) if (tm.at <= end && (!next || tm.at < next.at)) next = tm;
      if (!next) break;
      this.t = next.at;
      if (next.every) next.at += next.every;
      else this.remove(next.id);
      next.fn();
    }
    this.t = end;
  }

  /** Host writes one frame to the downlink. */
  write(bytes: Uint8Array): void {
    if (!this.ble_) throw new Error('BLE not started');
    this.ble_.onWrite(bytes);
  }

  connect(): void {
    this.ble_?.onConnect();
  }

  disconnect(): void {
    this.ble_?.onDisconnect();
  }

  /** Deliver one mic buffer (the clock advances by one buffer period first, running timers). */
  micBuffer(buf: Uint8Array): void {
    if (!this.mic) throw new Error('mic not started');
    this.advance((buf.length * 1000) / this.mic.rate);
    this.mic.onBuffer(buf);
  }

  /** Take (and clear) the notified frames. */
  take(): Uint8Array[] {
    const out = this.notified;
    this.notified = [];
    return out;
  }
}

/** A buffer of `n` samples: a square wave of amplitude `amp` around 128 (amp 0 = silence). */
export function tone(n: number, amp: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = 128 + ((i >> 2) & 1 ? amp : -amp);
  return b;
}

/** A buffer of `n` samples all equal to `v` (marks positions in the stream). */
export function filled(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v);
}
