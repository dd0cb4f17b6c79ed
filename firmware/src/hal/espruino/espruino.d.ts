/**
 * The Espruino surface the Budlink firmware uses: exactly these globals and methods, nothing else.
 *
 * This is a module (it only exports types). The Espruino HAL (`./index.ts`) binds each global with a
 * module-scoped `declare const X: EspruinoGlobals['X']`, so no other firmware file can reach a device
 * global, and the simulator (firmware/sim/) can implement `EspruinoGlobals` as its vm context without
 * clashing with Node's own `setTimeout`/`process`/`require` typings.
 *
 * Semantics are Espruino 2v25+ (checked on the real interpreter: docs/ESPRUINO-ENGINE.md); the notes on each member say which
 * behaviour the firmware relies on, so the simulator can match it.
 */

/**
 * A pin: Espruino accepts a Pin object (`D13`, `LED1`) or its name as a string of at most 4 characters
 * (`"D13"`, `"LED1"`, `"BTN1"`). The HAL passes the board profile's names through `global[name]` first.
 */
export type Pin = string | number | object;

/** The TypedArrays Waveform, E.sum and friends accept. The firmware only uses Uint8Array. */
export type NumericArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Float32Array | number[];

export interface WaveformOptions {
  /** Allocate `buffer2` too and emit 'buffer' on every swap. */
  doubleBuffer?: boolean;
  /** 8 (Uint8Array buffers, 128 = silence) or 16 (Uint16Array). The firmware uses 8. */
  bits?: 8 | 16;
}

export interface WaveformStartOptions {
  /** Seconds from now to start (getTime() based); default now. */
  time?: number;
  /** Loop over the buffer(s) forever until stop(). */
  repeat?: boolean;
  /** Output only: a second pin driven with the inverted signal (differential speaker, 2v25+). */
  npin?: Pin;
}

export interface WaveformInstance {
  /** The first sample buffer (allocated by the constructor). */
  readonly buffer: Uint8Array;
  /** The second buffer when `doubleBuffer` was set. */
  readonly buffer2?: Uint8Array;
  /** True between start*() and stop() (or the end of a non-repeating run). */
  readonly running: boolean;
  /**
   * Sample `pin` with the ADC at `freq` Hz into the buffers. With `{repeat: true}` and doubleBuffer
   * it swaps buffers forever and emits 'buffer' with the one just filled. The event is dispatched from
   * the idle loop: a handler slower than one buffer period means data is overwritten with no error.
   */
  startInput(pin: Pin, freq: number, options?: WaveformStartOptions): void;
  /**
   * Play the buffers on `pin` (PWM set up beforehand with analogWrite) at `freq` Hz. With doubleBuffer
   * and repeat, 'buffer' fires with the buffer that just finished playing so it can be refilled.
   */
  startOutput(pin: Pin, freq: number, options?: WaveformStartOptions): void;
  /** Stop sampling / playing. Emits 'finish'. */
  stop(): void;
  /** 'buffer': a buffer swap (argument: the buffer now free for JS); 'finish': stopped. */
  on(event: 'buffer' | 'finish', handler: (buf: Uint8Array) => void): void;
  removeAllListeners(event?: string): void;
}

export interface WaveformConstructor {
  /** `samples`: the number of samples per buffer. */
  new (samples: number, options?: WaveformOptions): WaveformInstance;
}

/** One characteristic in NRF.setServices. */
export interface NrfCharacteristicDef {
  /** Initial value; `maxLen` defaults to its length. */
  value?: Uint8Array | number[] | string;
  maxLen?: number;
  readable?: boolean;
  /** Enables write AND write-without-response. */
  writable?: boolean;
  notify?: boolean;
  indicate?: boolean;
  description?: string;
  /** `evt.data` is an ArrayBuffer holding the written bytes. */
  onWrite?: (evt: { data: ArrayBuffer }) => void;
  security?: {
    read?: { encrypted?: boolean; mitm?: boolean };
    write?: { encrypted?: boolean; mitm?: boolean };
  };
}

/** `{ serviceUuid: { characteristicUuid: def } }` (128-bit UUIDs as lower-case strings). */
export type NrfServiceDefs = Record<string, Record<string, NrfCharacteristicDef>>;

/** One characteristic in NRF.updateServices: new value, and `notify: true` to send a notification. */
export interface NrfCharacteristicUpdate {
  value: Uint8Array | number[] | string;
  notify?: boolean;
  indicate?: boolean;
  readable?: boolean;
}

export interface NrfApi {
  /**
   * Declare the GATT database. Restarts the stack if it changes: call only while disconnected.
   * `uart: true` keeps the Nordic UART service (the REPL). `advertise` lists service UUIDs to advertise.
   */
  setServices(defs: NrfServiceDefs, options?: { uart?: boolean; advertise?: string[] }): void;
  /**
   * Set a characteristic's value; with `notify: true` also notify the subscribed central.
   * When the stack's TX queue is full the notification is DROPPED SILENTLY (no exception, no event).
   * Throws if the characteristic was never declared.
   */
  updateServices(updates: Record<string, Record<string, NrfCharacteristicUpdate>>): void;
  /** 7.5 = fastest; 'auto' = Espruino's dynamic default. Not kept by save(). */
  setConnectionInterval(ms: number | 'auto' | { minInterval: number; maxInterval: number }): void;
  /** Advertising data (`{}` for none beyond the name) and options. */
  setAdvertising(
    data: Record<string, unknown> | unknown[],
    options?: { name?: string; connectable?: boolean; interval?: number; showName?: boolean },
  ): void;
  /** 'connect' (argument: central's address), 'disconnect' (argument: HCI reason code). */
  on(event: 'connect', handler: (address: string) => void): void;
  on(event: 'disconnect', handler: (reason: number) => void): void;
  /** Battery voltage in volts. */
  getBattery(): number;
}

export interface EApi {
  /** Sum of all elements (native). */
  sum(arr: NumericArray): number;
  /** SUM of squared deviations from `mean` (NOT divided by the length). Native. */
  variance(arr: NumericArray, mean: number): number;
  /**
   * `to[i] = lut[from[i] >> ... ]`: native when `lut` is an array (one JS call per element if a
   * function: too slow). `bits` = bits per element of `from` to use as the index (default 8 for 8-bit).
   */
  mapInPlace(from: NumericArray, to: NumericArray, lut: NumericArray, bits?: number): void;
  /** Standard CRC-32 ("123456789" -> 0xcbf43926). */
  CRC32(data: NumericArray | string): number;
  /** Hardware watchdog: reboot if not kicked within `timeout` s. With autoKick, the idle loop kicks. */
  enableWatchdog(timeout: number, autoKick?: boolean): void;
  kickWatchdog(): void;
  /** JsVars used by `v` (depth 0 = just v). */
  getSizeOf(v: unknown, depth?: number): number;
  /** 'init': after boot code ran; 'kill': before reset/save/power off; 'errorFlag': internal flags set. */
  on(event: 'init' | 'kill', handler: () => void): void;
  on(event: 'errorFlag', handler: (flags: string[]) => void): void;
  /** Bytes of a typed array (or numbers/strings) as a string, any length. */
  toString(data: NumericArray | string): string;
  /** Battery percentage estimate 0..100 (not on every board: check typeof). */
  getBattery?: () => number;
}

export interface StorageApi {
  /** File contents as a string (memory-mapped from flash), or undefined if missing. */
  read(name: string, offset?: number, length?: number): string | undefined;
  /** Write a whole file (or a chunk of a pre-sized one). Returns success. */
  write(name: string, data: string | Uint8Array, offset?: number, size?: number): boolean;
  /** Parse a JSON file; with noExceptions, undefined instead of throwing on a missing/bad file. */
  readJSON(name: string, noExceptions?: boolean): unknown;
  writeJSON(name: string, data: unknown): boolean;
  erase(name: string): void;
}

export interface ProcessMemory {
  free: number;
  usage: number;
  total: number;
  history: number;
  gc: number;
  gctime: number;
  blocksize: number;
  stackFree?: number;
}

export interface ProcessApi {
  /** Also runs a garbage collection unless `gc === false` is passed (2v23+). */
  memory(gc?: boolean): ProcessMemory;
  readonly version: string;
  readonly env: { BOARD?: string; VERSION?: string };
}

export interface SetWatchOptions {
  repeat?: boolean;
  edge?: 'rising' | 'falling' | 'both';
  /** ms */
  debounce?: number;
}

/** Espruino timer ids are numbers. */
export type TimerId = number;

/**
 * Every Espruino global the firmware touches, by name. The HAL binds each with
 * `declare const <name>: EspruinoGlobals['<name>']`; the simulator provides all of them.
 */
export interface EspruinoGlobals {
  Waveform: WaveformConstructor;
  NRF: NrfApi;
  E: EApi;
  /** Only `require('Storage')` is used. */
  require(module: 'Storage'): StorageApi;
  process: ProcessApi;
  /** Seconds since boot (float, ~30 us resolution). */
  getTime(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  setInterval(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
  clearInterval(id: TimerId): void;
  /** Call `fn` on pin edges; returns an id for clearWatch. */
  setWatch(
    fn: (e: { state: boolean; time: number; lastTime: number }) => void,
    pin: Pin,
    options?: SetWatchOptions,
  ): number;
  clearWatch(id: number): void;
  digitalWrite(pin: Pin, value: boolean | number): void;
  digitalRead(pin: Pin): number;
  /** PWM: `value` 0..1; `freq` Hz. analogWrite(pin, 0.5, {freq: 40000+}) before Waveform output. */
  analogWrite(pin: Pin, value: number, options?: { freq?: number }): void;
  /** The root scope: pins and other globals by name (`global['LED1']`). */
  global: Record<string, unknown>;
  /** Console on the Nordic UART / USB REPL (never audio). */
  console: { log(...args: unknown[]): void };
}
