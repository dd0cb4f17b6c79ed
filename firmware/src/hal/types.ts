/**
 * The hardware abstraction the firmware core is written against. `./espruino/index.ts` implements it
 * over Espruino's globals (the only code that touches them); test/firmware/unit/ uses a fake in Node.
 *
 * Rules for implementations: buffers passed to callbacks belong to the HAL and are only valid during
 * the callback (copy with `set()` to keep them); every callback may throw (the core guards them, but an
 * implementation must not let one failed callback stop the next).
 */

/** Native per-sample helpers (E.sum / E.variance / E.mapInPlace on Espruino). */
export interface Dsp {
  /** Sum of the elements. */
  sum(a: Uint8Array): number;
  /** SUM of squared deviations from `mean` (E.variance semantics: not divided by the length). */
  variance(a: Uint8Array, mean: number): number;
  /** `to[i] = lut[from[i]]` for 8-bit samples, natively. `from` and `to` may be the same array. */
  mapInPlace(from: Uint8Array, to: Uint8Array, lut: Uint8Array): void;
}

export interface MicStart {
  rate: number;
  /** Samples per buffer; the HAL allocates two such buffers once. */
  samples: number;
  /** Called once per filled buffer with the buffer just filled (8-bit unsigned, 128 = silence). */
  onBuffer: (buf: Uint8Array) => void;
}

export interface SpeakerStart {
  rate: number;
  /** Samples per output buffer (two are allocated once). */
  samples: number;
  /** Called when `buf` finished playing and must be refilled (fill the whole buffer). */
  onNeed: (buf: Uint8Array) => void;
}

export interface BleHandlers {
  onConnect: () => void;
  onDisconnect: () => void;
  /** A write to the downlink characteristic (one frame). The array is only valid during the call. */
  onWrite: (bytes: Uint8Array) => void;
}

export interface Ble {
  /**
   * Declare the Budlink service (uplink notify+read, downlink write) plus the Nordic UART, advertise it
   * under `name`, and request the 7.5 ms connection interval.
   */
  start(name: string, maxPayload: number, handlers: BleHandlers): void;
  /**
   * Notify one frame on the uplink characteristic. May be dropped silently by the stack (still true);
   * false only when the call itself failed (e.g. not connected).
   */
  notify(frame: Uint8Array): boolean;
  /** Set the uplink characteristic's readable value without notifying. */
  setValue(frame: Uint8Array): void;
  /** Change the advertised name (takes effect for the next advertisement). */
  setName(name: string): void;
}

export interface Io {
  /** Number of LEDs. */
  readonly ledCount: number;
  led(index: number, on: boolean): void;
  /** Button edges: `down` true on press. `timeMs` from the clock's time base. */
  onButton(handler: (down: boolean, timeMs: number) => void): void;
}

export interface Audio {
  /** Start the microphone. Returns null on success, or a reason it cannot (e.g. unsupported source). */
  startMic(options: MicStart): string | null;
  stopMic(): void;
  /** Start the speaker. Returns null on success, or a reason. */
  startSpeaker(options: SpeakerStart): string | null;
  stopSpeaker(): void;
}

export interface Clock {
  /** Milliseconds, monotonic (getTime() * 1000 on Espruino). */
  now(): number;
  setTimeout(fn: () => void, ms: number): number;
  setInterval(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
  clearInterval(id: number): void;
}

export interface Store {
  /** The persisted JSON object, or undefined if missing or unreadable. */
  read(name: string): unknown;
  /** Persist; false on failure. */
  write(name: string, value: unknown): boolean;
}

export interface System {
  /** JsVars free and total (runs no GC on Espruino: process.memory(false)). */
  memory(): { free: number; total: number };
  /** Battery percent 0..100, or 255 when unknown. */
  battery(): number;
  /** Hardware watchdog with the given timeout (s); kick() must then be called at least that often. */
  enableWatchdog(seconds: number): void;
  kickWatchdog(): void;
  /** A console line (Nordic UART / REPL); never used for audio. */
  log(text: string): void;
  /** A 32-bit random number (nonces). */
  random32(): number;
}

/** Everything the firmware core uses. */
export interface Hal {
  clock: Clock;
  dsp: Dsp;
  audio: Audio;
  ble: Ble;
  io: Io;
  store: Store;
  sys: System;
}
