/**
 * The hardware abstraction the firmware core is written against. `./espruino/index.ts` implements it
 * over Espruino's globals (the only code that touches them); test/firmware/unit/ uses a fake in Node.
 *
 * One flat interface, implemented by one class: on Espruino every function costs ~5 JsVars plus one
 * per parameter for as long as the program runs, and a closure inside a function also copies its scope
 * chain (measured on the real interpreter: docs/FIRMWARE.md §Memory). Hardware events reach the core
 * through one `HalSink` (the App) rather than a callback per event.
 *
 * Rules for implementations: buffers passed to the sink belong to the HAL and are only valid during
 * the call (copy with `set()` to keep them); every sink call may throw: the HAL catches it and reports
 * it with `sink.fail(where, error)`, so one failed handler never stops the next.
 */

/** Where hardware events go (the App implements it). */
export interface HalSink {
  /** One filled microphone buffer (8-bit unsigned, 128 = silence), at `now` (ms, the clock of now()). */
  onMic(buf: Uint8Array, now: number): void;
  /** `buf` finished playing and must be refilled (fill the whole buffer). */
  onSpeaker(buf: Uint8Array): void;
  onConnect(): void;
  onDisconnect(): void;
  /** A write to the downlink characteristic (one frame). The array is only valid during the call. */
  onWrite(bytes: Uint8Array): void;
  /** Button edges: `down` true on press; `t` in ms of the clock's time base. */
  onButton(down: boolean, t: number): void;
  /** A sink call threw: count and report it (must not throw). */
  fail(where: string, e: unknown): void;
}

export interface Hal {
  /** Where hardware events go from now on (the App calls this in its constructor). */
  attach(sink: HalSink): void;
  /** Milliseconds, monotonic (getTime() * 1000 on Espruino). */
  now(): number;
  setTimeout(fn: () => void, ms: number): number;
  setInterval(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
  clearInterval(id: number): void;

  /** Native per-sample helpers: sum of the elements. */
  sum(a: Uint8Array): number;
  /** SUM of squared deviations from `mean` (E.variance semantics: not divided by the length). */
  variance(a: Uint8Array, mean: number): number;
  /** `to[i] = lut[from[i]]` for 8-bit samples, natively. `from` and `to` may be the same array. */
  mapInPlace(from: Uint8Array, to: Uint8Array, lut: Uint8Array): void;

  /** Start the microphone: buffers of `samples` at `rate` Hz go to the sink's onMic. Null, or why not. */
  startMic(rate: number, samples: number): string | null;
  stopMic(): void;
  /** Start the speaker: the sink's onSpeaker refills buffers of `samples` at `rate` Hz. Null, or why not. */
  startSpeaker(rate: number, samples: number): string | null;
  stopSpeaker(): void;

  /**
   * Declare the Budlink service (uplink notify+read, downlink write) plus the Nordic UART, advertise it
   * under `name`, request the 7.5 ms connection interval, and send link events to the sink.
   */
  startBle(name: string, maxPayload: number): void;
  /**
   * Notify one frame on the uplink characteristic. May be dropped silently by the stack (still true);
   * false only when the call itself failed (e.g. not connected).
   */
  notify(frame: Uint8Array): boolean;
  /**
   * For a loop that notifies one buffer again and again, refilled in between (the uplink's batches):
   * `[fn, arg]` such that `fn(arg)` notifies the current contents of `frame`, and throws where notify()
   * would return false. One native call per frame on Espruino, no method call. Call it once per buffer
   * (it allocates); the pair stays valid for as long as that buffer is used.
   */
  notifier(frame: Uint8Array): [(arg: unknown) => void, unknown];
  /** Set the uplink characteristic's readable value without notifying. */
  setValue(frame: Uint8Array): void;
  /** Change the advertised name (takes effect for the next advertisement). */
  setName(name: string): void;

  /** Number of LEDs. */
  readonly ledCount: number;
  led(index: number, on: boolean): void;
  /** Send button edges to the sink's onButton. */
  watchButton(): void;

  /** The persisted JSON object, or undefined if missing or unreadable. */
  load(name: string): unknown;
  /** Persist; false on failure. */
  save(name: string, value: unknown): boolean;

  /** JsVars free (runs no GC on Espruino: process.memory(false)). */
  freeVars(): number;
  /** Battery percent 0..100, or 255 when unknown. */
  battery(): number;
  /** Hardware watchdog with the given timeout (s); kick() must then be called at least that often. */
  watchdog(seconds: number): void;
  kick(): void;
  /** A console line (Nordic UART / REPL); never used for audio. */
  log(text: string): void;
  /** A 32-bit random number (nonces). */
  random32(): number;
}
