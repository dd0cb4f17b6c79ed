/**
 * One simulated Espruino device: a vm context with Espruino's globals, an idle loop, timers, Waveforms,
 * watches, the BLE link model and Storage, all on one device clock (ms since power-on).
 *
 * Execution model (Espruino's jsiIdle): hardware events (ADC/DAC buffer swaps, BLE connection events,
 * pin edges) happen at exact times; JavaScript runs only from the idle loop, one job at a time, and each
 * job takes device time = its cost / COST_UNITS_PER_MS (see README.md). While a job runs, hardware keeps
 * going: a Waveform that swaps twice before the idle loop polls it loses the event, and a buffer handed
 * to JS keeps being overwritten by the ADC once its next period starts, without any error.
 *
 * The parts, one concern each: language.ts (the context and its language surface), globals.ts (the
 * Espruino globals), loop.ts (clock, idle loop, timers, watchdog), events.ts (emitters), heap.ts (JsVars),
 * pins.ts, waveform.ts, radio.ts (NRF, GATT, console), storage.ts, repl.ts.
 */
import vm from 'node:vm';
import { Emitters } from './events';
import { Interrupt } from './interrupt';
import { installGlobals } from './globals';
import { Heap } from './heap';
import { instrument } from './instrument';
import { builtinObjects, createContext, recordBinds, setUpLanguage, wrapTypedArrays } from './language';
import type { Builtins } from './language';
import { IdleLoop, nativeCost } from './loop';
import type { EspruinoRandom } from './natives';
import { Pins } from './pins';
import { Radio } from './radio';
import { Repl } from './repl';
import type { SimCentral, SimService } from '@budlink/link';
import { Waveforms } from './waveform';

export { COST_UNITS_PER_SECOND, NATIVE_COST_PER_ELEMENT } from './loop';

/** What a (re)boot runs: '.boot0'..'.boot3' then '.bootcde' ('boot'), nothing ('none'), or one file. */
export type BootMode = { kind: 'boot' } | { kind: 'none' } | { kind: 'file'; name: string };

export interface DeviceConfig {
  board: string;
  jsVars: number;
  blocksize: number;
  deviceMaxMtu: number;
  packetsPerInterval: number;
  queueDepth: number;
  dropRate: number;
  intervalMs?: number;
  /** Seed of the link's drop PRNG and of E.hwRand. */
  seed: number;
  /** CPU speed relative to the calibrated nRF52 (EarbudOptions.cpuSpeed). */
  cpuSpeed?: number;
  code: 'ram' | 'storage';
  /** Button pin name and whether it reads 0 when pressed. */
  button: string;
  buttonActiveLow: boolean;
  defaultName: string;
  /** Espruino's rand() state (Math.random): seeded at power-on, kept across reset()/load(). */
  random: EspruinoRandom;
  /** Storage shared across power cycles: file name -> bytes (STORAGE_BYTES of room). */
  storage: Map<string, Uint8Array>;
}

export interface DeviceStats {
  overruns: number;
  handlerErrors: number;
  maxHandlerCost: number;
  /** Cost of each 'buffer' job on input Waveforms, summed (for cost per audio second). */
  inputHandlerCost: number;
  inputBuffers: number;
  totalCost: number;
  outOfMemory: number;
  watchdogResets: number;
  jobs: number;
  /** Per job kind ('buffer', 'timer', 'write', 'watch', 'connect', 'boot', ...): count, cost sum, max. */
  byKind: Record<string, { jobs: number; cost: number; max: number }>;
}

/** Audio source for the microphone: called for each ADC sample at the Waveform's rate. */
export interface MicSource {
  /** The sample the ADC takes at device time `t` (ms). */
  next(rate: number, t: number): number;
}

/** All-zero device counters (a fresh device's, and the base of the simulator's running totals). */
export function emptyDeviceStats(): DeviceStats {
  return {
    overruns: 0,
    handlerErrors: 0,
    maxHandlerCost: 0,
    inputHandlerCost: 0,
    inputBuffers: 0,
    totalCost: 0,
    outOfMemory: 0,
    watchdogResets: 0,
    jobs: 0,
    byKind: {},
  };
}

export class Device {
  readonly ctx: vm.Context;
  /** Constructors of the context's realm. */
  readonly builtins: Builtins;
  readonly stats: DeviceStats = emptyDeviceStats();
  readonly loop: IdleLoop;
  readonly events: Emitters;
  readonly heap: Heap;
  readonly pins: Pins;
  readonly waves: Waveforms;
  readonly radio: Radio;
  readonly repl: Repl;
  /** Set when the device wants a reboot (watchdog); the owner performs it. */
  rebootRequested: string | null = null;
  /** What runs after the requested reboot: the boot files, nothing (reset()), or one file (load(f)). */
  rebootMode: BootMode = { kind: 'boot' };

  constructor(
    readonly config: DeviceConfig,
    mic: MicSource,
    /** Console lines (shared across power cycles by the owner). */
    readonly logs: string[],
    /** Speaker samples played (8-bit unsigned), in order; appended to by the DAC. */
    speaker: { push(v: number): void },
  ) {
    const { ctx, builtins, define } = createContext(config.board);
    this.ctx = ctx;
    this.builtins = builtins;
    const err = (msg: string): Error => this.err(msg);
    this.loop = new IdleLoop(
      this.stats,
      {
        progress: (t) => this.waves.progressAll(t),
        ioEvents: () => this.waves.ioEvents(),
        ioPending: () => this.waves.ioPending(),
        poll: () => this.waves.poll(),
        pollPending: () => this.waves.pollPending(),
        afterJob: () => this.heap.afterJob(),
        reportError: (e, kind) => this.reportError(e, kind),
        print: (s) => this.print(s),
        rebooting: () => this.rebootRequested !== null,
        cpuSpeed: config.cpuSpeed ?? 1,
        watchdogReset: (why) => this.watchdogReset(why),
      },
      err,
    );
    this.events = new Emitters((job) => this.loop.queue(job), err);
    this.heap = new Heap(
      ctx,
      { jsVars: config.jsVars, blocksize: config.blocksize, code: config.code },
      this.stats,
      {
        roots: (c) =>
          this.loop.timerVars(c) +
          this.pins.watchVars(c) +
          this.events.vars(c) +
          this.waves.vars(c) +
          this.radio.handlerVars(c),
        jobActive: () => this.loop.jobActive,
        print: (s) => this.print(s),
        interrupt: (reason) => this.loop.interrupt(reason),
      },
    );
    Object.assign(this.loop.k, this.heap.tags); // the program's `__$k` (instrument.ts)
    this.pins = new Pins(this.loop, builtins, err, {
      pin: config.button,
      activeLow: config.buttonActiveLow,
    });
    this.waves = new Waveforms(this, mic, speaker);
    this.radio = new Radio(this);
    this.repl = new Repl(this);
    setUpLanguage(ctx);
    installGlobals(this, define);
    // Typed array allocations are charged against the heap as they happen (OOM detection), and their
    // cost: a new buffer (zeroed) or a copy of an array; a view of an existing buffer (subarray, a view
    // over an ArrayBuffer) costs what its JavaScript call does.
    const buffers = new WeakSet<object>();
    wrapTypedArrays(
      ctx,
      Object.assign(
        (r: ArrayBufferView | ArrayBuffer, copied: number) => {
          const bytes = r.byteLength;
          const buf = ArrayBuffer.isView(r) ? r.buffer : r;
          if (copied) this.loop.charge(nativeCost('TypedArray.copy', bytes));
          else if (!buffers.has(buf)) this.loop.charge(nativeCost('TypedArray.new', bytes));
          buffers.add(buf);
          this.heap.allocating(2 + Math.ceil(bytes / config.blocksize) + 1);
        },
        { charge: () => undefined },
      ),
    );
    // set() and fill() cost differently (Espruino's fill writes element by element through an iterator).
    vm.runInContext(
      `(function(charge){
        var TA = Object.getPrototypeOf(Uint8Array.prototype), set = TA.set, fill = TA.fill;
        Object.defineProperty(TA, 'set', { writable: true, configurable: true,
          value: function(src, off){ charge(0, src && src.length || 0); return set.call(this, src, off); } });
        Object.defineProperty(TA, 'fill', { writable: true, configurable: true,
          value: function(v, a, b){ charge(1, this.length); return fill.call(this, v, a, b); } });
      })`,
      ctx,
    )((kind: number, n: number) =>
      this.loop.charge(nativeCost(kind === 0 ? 'TypedArray.set' : 'TypedArray.fill', n)),
    );
    recordBinds(ctx, (b, target, thisArg, args) => this.heap.recordBind(b, target, thisArg, args));
    this.heap.sealBuiltins(builtinObjects(ctx));
  }

  /** An error of the program's realm (what Espruino's natives throw). */
  err(msg: string): Error {
    return new this.builtins.Error(msg);
  }

  /** Console output: `logs` and, while connected with the UART on, Nordic UART notifications. */
  print(s: string): void {
    this.radio.print(s);
  }

  // ---------------------------------------------------------------------------------------------
  // Clock and running

  /** Device time, ms since power-on. */
  get now(): number {
    return this.loop.now;
  }

  /** A hardware event at device time `t`. */
  at(t: number, fn: (now: number) => void): void {
    this.loop.at(t, fn);
  }

  /** Run the device up to time `tEnd` (ms). */
  runUntil(tEnd: number): void {
    this.loop.runUntil(tEnd);
  }

  /** Device time when the CPU is next free, and whether JS work is queued. */
  busy(): { until: number; pending: boolean } {
    return this.loop.busy();
  }

  requestReboot(why: string, mode: BootMode): void {
    if (this.rebootRequested) return;
    this.rebootRequested = why;
    this.rebootMode = mode;
  }

  private watchdogReset(why: string): void {
    if (this.rebootRequested) return;
    this.stats.watchdogResets++;
    this.logs.push(`[sim] watchdog reset: ${why}`);
    this.requestReboot(`watchdog: ${why}`, { kind: 'boot' });
  }

  private reportError(e: unknown, kind: string): void {
    if (e instanceof Interrupt) {
      if (e.message === 'Out of Memory!' || e.message === 'interrupted')
        this.print('Execution Interrupted\n');
      this.stats.handlerErrors++;
      return;
    }
    this.stats.handlerErrors++;
    const msg = describeError(e);
    this.print(`Uncaught ${msg}${kind === 'boot' ? '' : ` (in ${kind})`}\n`);
  }

  /** Run the program text at boot (top level). Returns false if it threw. */
  boot(source: string, filename: string): boolean {
    const { code } = instrument(source);
    const script = new vm.Script(code, { filename });
    (this.ctx as Record<string, unknown>).__$k_init = this.loop.k;
    vm.runInContext('const __$k = __$k_init; delete globalThis.__$k_init;', this.ctx);
    this.heap.snapshotInitialGlobals();
    const run = this.repl.run(script, 'boot');
    // E.on('init') handlers run after the boot code.
    const E = (this.ctx as { E: object }).E;
    this.events.emitLater(E, 'init', [], 'init');
    return !run.threw;
  }

  /** Evaluate `code` now as typed at the REPL (repl.ts). */
  evaluate(code: string): unknown {
    return this.repl.evaluate(code);
  }

  /** Stop everything (power off). A power cut runs nothing ('kill' handlers only run on reset()). */
  halt(): void {
    this.loop.halt();
    this.waves.halt();
  }

  // ---------------------------------------------------------------------------------------------
  // Memory, pins

  /** JsVars in use now: a walk of the reachable heap (see memory.ts). */
  measure(): number {
    return this.heap.measure();
  }

  /** LED levels as last written (pin name -> 0/1). */
  get leds(): Map<string, number> {
    return this.pins.leds;
  }

  /** An external level change on a pin (the button), at device time `t`. */
  setPinLevel(name: string, level: number, t: number): void {
    this.pins.setLevel(name, level, t);
  }

  // ---------------------------------------------------------------------------------------------
  // The radio, as a central sees it

  get link(): Radio['link'] {
    return this.radio.link;
  }

  name(): string {
    return this.radio.name();
  }

  advertisedServices(): string[] {
    return this.radio.advertisedServices();
  }

  gatt(): SimService[] {
    return this.radio.gatt();
  }

  connectCentral(central: SimCentral, mtu: number): void {
    this.radio.connectCentral(central, mtu);
  }

  /** After reset()/load() the radio keeps its connection: the new program starts connected. */
  adoptConnection(central: SimCentral, mtu: number): void {
    this.radio.adoptConnection(central, mtu);
  }

  disconnectCentral(by: 'remote' | 'power-cycle' | 'local', reason = 19): void {
    this.radio.disconnectCentral(by, reason);
  }

  centralWrite(uuid: string, value: Uint8Array): void {
    this.radio.centralWrite(uuid, value);
  }

  centralRead(uuid: string): Uint8Array {
    return this.radio.centralRead(uuid);
  }
}

function describeError(e: unknown): string {
  if (e !== null && typeof e === 'object' && 'message' in e) {
    const name = (e as { name?: unknown }).name;
    return `${typeof name === 'string' ? name : 'Error'}: ${String((e as { message: unknown }).message)}`;
  }
  return `Error: ${String(e)}`;
}
