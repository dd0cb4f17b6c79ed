/**
 * A fake HAL for the firmware core in Node: virtual clock with explicit advance(), JS versions of the
 * native helpers with Espruino's semantics (variance = SUM of squared deviations), recorded BLE
 * notifications, in-memory storage, LEDs and a button.
 */
import { decodeFrame, encodeFrame } from '@budlink/protocol';
import type { Frame } from '@budlink/protocol';
import { BOARDS } from '../../../firmware/boards/index';
import type { BoardProfile } from '../../../firmware/boards/index';
import type { Hal, HalSink } from '../../../firmware/src/hal/types';

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

/** What the fake microphone / speaker was started with. */
export interface AudioStart {
  rate: number;
  samples: number;
}

export class FakeHal implements Hal {
  t = 0;
  private timers: Timer[] = [];
  private nextId = 1;
  sink: HalSink | null = null;
  mic: AudioStart | null = null;
  micStarts = 0;
  speaker: AudioStart | null = null;
  speakerStarts = 0;
  bleStarted = false;
  notified: Uint8Array[] = [];
  readValue: Uint8Array | null = null;
  advName = '';
  leds: boolean[];
  readonly ledCount: number;
  buttonWatched = false;
  files: Record<string, string> = {};
  storeFails = false;
  kicks = 0;
  watchdogS = 0;
  logs: string[] = [];
  free = 1000;
  micError: string | null = null;

  constructor(ledCount = 3) {
    this.ledCount = ledCount;
    this.leds = [];
    for (let i = 0; i < ledCount; i++) this.leds.push(false);
  }

  attach(sink: HalSink): void {
    this.sink = sink;
  }

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    return this.add(fn, ms, 0);
  }
  setInterval(fn: () => void, ms: number): number {
    return this.add(fn, ms, ms);
  }
  clearTimeout(id: number): void {
    this.remove(id);
  }
  clearInterval(id: number): void {
    this.remove(id);
  }

  sum(a: Uint8Array): number {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] as number;
    return s;
  }
  variance(a: Uint8Array, mean: number): number {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += ((a[i] as number) - mean) ** 2;
    return s;
  }
  mapInPlace(from: Uint8Array, to: Uint8Array, lut: Uint8Array): void {
    for (let i = 0; i < from.length; i++) to[i] = lut[from[i] as number] as number;
  }

  startMic(rate: number, samples: number): string | null {
    if (this.micError) return this.micError;
    this.mic = { rate, samples };
    this.micStarts++;
    return null;
  }
  stopMic(): void {
    this.mic = null;
  }
  startSpeaker(rate: number, samples: number): string | null {
    this.speaker = { rate, samples };
    this.speakerStarts++;
    return null;
  }
  stopSpeaker(): void {
    this.speaker = null;
  }

  startBle(name: string): void {
    this.advName = name;
    this.bleStarted = true;
  }
  notify(frame: Uint8Array): boolean {
    if (this.notifyThrows) return false;
    this.notified.push(new Uint8Array(frame));
    return true;
  }
  /** Notifications fail while this is set, as updateServices does when not connected: notify() returns false, notifier() calls throw. */
  notifyThrows = false;
  notifier(frame: Uint8Array): [(arg: unknown) => void, unknown] {
    return [
      (arg: unknown) => {
        if (this.notifyThrows) throw new Error('Not connected');
        this.notified.push(new Uint8Array(arg as Uint8Array));
      },
      frame,
    ];
  }
  setValue(frame: Uint8Array): void {
    this.readValue = new Uint8Array(frame);
  }
  setName(name: string): void {
    this.advName = name;
  }

  led(i: number, on: boolean): void {
    this.leds[i] = on;
  }
  watchButton(): void {
    this.buttonWatched = true;
  }

  load(name: string): unknown {
    const s = this.files[name];
    if (s === undefined) return undefined;
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return undefined;
    }
  }
  save(name: string, value: unknown): boolean {
    if (this.storeFails) return false;
    this.files[name] = JSON.stringify(value);
    return true;
  }

  freeVars(): number {
    return this.free;
  }
  battery(): number {
    return 87;
  }
  watchdog(s: number): void {
    this.watchdogS = s;
  }
  kick(): void {
    this.kicks++;
  }
  log(text: string): void {
    this.logs.push(text);
  }
  random32(): number {
    return 0x12345678;
  }

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

  /** Deliver a hardware event as the Espruino HAL does: exceptions go to the sink's fail(). */
  private deliver(where: string, fn: (s: HalSink) => void): void {
    const s = this.sink;
    if (!s) throw new Error('no sink attached');
    try {
      fn(s);
    } catch (e) {
      s.fail(where, e);
    }
  }

  /** Host writes one frame to the downlink. */
  write(bytes: Uint8Array): void {
    if (!this.bleStarted) throw new Error('BLE not started');
    this.deliver('write', (s) => s.onWrite(bytes));
  }

  connect(): void {
    this.deliver('connect', (s) => s.onConnect());
  }

  disconnect(): void {
    this.deliver('disconnect', (s) => s.onDisconnect());
  }

  /** Press (true) or release (false) the button at time `t` (default now). */
  button(down: boolean, t = this.t): void {
    if (!this.buttonWatched) throw new Error('button not watched');
    this.deliver('button', (s) => s.onButton(down, t));
  }

  /** Deliver one mic buffer (the clock advances by one buffer period first, running timers). */
  micBuffer(buf: Uint8Array): void {
    if (!this.mic) throw new Error('mic not started');
    this.advance((buf.length * 1000) / this.mic.rate);
    this.deliver('mic', (s) => s.onMic(buf, this.t));
  }

  /** The speaker asks for one buffer of `n` samples (as its Waveform does when a buffer finished). */
  speakerNeed(n: number): Uint8Array {
    const buf = new Uint8Array(n);
    this.deliver('speaker', (s) => s.onSpeaker(buf));
    return buf;
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
