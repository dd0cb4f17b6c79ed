/**
 * One simulated Espruino device: a vm context with Espruino's globals, an idle loop, timers, Waveforms,
 * watches, the BLE link model and Storage, all on one device clock (ms since power-on).
 *
 * Execution model (Espruino's jsiIdle): hardware events (ADC/DAC buffer swaps, BLE connection events,
 * pin edges) happen at exact times; JavaScript runs only from the idle loop, one job at a time, and each
 * job takes device time = its cost / COST_UNITS_PER_MS (see README.md). While a job runs, hardware keeps
 * going: a Waveform that swaps twice before the idle loop polls it loses the event, and a buffer handed
 * to JS keeps being overwritten by the ADC once its next period starts, without any error.
 */
/* eslint-disable @typescript-eslint/no-this-alias -- functions installed in the vm context need both
   their own `this` (the emitter/Waveform object JS calls them on) and the Device, captured as `self`. */
import vm from 'node:vm';
import { SimError } from './errors';
import { instrument } from './instrument';
import { LinkModel, mulberry32 } from './link';
import { BASELINE_JSVARS, JsVarCounter, type BoundInfo, type MemoryModel } from './memory';
import { eConvolve, eCrc32, eFFT, eMapInPlace, eSum, eToString, eVariance, tagOf, toBytes } from './natives';
import type { SimCentral, SimService } from './types';

/** Cost units per second of nRF52 device time (README.md: ~10^4 simple loop iterations/s × ~10 units each). */
export const COST_UNITS_PER_SECOND = 100_000;
export const COST_UNITS_PER_MS = COST_UNITS_PER_SECOND / 1000;
/** Native helpers (E.sum, TypedArray.set...) cost this many units per element they touch (~0.5 us). */
export const NATIVE_COST_PER_ELEMENT = 0.05;
/** A job running longer than this (device time) without a watchdog is treated as a hung device. */
export const HANG_LIMIT_MS = 20_000;

export const ESPRUINO_VERSION = '2v29';

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
  seed: number;
  code: 'ram' | 'storage';
  /** Button pin name and whether it reads 0 when pressed. */
  button: string;
  buttonActiveLow: boolean;
  defaultName: string;
  /** Storage shared across power cycles: file name -> bytes. */
  storage: Map<string, Uint8Array>;
  storageBytes: number;
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

type Fn = (...args: unknown[]) => unknown;

interface Job {
  fn: Fn;
  args: unknown[];
  thisArg: unknown;
  kind: string;
  /** For 'buffer' jobs: the buffer period in ms (an overrun if the job takes longer). */
  periodMs?: number;
  input?: boolean;
  /** For timer jobs: the timer's id (a clearTimeout earlier in the same pass cancels the run). */
  timerId?: number;
}

interface Timer {
  id: number;
  time: number;
  interval: number | null;
  fn: Fn;
  args: unknown[];
}

interface Watch {
  id: number;
  pin: string;
  fn: Fn;
  repeat: boolean;
  edge: 'rising' | 'falling' | 'both';
  debounce: number;
  lastTime: number;
  /** Debounce state: the last reported level, the level and time of the latest edge, a timeout token. */
  lastState: boolean;
  pendingState: boolean;
  pendingEdge: number;
  pendingToken: number;
}

interface WaveState {
  obj: Record<string, unknown>;
  buffers: (Uint8Array | Uint16Array)[];
  input: boolean;
  freq: number;
  repeat: boolean;
  start: number;
  n: number;
  /** Swaps so far (buffer being filled/played = buffers[swaps % buffers.length]). */
  swaps: number;
  /** Samples of the current buffer already filled/played. */
  pos: number;
  /** Swap count the idle loop has seen. */
  seenSwaps: number;
  running: boolean;
  finishQueued: boolean;
  bits: 8 | 16;
  /** Output only: the pin had analogWrite (PWM) set up, so the samples reach the speaker. */
  audible: boolean;
}

/** Audio source for the microphone: called for each ADC sample at the Waveform's rate. */
export interface MicSource {
  next(rate: number): number;
}

/** Something JS can never catch for long: re-thrown by every statement until the job ends. */
class Interrupt extends Error {}

interface PinObj {
  name: string;
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
  readonly link: LinkModel;
  readonly stats: DeviceStats = emptyDeviceStats();
  /** Set when the device wants a reboot (watchdog); the owner performs it. */
  rebootRequested: string | null = null;
  /** What runs after the requested reboot: the boot files, nothing (reset()), or one file (load(f)). */
  rebootMode: BootMode = { kind: 'boot' };
  /** Device time, ms since power-on. */
  now = 0;
  leds = new Map<string, number>();

  private cpuFree = 0;
  private hw: { t: number; seq: number; fn: (now: number) => void }[] = [];
  private hwSeq = 0;
  private jobs: Job[] = [];
  /** Timer callbacks of the current idle pass, and where the pass is. */
  private timerJobs: Job[] = [];
  private passStage: 'idle' | 'timers' | 'events' = 'idle';
  private timers: Timer[] = [];
  private nextTimerId = 1;
  private watches: Watch[] = [];
  private nextWatchId = 1;
  private waves: WaveState[] = [];
  private pins = new Map<string, number>();
  private pwm = new Map<string, { value: number; freq: number }>();
  private listeners = new WeakMap<object, Map<string, Fn[]>>();
  private emitterObjects: object[] = [];
  private services: Map<string, Map<string, CharState>> = new Map();
  private pendingServices: { defs: unknown; options: unknown } | null = null;
  private uart = true;
  private advertise: string[] = [];
  private advName: string;
  private errorFlags = new Set<string>();
  private watchdog: { timeoutMs: number; auto: boolean; lastKick: number } | null = null;
  private readonly k: {
    c: number;
    l: number;
    x: () => void;
    scope: (getter: () => Record<string, unknown>) => void;
    p: (getter: () => Record<string, unknown>, parent: () => Record<string, unknown>) => void;
    m: (obj: object, getter: () => Record<string, unknown>, keys: string[]) => object;
    k: (cls: object, getter: () => Record<string, unknown>, proto: string[], statics: string[]) => object;
    t: (fn: object, getter: (() => Record<string, unknown>) | undefined, self?: () => unknown) => object;
  };
  /** Closure -> getter of the scope it was created in (instrument.ts), for the JsVar walk. */
  private fnScopes = new WeakMap<object, () => Record<string, unknown>>();
  /** Arrow function -> thunk of the `this` it captured (instrument.ts), for the JsVar walk. */
  private fnThis = new WeakMap<object, () => unknown>();
  /** Scope getter -> the getter of the enclosing function's scope (the scope chain, instrument.ts). */
  private scopeParent = new WeakMap<object, () => Record<string, unknown>>();
  /** Bound function -> what `bind` made it from, for the JsVar walk. */
  private bound = new WeakMap<object, BoundInfo>();
  private jobStart = 0;
  private jobActive = false;
  private scopes: (() => Record<string, unknown>)[] = [];
  private opaque = new Set<unknown>();
  private initialGlobals = new Set<string>();
  private memLast = 0;
  private memAllocSince = 0;
  private readonly builtins: {
    Uint8Array: Uint8ArrayConstructor;
    Uint16Array: Uint16ArrayConstructor;
    ArrayBuffer: ArrayBufferConstructor;
    Error: ErrorConstructor;
    TypeError: TypeErrorConstructor;
    Object: ObjectConstructor;
    JSON: JSON;
  };
  private readonly hwRand: () => number;
  private halted = false;

  constructor(
    readonly config: DeviceConfig,
    private readonly mic: MicSource,
    /** Console lines (shared across power cycles by the owner). */
    readonly logs: string[],
    /** Speaker samples played (8-bit unsigned), in order; appended to by the DAC. */
    private readonly speaker: { push(v: number): void },
  ) {
    this.advName = config.defaultName;
    this.hwRand = mulberry32(config.seed ^ 0x5eed);
    this.link = new LinkModel(
      {
        packetsPerInterval: config.packetsPerInterval,
        queueDepth: config.queueDepth,
        dropRate: config.dropRate,
        intervalMs: config.intervalMs,
        seed: config.seed,
      },
      config.deviceMaxMtu,
      {
        at: (t, fn) => this.at(t, fn),
        deliverWrite: (uuid, data) => this.deliverWrite(uuid, data),
      },
    );
    this.k = {
      c: 0,
      l: Infinity,
      x: () => this.limitHit(),
      scope: (g) => {
        this.scopes.push(g);
      },
      p: (g, parent) => {
        this.scopeParent.set(g, parent);
      },
      m: (obj, g, keys) => {
        this.tagMethods(obj, g, keys);
        return obj;
      },
      k: (cls, g, proto, statics) => {
        if (typeof cls !== 'function') return cls;
        this.fnScopes.set(cls, g);
        const p = (cls as { prototype?: unknown }).prototype;
        if (typeof p === 'object' && p !== null) this.tagMethods(p, g, proto);
        this.tagMethods(cls, g, statics);
        return cls;
      },
      t: (fn, g, self) => {
        if ((typeof fn === 'function' || typeof fn === 'object') && fn !== null) {
          if (g !== undefined) this.fnScopes.set(fn, g);
          if (self !== undefined) this.fnThis.set(fn, self);
        }
        return fn;
      },
    };
    this.ctx = vm.createContext({}, { name: `espruino:${config.board}` });
    this.builtins = vm.runInContext(
      '({Uint8Array, Uint16Array, ArrayBuffer, Error, TypeError, Object, JSON})',
      this.ctx,
    ) as Device['builtins'];
    this.removeMissingFeatures();
    this.installGlobals();
    this.recordBinds();
    for (const name of Object.getOwnPropertyNames(this.ctx)) this.initialGlobals.add(name);
    this.collectOpaque();
  }

  // ---------------------------------------------------------------------------------------------
  // The language surface: remove what Espruino lacks (ESPRUINO.md table, right column).

  private removeMissingFeatures(): void {
    vm.runInContext(
      `(function(){
        var g = globalThis;
        ['Map','Set','WeakMap','WeakSet','WeakRef','FinalizationRegistry','Proxy','Reflect','Symbol','BigInt',
         'BigInt64Array','BigUint64Array','SharedArrayBuffer','Atomics','WebAssembly','Intl','AggregateError',
         'escape','unescape','EvalError','URIError'].forEach(function(n){ delete g[n]; });
        delete Array.from; delete Array.of;
        ['flat','flatMap','at','findLast','findLastIndex','toReversed','toSorted','toSpliced','with','copyWithin']
          .forEach(function(n){ delete Array.prototype[n]; });
        delete Number.isInteger; delete Number.isSafeInteger;
        ['imul','clz32','trunc','fround','hypot','log2','log10','log1p','expm1','cbrt','sinh','cosh','tanh',
         'asinh','acosh','atanh'].forEach(function(n){ delete Math[n]; });
        delete Object.freeze; delete Object.isFrozen; delete Object.seal; delete Object.isSealed;
        delete Promise.race; delete Promise.allSettled; delete Promise.any;
        delete String.raw;
        delete ArrayBuffer.prototype.slice;
        var TA = Object.getPrototypeOf(Uint8Array);
        var kinds = [Uint8Array, Int8Array, Uint8ClampedArray, Uint16Array, Int16Array, Uint32Array, Int32Array,
                     Float32Array, Float64Array];
        kinds.forEach(function(K){ delete K.BYTES_PER_ELEMENT; delete K.prototype.BYTES_PER_ELEMENT; });
        delete TA.from; delete TA.of;
        // Espruino: typed slice()/filter() return a plain Array.
        var sl = TA.prototype.slice, fi = TA.prototype.filter;
        Object.defineProperty(TA.prototype, 'slice', { writable: true, configurable: true,
          value: function(a, b){ var r = sl.call(this, a, b), o = []; for (var i = 0; i < r.length; i++) o.push(r[i]); return o; } });
        Object.defineProperty(TA.prototype, 'filter', { writable: true, configurable: true,
          value: function(f, t){ var r = fi.call(this, f, t), o = []; for (var i = 0; i < r.length; i++) o.push(r[i]); return o; } });
        // Espruino: out-of-range DataView reads return 0 instead of throwing.
        ['getInt8','getUint8','getInt16','getUint16','getInt32','getUint32','getFloat32','getFloat64'].forEach(function(m){
          var orig = DataView.prototype[m];
          Object.defineProperty(DataView.prototype, m, { writable: true, configurable: true,
            value: function(){ try { return orig.apply(this, arguments); } catch (e) { if (e instanceof RangeError) return 0; throw e; } } });
        });
        // Espruino: at most 256 arguments to any call made with apply().
        var ap = Function.prototype.apply;
        Object.defineProperty(Function.prototype, 'apply', { writable: true, configurable: true,
          value: function(t, a){ if (a && a.length > 256) throw new Error('Too many arguments (' + a.length + ' > 256)'); return ap.call(this, t, a); } });
      })();`,
      this.ctx,
    );
  }

  private collectOpaque(): void {
    const add = (v: unknown): void => {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function') || this.opaque.has(v)) return;
      this.opaque.add(v);
      const p = (v as { prototype?: unknown }).prototype;
      if (p !== undefined) add(p);
      add(Object.getPrototypeOf(v));
    };
    // The realm's built-ins are not properties of the sandbox object: list them from inside.
    const all = vm.runInContext(
      `Object.getOwnPropertyNames(globalThis).map(function (n) {
         var d = Object.getOwnPropertyDescriptor(globalThis, n); return d && 'value' in d ? d.value : undefined; })`,
      this.ctx,
    ) as unknown[];
    for (const v of all) add(v);
    add(this.ctx);
    // Inside the context `globalThis` (the `this` of top-level code) is a proxy, not `this.ctx`.
    add(vm.runInContext('globalThis', this.ctx));
  }

  // ---------------------------------------------------------------------------------------------
  // Globals

  private err(msg: string): Error {
    return new this.builtins.Error(msg);
  }

  private pinName(p: unknown): string {
    if (typeof p === 'string') return p;
    if (typeof p === 'number') return `D${p}`;
    if (p !== null && typeof p === 'object' && typeof (p as PinObj).name === 'string')
      return (p as PinObj).name;
    throw this.err(`Invalid pin: ${String(p)}`);
  }

  /**
   * Wrap every function property of `obj` so that errors thrown by host code (natives.ts, toBytes) reach
   * the program as errors of its own realm (so `e instanceof Error` holds there, as on the device).
   */
  private realmify<T extends Record<string, unknown>>(obj: T): T {
    for (const k of Object.keys(obj)) {
      const f = obj[k];
      if (typeof f !== 'function') continue;
      const self = this;
      (obj as Record<string, unknown>)[k] = function (this: unknown, ...args: unknown[]) {
        try {
          return (f as Fn).apply(this, args);
        } catch (e) {
          if (e instanceof Interrupt || !(e instanceof Error)) throw e;
          const Ctor = e instanceof TypeError ? self.builtins.TypeError : self.builtins.Error;
          throw new Ctor(e.message);
        }
      };
    }
    return obj;
  }

  private charge(units: number): void {
    this.k.c += units;
  }

  private makeEmitter(obj: Record<string, unknown>): void {
    this.emitterObjects.push(obj);
    const self = this;
    obj.on = function (this: object, evt: unknown, fn: unknown) {
      if (typeof fn !== 'function') throw self.err('Expecting a function');
      let m = self.listeners.get(this);
      if (!m) self.listeners.set(this, (m = new Map()));
      const list = m.get(String(evt)) ?? [];
      list.push(fn as Fn);
      m.set(String(evt), list);
    };
    obj.addListener = obj.on;
    obj.removeListener = function (this: object, evt: unknown, fn: unknown) {
      const list = self.listeners.get(this)?.get(String(evt));
      if (!list) return;
      const i = list.indexOf(fn as Fn);
      if (i >= 0) list.splice(i, 1);
    };
    obj.removeAllListeners = function (this: object, evt?: unknown) {
      const m = self.listeners.get(this);
      if (!m) return;
      if (evt === undefined) m.clear();
      else m.delete(String(evt));
    };
    obj.emit = function (this: object, evt: unknown, ...args: unknown[]) {
      // Espruino queues emitted events for the idle loop.
      self.emitLater(this, String(evt), args, 'emit');
    };
  }

  private listenersOf(obj: object, evt: string): Fn[] {
    return (this.listeners.get(obj)?.get(evt) ?? []).slice();
  }

  /** Queue every listener of `evt` as a job (Espruino's jsiQueueObjectCallbacks). */
  private emitLater(obj: object, evt: string, args: unknown[], kind: string, extra?: Partial<Job>): void {
    for (const fn of this.listenersOf(obj, evt)) this.jobs.push({ fn, args, thisArg: obj, kind, ...extra });
  }

  private installGlobals(): void {
    const g = this.ctx as Record<string, unknown>;
    const self = this;
    const define = (name: string, v: unknown): void => {
      Object.defineProperty(g, name, { value: v, writable: true, configurable: true, enumerable: false });
    };
    define('global', g);
    // Deterministic Math.random (Espruino's is a hardware RNG; tests need repeatable runs).
    const rnd = mulberry32(this.config.seed);
    (vm.runInContext('Math', this.ctx) as { random: () => number }).random = () => rnd();

    // Pins
    const pinNames: string[] = [];
    for (let i = 0; i < 48; i++) pinNames.push(`D${i}`);
    for (let i = 0; i < 8; i++) pinNames.push(`A${i}`);
    pinNames.push('LED', 'LED1', 'LED2', 'LED3', 'LED4', 'BTN', 'BTN1', 'BTN2', 'BTN3', 'BTN4');
    pinNames.push('MIC', 'MIC_ENABLE', 'SPEAKER');
    // micro:bit v2: port H (H3 speaker, H4 mic, H5 mic enable); Thingy:52: IO-expander pins V0..V15
    for (let i = 0; i < 9; i++) pinNames.push(`H${i}`);
    for (let i = 0; i < 16; i++) pinNames.push(`V${i}`);
    const PinCtor = function Pin(this: PinObj, name: string) {
      this.name = name;
    } as unknown as { new (n: string): PinObj; prototype: Record<string, unknown> };
    PinCtor.prototype.toString = function (this: PinObj) {
      return this.name;
    };
    PinCtor.prototype.write = function (this: PinObj, v: unknown) {
      self.writePin(this.name, v ? 1 : 0);
    };
    PinCtor.prototype.set = function (this: PinObj) {
      self.writePin(this.name, 1);
    };
    PinCtor.prototype.reset = function (this: PinObj) {
      self.writePin(this.name, 0);
    };
    PinCtor.prototype.read = function (this: PinObj) {
      return self.readPin(this.name);
    };
    PinCtor.prototype.mode = function () {};
    define('Pin', PinCtor);
    for (const n of pinNames) define(n, new PinCtor(n));
    this.pins.set(this.config.button, this.config.buttonActiveLow ? 1 : 0);

    define('digitalWrite', (pin: unknown, v: unknown) => {
      if (Array.isArray(pin)) {
        // Espruino: digitalWrite([a,b,c], value) writes bits MSB first
        const n = Number(v);
        pin.forEach((p, i) => self.writePin(self.pinName(p), (n >> (pin.length - 1 - i)) & 1));
        return;
      }
      self.writePin(self.pinName(pin), v ? 1 : 0);
    });
    define('digitalRead', (pin: unknown) => self.readPin(self.pinName(pin)));
    define('digitalPulse', () => {});
    define('pinMode', () => {});
    define('analogWrite', (pin: unknown, value: unknown, options?: { freq?: number }) => {
      const v = Number(value);
      if (!(v >= 0 && v <= 1)) throw self.err('Value must be between 0 and 1');
      self.pwm.set(self.pinName(pin), {
        value: v,
        freq: options && options.freq ? Number(options.freq) : 1000,
      });
    });
    define('analogRead', (pin: unknown) => {
      self.pinName(pin);
      return 0.5; // a floating pin; the microphone is only sampled through Waveform
    });
    define('getTime', () => self.deviceTime() / 1000);

    // Reset / load / save: handled after the current execution, like Espruino's idle-loop TODOs.
    define('reset', (clearFlash?: unknown) => {
      if (clearFlash)
        for (const k of [...self.config.storage.keys()]) if (/^\.boot/.test(k)) self.config.storage.delete(k);
      self.requestReboot('reset()', { kind: 'none' });
    });
    define('load', (file?: unknown) => {
      self.requestReboot(
        `load(${file === undefined ? '' : JSON.stringify(file)})`,
        file === undefined ? { kind: 'boot' } : { kind: 'file', name: String(file) },
      );
    });
    define('save', () => {
      self.print('[sim] save() is not supported: write code to Storage (.bootcde) instead\n');
    });

    // Timers
    const addTimer = (fn: unknown, ms: unknown, args: unknown[], repeat: boolean): number => {
      if (typeof fn !== 'function') throw self.err('Function or String not supplied!');
      let d = Number(ms);
      if (!(d >= 0)) d = 0;
      const id = self.nextTimerId++;
      self.timers.push({
        id,
        time: self.deviceTime() + d,
        interval: repeat ? Math.max(d, 0.1) : null,
        fn: fn as Fn,
        args,
      });
      return id;
    };
    define('setTimeout', (fn: unknown, ms: unknown, ...args: unknown[]) => addTimer(fn, ms, args, false));
    define('setInterval', (fn: unknown, ms: unknown, ...args: unknown[]) => addTimer(fn, ms, args, true));
    const clear = (id?: unknown): void => {
      if (id === undefined) {
        self.timers = [];
        self.timerJobs = [];
        return;
      }
      const i = self.timers.findIndex((t) => t.id === id);
      const pendingRun = self.timerJobs.findIndex((j) => j.timerId === id);
      if (pendingRun >= 0) self.timerJobs.splice(pendingRun, 1);
      if (i < 0) {
        if (pendingRun >= 0) return;
        throw self.err(`Unknown Timeout ${String(id)}`);
      }
      self.timers.splice(i, 1);
    };
    define('clearTimeout', clear);
    define('clearInterval', clear);
    define('changeInterval', (id: unknown, ms: unknown) => {
      const t = self.timers.find((x) => x.id === id);
      if (!t) throw self.err(`Unknown Interval ${String(id)}`);
      t.interval = Math.max(Number(ms), 0.1);
      t.time = self.deviceTime() + t.interval;
    });

    // Watches
    define('setWatch', (fn: unknown, pin: unknown, options?: unknown) => {
      if (typeof fn !== 'function') throw self.err('Function or String not supplied!');
      const o = (options ?? {}) as { repeat?: boolean; edge?: unknown; debounce?: number };
      let edge: Watch['edge'] = 'both';
      if (o.edge === 'rising' || o.edge === 1) edge = 'rising';
      else if (o.edge === 'falling' || o.edge === -1) edge = 'falling';
      const id = self.nextWatchId++;
      self.watches.push({
        id,
        pin: self.pinName(pin),
        fn: fn as Fn,
        repeat: !!o.repeat,
        edge,
        debounce: o.debounce === undefined ? 0 : Number(o.debounce),
        lastTime: self.deviceTime() / 1000,
        lastState: self.readPin(self.pinName(pin)) === 1,
        pendingState: false,
        pendingEdge: 0,
        pendingToken: 0,
      });
      return id;
    });
    define('clearWatch', (id?: unknown) => {
      if (id === undefined) self.watches = [];
      else self.watches = self.watches.filter((w) => w.id !== id);
    });

    // Console / UART
    const format = (args: unknown[]): string =>
      args
        .map((a) => {
          if (typeof a === 'string') return a;
          try {
            return this.builtins.JSON.stringify(a) ?? String(a);
          } catch {
            return String(a);
          }
        })
        .join(' ');
    const consoleObj = { log: (...a: unknown[]) => self.print(format(a) + '\n') };
    define('console', consoleObj);
    define('print', (...a: unknown[]) => self.print(format(a) + '\n'));
    const bt: Record<string, unknown> = {
      write: (...a: unknown[]) =>
        self.uartWrite(a.map((x) => (typeof x === 'string' ? x : eToString([x]))).join('')),
      print: (s: unknown) => self.uartWrite(String(s)),
      println: (s: unknown) => self.uartWrite(String(s) + '\r\n'),
    };
    this.makeEmitter(bt);
    define('Bluetooth', bt);

    define('atob', (s: unknown) => globalThis.atob(String(s)));
    define('btoa', (s: unknown) => globalThis.btoa(String(s)));

    // E
    const E: Record<string, unknown> = {
      sum: (a: unknown) => {
        self.chargeArray(a);
        return eSum(a);
      },
      variance: (a: unknown, m: unknown) => {
        self.chargeArray(a);
        return eVariance(a, m);
      },
      convolve: (a: unknown, b: unknown, off: unknown) => {
        self.chargeArray(a);
        return eConvolve(a, b, off);
      },
      mapInPlace: (from: unknown, to: unknown, map: unknown, bits: unknown) => {
        self.chargeArray(from);
        eMapInPlace(from, to, map, bits, (fn, v) => fn(v));
      },
      FFT: (re: unknown, im: unknown, inv: unknown) => {
        const n = (re as { length?: number })?.length ?? 0;
        self.charge(n * Math.max(1, Math.log2(Math.max(n, 2))) * NATIVE_COST_PER_ELEMENT * 4);
        eFFT(re, im, inv);
      },
      CRC32: (d: unknown) => {
        self.chargeArray(d);
        return eCrc32(d);
      },
      toString: (...a: unknown[]) => {
        const s = eToString(a);
        self.allocating(Math.ceil(s.length / self.config.blocksize) + 1);
        return s;
      },
      toUint8Array: (...a: unknown[]) => {
        const s = eToString(a);
        const u = new self.builtins.Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
        return u;
      },
      clip: (x: unknown, lo: unknown, hi: unknown) => Math.min(Math.max(Number(x), Number(lo)), Number(hi)),
      interpolate: (a: unknown, i: unknown) => {
        const arr = a as ArrayLike<number>;
        const x = Number(i);
        const i0 = Math.max(0, Math.min(arr.length - 1, Math.floor(x)));
        const i1 = Math.min(arr.length - 1, i0 + 1);
        const f = x - Math.floor(x);
        return arr[i0]! * (1 - f) + arr[i1]! * f;
      },
      hwRand: () => (self.hwRand() * 4294967296) | 0,
      getTemperature: () => 25,
      getBattery: () => 100,
      getAnalogVRef: () => 3.3,
      enableWatchdog: (timeout: unknown, isAuto?: unknown) => {
        const t = Number(timeout);
        if (!(t > 0)) throw self.err('Invalid timeout');
        self.watchdog = {
          timeoutMs: t * 1000,
          auto: isAuto === undefined || !!isAuto,
          lastKick: self.deviceTime(),
        };
        if (!self.watchdog.auto) self.scheduleWatchdog();
      },
      kickWatchdog: () => {
        if (self.watchdog) {
          self.watchdog.lastKick = self.deviceTime();
          if (!self.watchdog.auto) self.scheduleWatchdog();
        }
      },
      getSizeOf: (v: unknown, depth?: unknown) =>
        self.sizeOf(v, depth === undefined ? Infinity : Number(depth)),
      getErrorFlags: () => {
        const a = Array.from(self.errorFlags);
        self.errorFlags.clear();
        return vm.runInContext(`(${JSON.stringify(a)})`, self.ctx);
      },
      reboot: () => {
        self.requestReboot('E.reboot()', { kind: 'boot' });
        throw new Interrupt('reboot');
      },
      setBootCode: (code: unknown) => {
        const bytes = toBytes(code === undefined ? '' : String(code), 'E.setBootCode');
        self.config.storage.set('.bootcde', bytes);
      },
      setFlags: () => {},
      getFlags: () => ({}),
      setConsole: () => {},
      kickWatchdogTimer: undefined,
    };
    delete E.kickWatchdogTimer;
    this.realmify(E);
    this.makeEmitter(E);
    define('E', E);

    // process
    define('process', {
      version: ESPRUINO_VERSION,
      env: { VERSION: ESPRUINO_VERSION, BOARD: this.config.board.toUpperCase() },
      memory: (gc?: unknown) => {
        void gc;
        const usage = self.measure();
        return {
          free: self.config.jsVars - usage,
          usage,
          total: self.config.jsVars,
          history: 0,
          gc: 0,
          gctime: 0,
          blocksize: self.config.blocksize,
          stackFree: 4000,
        };
      },
      on: () => {},
    });

    // require
    define('require', (name: unknown) => {
      if (name === 'Storage') return self.realmify(self.storageModule());
      throw self.err(`Module ${String(name)} not found`);
    });

    // Waveform
    define('Waveform', this.waveformClass());

    // NRF
    define('NRF', this.realmify(this.nrfObject()));

    // Typed array allocations are charged against the heap as they happen (OOM detection).
    this.wrapTypedArrays();
  }

  /** Methods and accessors of an object literal or class (instrument.ts): the scope they close over. */
  private tagMethods(obj: object, g: () => Record<string, unknown>, keys: string[]): void {
    for (const key of keys) {
      const d = Object.getOwnPropertyDescriptor(obj, key);
      if (d === undefined) continue;
      for (const f of [d.value, d.get, d.set] as unknown[])
        if (typeof f === 'function' && !this.fnScopes.has(f)) this.fnScopes.set(f, g);
    }
  }

  /** `fn.bind(thisArg, ...args)`: remember the target, thisArg and arguments a bound function holds
   * (V8's bound functions hide them; Espruino's copy them into the new function). */
  private recordBinds(): void {
    vm.runInContext(
      `(function(rec){
        var FP = Function.prototype, nativeBind = FP.bind, slice = [].slice;
        Object.defineProperty(FP, 'bind', { writable: true, configurable: true,
          value: function bind(thisArg) {
            var b = FP.apply.call(nativeBind, this, arguments);
            rec(b, this, thisArg, slice.call(arguments, 1));
            return b;
          } });
      })`,
      this.ctx,
    )((b: object, target: object, thisArg: unknown, args: unknown[]) => {
      this.bound.set(b, { target, thisArg, args });
    });
  }

  private wrapTypedArrays(): void {
    vm.runInContext(
      `(function(hook){
        var g = globalThis;
        ['Uint8Array','Int8Array','Uint8ClampedArray','Uint16Array','Int16Array','Uint32Array','Int32Array',
         'Float32Array','Float64Array','ArrayBuffer'].forEach(function(name){
          var K = g[name];
          var W = function(a, b, c){
            if (!new.target) throw new TypeError("Constructor " + name + " requires 'new'");
            var r = arguments.length === 0 ? new K() : arguments.length === 1 ? new K(a) : arguments.length === 2 ? new K(a, b) : new K(a, b, c);
            hook(r, typeof a === 'object' && a !== null && !(a instanceof ArrayBuffer) ? 1 : 0);
            return r;
          };
          W.prototype = K.prototype;
          Object.defineProperty(K.prototype, 'constructor', { value: W, writable: true, configurable: true });
          Object.setPrototypeOf(W, Object.getPrototypeOf(K));
          Object.defineProperty(W, 'name', { value: name });
          g[name] = W;
        });
        var TA = Object.getPrototypeOf(Uint8Array.prototype);
        var set = TA.set, fill = TA.fill;
        Object.defineProperty(TA, 'set', { writable: true, configurable: true,
          value: function(src, off){ hook.charge(src && src.length || 0); return set.call(this, src, off); } });
        Object.defineProperty(TA, 'fill', { writable: true, configurable: true,
          value: function(v, a, b){ hook.charge(this.length); return fill.call(this, v, a, b); } });
      })`,
      this.ctx,
    )(
      Object.assign(
        (r: ArrayBufferView | ArrayBuffer, copied: number) => {
          const bytes = r.byteLength;
          if (copied) this.charge(bytes * NATIVE_COST_PER_ELEMENT);
          this.allocating(2 + Math.ceil(bytes / this.config.blocksize) + 1);
        },
        { charge: (n: number) => this.charge(n * NATIVE_COST_PER_ELEMENT) },
      ),
    );
  }

  private chargeArray(a: unknown): void {
    const n = (a as { length?: unknown })?.length;
    if (typeof n === 'number') this.charge(n * NATIVE_COST_PER_ELEMENT);
  }

  // ---------------------------------------------------------------------------------------------
  // Memory

  /** JsVars in use now: a walk of the reachable heap (see memory.ts). */
  measure(): number {
    const c = this.counter();
    let n = BASELINE_JSVARS;
    const g = this.ctx as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(g)) {
      if (this.initialGlobals.has(name) && g[name] === this.initialValue(name)) continue;
      const d = Object.getOwnPropertyDescriptor(g, name);
      if (d && 'value' in d) n += c.slot(name, d.value);
    }
    for (const s of this.scopes) n += c.scope(s);
    for (const t of this.timers)
      n += 6 + c.value(t.fn) + t.args.reduce<number>((a, v) => a + c.slot(0, v), 0);
    for (const w of this.watches) n += 6 + c.value(w.fn);
    for (const obj of this.emitterObjects) {
      const m = this.listeners.get(obj);
      if (!m) continue;
      for (const [evt, list] of m) for (const fn of list) n += c.slot(`#on${evt}`, fn);
    }
    for (const w of this.waves) n += c.value(w.obj);
    for (const svc of this.services.values())
      for (const ch of svc.values()) if (ch.onWrite) n += 2 + c.value(ch.onWrite);
    this.memLast = n;
    this.memAllocSince = 0;
    return n;
  }

  private initialValues = new Map<string, unknown>();
  private initialValue(name: string): unknown {
    return this.initialValues.get(name);
  }

  /** Remember the values of the sim's own globals (so a firmware reassigning one is counted). */
  snapshotInitialGlobals(): void {
    const g = this.ctx as Record<string, unknown>;
    for (const name of this.initialGlobals) this.initialValues.set(name, g[name]);
  }

  private memoryModel(): MemoryModel {
    return { blocksize: this.config.blocksize, code: this.config.code };
  }

  sizeOf(v: unknown, depth: number): number {
    return this.counter().value(v, depth) || 1;
  }

  private counter(): JsVarCounter {
    return new JsVarCounter(this.memoryModel(), this.opaque, (fn) => this.fnScopes.get(fn), {
      thisOf: (fn) => this.fnThis.get(fn),
      boundOf: (fn) => this.bound.get(fn),
      parentOf: (g) => this.scopeParent.get(g),
    });
  }

  /** An allocation of `vars` JsVars is about to happen: OUT OF MEMORY if it cannot fit. */
  private allocating(vars: number): void {
    if (!this.jobActive) return;
    this.memAllocSince += vars;
    if (this.memLast + this.memAllocSince <= this.config.jsVars) return;
    const live = this.measure();
    if (live + vars > this.config.jsVars) this.outOfMemory();
    this.memAllocSince += vars;
  }

  private outOfMemory(): never {
    this.stats.outOfMemory++;
    this.errorFlags.add('MEMORY');
    this.print('ERROR: Out of Memory!\n');
    this.k.l = -Infinity; // every further statement of this job re-throws: execution interrupted
    throw new Interrupt('Out of Memory!');
  }

  private limitHit(): void {
    if (this.k.l === -Infinity) throw new Interrupt('interrupted');
    // Cost limit: the job ran far longer than any real handler could.
    const ms = this.k.c / COST_UNITS_PER_MS;
    if (this.watchdog) {
      this.requestWatchdogReset(`handler ran ${ms.toFixed(0)} ms without returning`);
    } else {
      this.print(`[sim] device hung: a job ran ${ms.toFixed(0)} ms of device time; interrupted\n`);
    }
    this.k.l = -Infinity;
    throw new Interrupt('hung');
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  print(s: string): void {
    for (const line of s.replace(/\n$/, '').split('\n')) this.logs.push(line);
    if (this.uart && this.link.connected) this.uartNotify(s.replace(/\n/g, '\r\n'));
  }

  private uartWrite(s: string): void {
    for (const line of s.replace(/\r?\n$/, '').split(/\r?\n/)) this.logs.push(line);
    if (this.uart && this.link.connected) this.uartNotify(s);
  }

  private uartNotify(s: string): void {
    const bytes = toBytes(s, 'Bluetooth.write');
    const p = Math.min(20, this.link.payload);
    for (let i = 0; i < bytes.length; i += p)
      this.link.notify(NUS_TX, bytes.subarray(i, i + p), this.deviceTime());
  }

  // ---------------------------------------------------------------------------------------------
  // Pins and button

  private writePin(name: string, v: number): void {
    this.pins.set(name, v);
    if (/^LED/.test(name)) this.leds.set(name, v);
  }

  private readPin(name: string): number {
    return this.pins.get(name) ?? 0;
  }

  /** An external level change on a pin (the button), at device time `t`. */
  setPinLevel(name: string, level: number, t: number): void {
    const prev = this.readPin(name);
    if (prev === level) return;
    this.pins.set(name, level);
    for (const w of this.watches.slice()) {
      if (w.pin !== name) continue;
      if (w.debounce <= 0) {
        this.fireWatch(w, level === 1, t);
        continue;
      }
      // Espruino's debounce: each edge (re)starts a timeout; when it expires the pin's state then is
      // reported with the time of the last edge, if it passes the edge filter and changed.
      w.pendingState = level === 1;
      w.pendingEdge = t;
      const token = ++w.pendingToken;
      this.at(t + w.debounce, () => {
        if (w.pendingToken !== token || !this.watches.includes(w)) return;
        if (w.pendingState !== w.lastState) this.fireWatch(w, w.pendingState, w.pendingEdge);
      });
    }
  }

  private fireWatch(w: Watch, state: boolean, t: number): void {
    w.lastState = state;
    if (w.edge === 'rising' && !state) return;
    if (w.edge === 'falling' && state) return;
    const time = t / 1000;
    const lastTime = w.lastTime;
    w.lastTime = time;
    const e = this.builtins.Object.assign(new this.builtins.Object(), { state, time, lastTime });
    this.jobs.push({ fn: w.fn, args: [e], thisArg: undefined, kind: 'watch' });
    if (!w.repeat) this.watches = this.watches.filter((x) => x !== w);
  }

  // ---------------------------------------------------------------------------------------------
  // Storage

  private storageModule(): Record<string, unknown> {
    const self = this;
    const files = this.config.storage;
    const checkName = (name: unknown): string => {
      if (typeof name !== 'string' || name.length === 0) throw self.err('Invalid filename');
      if (name.length > 28) throw self.err(`File name too long (${name.length} > 28)`);
      return name;
    };
    const used = (): number => {
      let n = 0;
      for (const v of files.values()) n += v.length + 32;
      return n;
    };
    const str = (u: Uint8Array): string => {
      let s = '';
      for (let i = 0; i < u.length; i += 4096) s += String.fromCharCode(...u.subarray(i, i + 4096));
      return s;
    };
    return {
      read: (name: unknown, offset?: unknown, length?: unknown) => {
        const f = files.get(checkName(name));
        if (!f) return undefined;
        const o = offset === undefined ? 0 : Number(offset);
        const l = length === undefined ? f.length - o : Number(length);
        return str(f.subarray(o, o + l));
      },
      readArrayBuffer: (name: unknown) => {
        const f = files.get(checkName(name));
        if (!f) return undefined;
        const ab = new self.builtins.ArrayBuffer(f.length);
        new self.builtins.Uint8Array(ab).set(f);
        return ab;
      },
      readJSON: (name: unknown, noExceptions?: unknown) => {
        const f = files.get(checkName(name));
        if (!f) return undefined;
        try {
          return self.builtins.JSON.parse(str(f));
        } catch (e) {
          if (noExceptions) return undefined;
          throw self.err(`JSON parse error in ${String(name)}: ${(e as Error).message}`);
        }
      },
      write: (name: unknown, data: unknown, offset?: unknown, size?: unknown) => {
        const n = checkName(name);
        const bytes = toBytes(data, 'Storage.write');
        if (offset === undefined || offset === null) {
          if (used() - (files.get(n)?.length ?? 0) + bytes.length > self.config.storageBytes)
            throw self.err('Not enough free space in Storage');
          files.set(n, bytes);
          return true;
        }
        const o = Number(offset);
        let f = files.get(n);
        if (size !== undefined) {
          const sz = Number(size);
          if (used() + sz > self.config.storageBytes) throw self.err('Not enough free space in Storage');
          f = new Uint8Array(sz).fill(0xff);
          files.set(n, f);
        }
        if (!f) throw self.err(`Storage.write: file ${n} does not exist: give a size with the first chunk`);
        if (o + bytes.length > f.length) throw self.err('Too much data for file size');
        f.set(bytes, o);
        return true;
      },
      writeJSON: (name: unknown, data: unknown) => {
        const n = checkName(name);
        files.set(n, toBytes(self.builtins.JSON.stringify(data) ?? 'undefined', 'Storage.writeJSON'));
        return true;
      },
      erase: (name: unknown) => {
        files.delete(checkName(name));
      },
      eraseAll: () => files.clear(),
      list: (re?: unknown) => {
        const names = [...files.keys()].filter((k) =>
          re && tagOf(re) === 'RegExp' ? (re as RegExp).test(k) : true,
        );
        return vm.runInContext(`(${JSON.stringify(names)})`, self.ctx);
      },
      getFree: () => self.config.storageBytes - used(),
      compact: () => {},
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Waveform

  private waveformClass(): unknown {
    const self = this;
    function Waveform(this: Record<string, unknown>, samples: unknown, options?: unknown) {
      if (!new.target) throw self.err("Constructor Waveform requires 'new'");
      const n = Math.floor(Number(samples));
      if (!(n > 0)) throw self.err('Samples must be greater than 0');
      let bits: 8 | 16 = 8;
      let dbl = false;
      if (options !== undefined) {
        if (options === null || typeof options !== 'object')
          throw self.err(`Expecting options to be undefined or an Object, not ${typeof options}`);
        const o = options as { bits?: unknown; doubleBuffer?: unknown };
        dbl = !!o.doubleBuffer;
        const b = o.bits === undefined ? 0 : Number(o.bits);
        if (b !== 0 && b !== 8 && b !== 16) throw self.err('Invalid number of bits');
        if (b === 16) bits = 16;
      }
      const mk = (): Uint8Array | Uint16Array =>
        bits === 16 ? new self.builtins.Uint16Array(n) : new self.builtins.Uint8Array(n);
      self.allocating(2 * (2 + Math.ceil((n * bits) / 8 / self.config.blocksize) + 1) + 4);
      this.buffer = mk();
      if (dbl) this.buffer2 = mk();
      this.running = false;
      Object.defineProperty(this, '__bits', { value: bits, enumerable: false });
    }
    const proto = Waveform.prototype as Record<string, unknown>;
    this.makeEmitter(proto);
    this.emitterObjects.pop();
    const start = function (
      this: Record<string, unknown>,
      input: boolean,
      pin: unknown,
      freq: unknown,
      options?: unknown,
    ) {
      if (this.running) throw self.err('Waveform is already running');
      const pinName = self.pinName(pin);
      if (input && !ANALOG_PINS.has(pinName)) throw self.err(`Pin ${pinName} is not capable of ADC`);
      // Output needs the pin set up with analogWrite first; otherwise the speaker stays silent.
      const audible = input || self.pwm.has(pinName);
      if (!audible)
        self.print(`[sim] Waveform.startOutput on ${pinName} without analogWrite first: no sound\n`);
      const f = Number(freq);
      if (!(f >= 0.001) || !isFinite(f)) throw self.err('Frequency must be above 0.001Hz');
      let startAt = self.deviceTime();
      let repeat = false;
      if (options !== undefined) {
        if (options === null || typeof options !== 'object')
          throw self.err(`Expecting options to be undefined or an Object, not ${typeof options}`);
        const o = options as { time?: unknown; repeat?: unknown };
        const t = Number(o.time);
        if (isFinite(t) && t > 0) startAt = Math.max(startAt, t * 1000);
        repeat = !!o.repeat;
      }
      const buffers = [this.buffer as Uint8Array | Uint16Array];
      if (repeat && this.buffer2) buffers.push(this.buffer2 as Uint8Array | Uint16Array);
      const st: WaveState = {
        obj: this,
        buffers,
        input,
        freq: f,
        repeat,
        start: startAt,
        n: buffers[0]!.length,
        swaps: 0,
        pos: 0,
        seenSwaps: 0,
        running: true,
        finishQueued: false,
        bits: (this as { __bits?: 8 | 16 }).__bits ?? 8,
        audible,
      };
      if (!self.listeners.has(this)) self.listeners.set(this, new Map());
      if (!self.emitterObjects.includes(this)) self.emitterObjects.push(this);
      this.running = true;
      this.freq = f;
      self.waves.push(st);
      self.scheduleSwap(st);
    };
    proto.startInput = function (
      this: Record<string, unknown>,
      pin: unknown,
      freq: unknown,
      options?: unknown,
    ) {
      start.call(this, true, pin, freq, options);
    };
    proto.startOutput = function (
      this: Record<string, unknown>,
      pin: unknown,
      freq: unknown,
      options?: unknown,
    ) {
      start.call(this, false, pin, freq, options);
    };
    proto.stop = function (this: Record<string, unknown>) {
      const st = self.waves.find((w) => w.obj === this && w.running);
      if (!st) throw self.err('Waveform is not running');
      self.progress(st, self.deviceTime());
      self.finishWave(st);
    };
    return Waveform;
  }

  private periodMs(st: WaveState): number {
    return (st.n * 1000) / st.freq;
  }

  private swapTime(st: WaveState, k: number): number {
    return st.start + (k * st.n * 1000) / st.freq;
  }

  private scheduleSwap(st: WaveState): void {
    const k = st.swaps + 1;
    this.at(this.swapTime(st, k), (t) => {
      if (!st.running || st.swaps !== k - 1) return;
      this.progress(st, t);
      st.swaps = k;
      st.pos = 0;
      if (!st.repeat) {
        this.finishWave(st);
        return;
      }
      this.scheduleSwap(st);
    });
  }

  /** Move the ADC/DAC through the current buffer up to device time t. */
  private progress(st: WaveState, t: number): void {
    if (!st.running) return;
    const base = this.swapTime(st, st.swaps);
    const target = Math.max(0, Math.min(st.n, Math.floor(((t - base) * st.freq) / 1000 + 1e-9)));
    const buf = st.buffers[st.swaps % st.buffers.length]!;
    for (let i = st.pos; i < target; i++) {
      if (st.input) {
        const v = this.mic.next(st.freq) & 0xff;
        buf[i] = st.bits === 16 ? v << 8 : v;
      } else {
        const v = buf[i]!;
        if (st.audible) this.speaker.push(st.bits === 16 ? (v >> 8) & 0xff : v & 0xff);
      }
    }
    if (target > st.pos) st.pos = target;
  }

  private finishWave(st: WaveState): void {
    st.running = false;
    st.obj.running = false;
    this.waves = this.waves.filter((w) => w !== st);
    if (!st.finishQueued) {
      st.finishQueued = true;
      this.emitLater(st.obj, 'finish', [st.obj.buffer], 'finish');
    }
  }

  /** The idle loop's Waveform poll (jswrap_waveform_idle): one 'buffer' event per observed change. */
  private pollWaves(): void {
    for (const st of this.waves) {
      if (!st.repeat || st.buffers.length < 2) continue;
      const missed = st.swaps - st.seenSwaps;
      if (missed <= 0) continue;
      if (missed > 1) this.stats.overruns += missed - 1;
      const changed = st.swaps % 2 !== st.seenSwaps % 2;
      st.seenSwaps = st.swaps;
      if (!changed) continue; // an even number of swaps: the device sees no change and emits nothing
      const finished = st.buffers[(st.swaps + 1) % 2]!;
      this.emitLater(st.obj, 'buffer', [finished], 'buffer', {
        periodMs: this.periodMs(st),
        input: st.input,
      });
    }
  }

  private wavesPending(): boolean {
    for (const st of this.waves)
      if (st.repeat && st.buffers.length >= 2 && st.swaps !== st.seenSwaps) return true;
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // NRF

  private nrfObject(): Record<string, unknown> {
    const self = this;
    const nrf: Record<string, unknown> = {
      setServices: (defs: unknown, options?: unknown) => {
        if (self.link.connected) {
          // Espruino restarts the SoftDevice to change services: deferred until disconnect.
          self.pendingServices = { defs, options };
          self.print('[sim] NRF.setServices while connected: applied after disconnect\n');
          return;
        }
        self.applyServices(defs, options);
      },
      updateServices: (updates: unknown) => {
        if (updates === null || typeof updates !== 'object') throw self.err('Expecting an object');
        for (const svcUuid of Object.keys(updates)) {
          const svc = self.services.get(normUuid(svcUuid));
          const chars = (updates as Record<string, Record<string, unknown>>)[svcUuid]!;
          for (const chUuid of Object.keys(chars)) {
            const ch = svc?.get(normUuid(chUuid));
            if (!ch) throw self.err(`Unable to find service/characteristic ${svcUuid}/${chUuid}`);
            const u = chars[chUuid] as { value?: unknown; notify?: unknown; indicate?: unknown };
            if (u.value !== undefined) {
              const bytes = toBytes(u.value, 'NRF.updateServices');
              if (bytes.length > ch.maxLen)
                throw self.err(
                  `Got BLE error 0x7 INVALID_PARAM (value of ${bytes.length} bytes > maxLen ${ch.maxLen})`,
                );
              self.charge(bytes.length * NATIVE_COST_PER_ELEMENT);
              ch.value = bytes;
              if ((u.notify && ch.notify) || (u.indicate && ch.indicate))
                self.link.notify(ch.uuid, bytes, self.deviceTime());
            }
          }
        }
      },
      setConnectionInterval: (v: unknown) => {
        if (typeof v === 'number') self.link.setRequestedInterval(v);
        else if (v === 'auto') self.link.setRequestedInterval(null);
        else if (v && typeof v === 'object') {
          const o = v as { minInterval?: number; maxInterval?: number };
          self.link.setRequestedInterval(Number(o.maxInterval ?? o.minInterval ?? 7.5));
        }
      },
      setAdvertising: (data: unknown, options?: unknown) => {
        const o = (options ?? {}) as { name?: unknown };
        if (typeof o.name === 'string') self.advName = o.name;
        void data;
      },
      getAdvertisingData: () => undefined,
      setTxPower: () => {},
      setSecurity: () => {},
      getSecurityStatus: () => ({
        connected: self.link.connected,
        encrypted: false,
        mitm_protected: false,
        bonded: false,
      }),
      setWhitelist: () => {},
      disconnect: () => {
        if (self.link.connected) self.at(self.deviceTime() + 1, () => self.disconnectCentral('remote', 22));
      },
      sleep: () => {},
      wake: () => {},
      restart: () => {},
      getAddress: () => '',
      getBattery: () => 3.0,
    };
    this.makeEmitter(nrf);
    return nrf;
  }

  private applyServices(defs: unknown, options: unknown): void {
    this.services.clear();
    const o = (options ?? {}) as { uart?: unknown; advertise?: unknown };
    this.uart = o.uart === undefined ? true : !!o.uart;
    this.advertise = Array.isArray(o.advertise) ? o.advertise.map((u) => normUuid(String(u))) : [];
    if (defs === null || typeof defs !== 'object') return;
    for (const svcUuid of Object.keys(defs)) {
      const chars = (defs as Record<string, Record<string, unknown>>)[svcUuid]!;
      const m = new Map<string, CharState>();
      for (const chUuid of Object.keys(chars)) {
        const d = chars[chUuid] as {
          value?: unknown;
          maxLen?: unknown;
          readable?: unknown;
          writable?: unknown;
          notify?: unknown;
          indicate?: unknown;
          onWrite?: unknown;
        };
        const value = d.value === undefined ? new Uint8Array(0) : toBytes(d.value, 'NRF.setServices');
        m.set(normUuid(chUuid), {
          uuid: normUuid(chUuid),
          value,
          maxLen: d.maxLen === undefined ? Math.max(1, value.length) : Number(d.maxLen),
          readable: !!d.readable,
          writable: !!d.writable,
          notify: !!d.notify,
          indicate: !!d.indicate,
          onWrite: typeof d.onWrite === 'function' ? (d.onWrite as Fn) : null,
        });
      }
      this.services.set(normUuid(svcUuid), m);
    }
  }

  name(): string {
    return this.advName;
  }

  advertisedServices(): string[] {
    return this.advertise.slice();
  }

  gatt(): SimService[] {
    const out: SimService[] = [];
    for (const [uuid, chars] of this.services) {
      out.push({
        uuid,
        characteristics: [...chars.values()].map((c) => ({
          uuid: c.uuid,
          flags: [
            ...(c.readable ? ['read'] : []),
            ...(c.writable ? ['write', 'write-without-response'] : []),
            ...(c.notify ? ['notify'] : []),
            ...(c.indicate ? ['indicate'] : []),
          ],
        })),
      });
    }
    if (this.uart)
      out.push({
        uuid: NUS_SERVICE,
        characteristics: [
          { uuid: NUS_RX, flags: ['write', 'write-without-response'] },
          { uuid: NUS_TX, flags: ['notify'] },
        ],
      });
    return out;
  }

  private findChar(uuid: string): CharState | undefined {
    const u = normUuid(uuid);
    for (const svc of this.services.values()) {
      const c = svc.get(u);
      if (c) return c;
    }
    return undefined;
  }

  connectCentral(central: SimCentral, mtu: number): void {
    if (this.link.connected) throw new SimError('already-connected', 'already connected');
    this.link.connect(central, mtu, this.now);
    const nrf = (this.ctx as { NRF: object }).NRF;
    this.emitLater(nrf, 'connect', ['aa:bb:cc:dd:ee:ff public'], 'connect');
  }

  /** After reset()/load() the radio keeps its connection: the new program starts connected. */
  adoptConnection(central: SimCentral, mtu: number): void {
    this.link.connect(central, mtu, this.now);
  }

  disconnectCentral(by: 'remote' | 'power-cycle' | 'local', reason = 19): void {
    const c = this.link.disconnect();
    if (!c) return;
    if (by !== 'local') c.onDisconnect(by === 'power-cycle' ? 'power-cycle' : 'remote');
    if (by !== 'power-cycle') {
      const nrf = (this.ctx as { NRF: object }).NRF;
      this.emitLater(nrf, 'disconnect', [reason], 'disconnect');
      if (this.pendingServices) {
        const p = this.pendingServices;
        this.pendingServices = null;
        this.applyServices(p.defs, p.options);
      }
    }
  }

  centralWrite(uuid: string, value: Uint8Array): void {
    if (!this.link.connected) throw new SimError('not-connected', 'not connected');
    const u = normUuid(uuid);
    if (u === NUS_RX && this.uart) {
      this.replInput(value);
      return;
    }
    const ch = this.findChar(u);
    if (!ch) throw new SimError('gatt', `no characteristic ${uuid}`);
    if (!ch.writable) throw new SimError('gatt', `characteristic ${uuid} is not writable`);
    if (value.length > Math.max(ch.maxLen, this.link.payload))
      throw new Error(`write of ${value.length} bytes exceeds ${this.link.payload}`);
    this.link.write(u, value, this.now);
  }

  centralRead(uuid: string): Uint8Array {
    const ch = this.findChar(uuid);
    if (!ch) throw new SimError('gatt', `no characteristic ${uuid}`);
    if (!ch.readable) throw new SimError('gatt', `characteristic ${uuid} is not readable`);
    return new Uint8Array(ch.value);
  }

  private deliverWrite(uuid: string, data: Uint8Array): void {
    const ch = this.findChar(uuid);
    if (!ch) return;
    ch.value = new Uint8Array(data);
    if (!ch.onWrite) return;
    const ab = new this.builtins.ArrayBuffer(data.length);
    new this.builtins.Uint8Array(ab).set(data);
    const evt = this.builtins.Object.assign(new this.builtins.Object(), { data: ab });
    this.jobs.push({ fn: ch.onWrite, args: [evt], thisArg: undefined, kind: 'write' });
  }

  // ---------------------------------------------------------------------------------------------
  // Watchdog

  private scheduleWatchdog(): void {
    const wd = this.watchdog;
    if (!wd || wd.auto) return;
    const due = wd.lastKick + wd.timeoutMs;
    this.at(due, (t) => {
      if (this.watchdog !== wd || wd.lastKick + wd.timeoutMs > t + 1e-9) return;
      this.requestWatchdogReset(`not kicked for ${wd.timeoutMs} ms`);
    });
  }

  requestReboot(why: string, mode: BootMode): void {
    if (this.rebootRequested) return;
    this.rebootRequested = why;
    this.rebootMode = mode;
  }

  private requestWatchdogReset(why: string): void {
    if (this.rebootRequested) return;
    this.stats.watchdogResets++;
    this.logs.push(`[sim] watchdog reset: ${why}`);
    this.requestReboot(`watchdog: ${why}`, { kind: 'boot' });
  }

  // ---------------------------------------------------------------------------------------------
  // Scheduling

  /** Device time as JS sees it: inside a job, the job's start plus the cost it has used so far. */
  deviceTime(): number {
    return this.jobActive ? this.jobStart + this.k.c / COST_UNITS_PER_MS : this.now;
  }

  at(t: number, fn: (now: number) => void): void {
    const ev = { t: Math.max(t, this.now), seq: this.hwSeq++, fn };
    // small queues: insertion keeps them sorted by (t, seq)
    let i = this.hw.length;
    while (
      i > 0 &&
      (this.hw[i - 1]!.t > ev.t || (this.hw[i - 1]!.t === ev.t && this.hw[i - 1]!.seq > ev.seq))
    )
      i--;
    this.hw.splice(i, 0, ev);
  }

  private nextTimerTime(): number {
    let t = Infinity;
    for (const x of this.timers) if (x.time < t) t = x.time;
    return t;
  }

  /** Run the device up to time `tEnd` (ms). */
  runUntil(tEnd: number): void {
    if (this.halted) {
      this.now = Math.max(this.now, tEnd);
      return;
    }
    for (;;) {
      if (this.rebootRequested) return;
      const tHw = this.hw.length > 0 ? this.hw[0]!.t : Infinity;
      const pending = this.jobs.length > 0 || this.passStage !== 'idle' || this.wavesPending();
      const tIdle = Math.max(this.cpuFree, pending ? this.now : Math.max(this.now, this.nextTimerTime()));
      if (Math.min(tHw, tIdle) > tEnd) break;
      if (tHw <= tIdle) {
        const ev = this.hw.shift()!;
        this.now = Math.max(this.now, ev.t);
        ev.fn(ev.t);
        continue;
      }
      this.now = Math.max(this.now, tIdle);
      this.idleIteration();
    }
    this.now = Math.max(this.now, tEnd);
    for (const st of this.waves) this.progress(st, this.now);
  }

  /**
   * One step of Espruino's idle loop (jsiIdle), which runs in passes: every timer due at the start of
   * the pass runs once (an interval adds its period to its time, so one that fell behind runs again
   * in the following passes until it has caught up), then the Waveform poll (jswIdle) queues 'buffer'
   * events, then the event queue runs until empty. One job per call, so hardware events in between
   * are processed at their own times.
   */
  private idleIteration(): void {
    for (const st of this.waves) this.progress(st, this.now);
    if (this.passStage === 'idle') {
      if (this.watchdog && this.watchdog.auto) this.watchdog.lastKick = this.now;
      const due = this.timers.filter((t) => t.time <= this.now).sort((a, b) => a.time - b.time);
      for (const t of due) {
        if (t.interval !== null) t.time += t.interval;
        else this.timers = this.timers.filter((x) => x !== t);
        this.timerJobs.push({ fn: t.fn, args: t.args, thisArg: undefined, kind: 'timer', timerId: t.id });
      }
      this.passStage = 'timers';
    }
    if (this.passStage === 'timers') {
      const j = this.timerJobs.shift();
      if (j) {
        this.runJob(j);
        return;
      }
      this.pollWaves();
      this.passStage = 'events';
    }
    const job = this.jobs.shift();
    if (job) {
      this.runJob(job);
      return;
    }
    this.passStage = 'idle';
  }

  /** Run one JS job at the current time; its cost moves cpuFree. */
  runJob(job: Job): void {
    this.k.c = 0;
    this.k.l =
      this.watchdog && this.watchdog.auto
        ? Math.min(HANG_LIMIT_MS, this.watchdog.timeoutMs) * COST_UNITS_PER_MS
        : HANG_LIMIT_MS * COST_UNITS_PER_MS;
    this.jobStart = this.now;
    this.jobActive = true;
    try {
      job.fn.apply(job.thisArg, job.args);
    } catch (e) {
      this.reportError(e, job.kind);
    } finally {
      this.jobActive = false;
    }
    const cost = this.k.c;
    this.k.c = 0;
    this.k.l = Infinity;
    this.stats.jobs++;
    // Plain objects/arrays/strings are not charged when allocated: walk the heap now and then (and
    // after every job once it is 90% full) and report what the device would have hit on allocation.
    if (this.stats.jobs % 50 === 0 || this.memLast + this.memAllocSince > 0.9 * this.config.jsVars) {
      if (this.measure() > this.config.jsVars && !this.errorFlags.has('MEMORY')) {
        this.stats.outOfMemory++;
        this.errorFlags.add('MEMORY');
        this.print('ERROR: Out of Memory!\n');
      }
    }
    this.stats.totalCost += cost;
    const bk = (this.stats.byKind[job.kind] ??= { jobs: 0, cost: 0, max: 0 });
    bk.jobs++;
    bk.cost += cost;
    if (cost > bk.max) bk.max = cost;
    const ms = cost / COST_UNITS_PER_MS;
    this.cpuFree = this.now + ms;
    if (job.kind === 'buffer') {
      if (cost > this.stats.maxHandlerCost) this.stats.maxHandlerCost = cost;
      if (job.periodMs !== undefined && ms > job.periodMs) this.stats.overruns++;
      if (job.input) {
        this.stats.inputHandlerCost += cost;
        this.stats.inputBuffers++;
      }
    }
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
    (this.ctx as Record<string, unknown>).__$k_init = this.k;
    vm.runInContext('const __$k = __$k_init; delete globalThis.__$k_init;', this.ctx);
    this.snapshotInitialGlobals();
    let ok = true;
    this.runJob({
      fn: () => {
        try {
          script.runInContext(this.ctx);
        } catch (e) {
          ok = false;
          throw e;
        }
      },
      args: [],
      thisArg: undefined,
      kind: 'boot',
    });
    // E.on('init') handlers run after the boot code.
    const E = (this.ctx as { E: object }).E;
    this.emitLater(E, 'init', [], 'init');
    return ok;
  }

  /**
   * Run `code` now as if typed at the REPL (one job, instrumented and charged like any other) and
   * return its completion value. Errors are reported on the console like the REPL does, and rethrown.
   */
  evaluate(code: string): unknown {
    const script = new vm.Script(instrument(code).code, { filename: 'repl' });
    let result: unknown;
    let error: unknown = null;
    this.now = Math.max(this.now, this.cpuFree);
    this.runJob({
      fn: () => {
        try {
          result = script.runInContext(this.ctx);
        } catch (e) {
          error = e;
          throw e;
        }
      },
      args: [],
      thisArg: undefined,
      kind: 'repl',
    });
    if (error !== null) throw error;
    return result;
  }

  private replLine = '';

  /**
   * Nordic UART RX is Espruino's REPL: characters are collected into a line; on Enter the line runs as
   * one job (as the console device event). `\x10` at the start of a line runs it without echo (what
   * EspruinoTools sends); `\x03` (Ctrl-C) clears the line. With echo, the result prints as `=value`.
   */
  private replInput(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (b === 3) {
        this.replLine = '';
        continue;
      }
      if (b !== 10 && b !== 13) {
        this.replLine += String.fromCharCode(b);
        continue;
      }
      if (b === 13) continue;
      let line = this.replLine;
      this.replLine = '';
      const echo = !line.startsWith('\x10');
      if (!echo) line = line.slice(1);
      if (line.trim() === '') continue;
      const self = this;
      this.jobs.push({
        fn: () => {
          if (echo) self.uartWrite(line + '\r\n');
          let script: vm.Script;
          try {
            script = new vm.Script(instrument(line).code, { filename: 'repl' });
          } catch (e) {
            self.print(`Uncaught SyntaxError: ${(e as Error).message}\n`);
            return;
          }
          const r = script.runInContext(self.ctx) as unknown;
          if (echo) self.uartWrite(`=${self.formatValue(r)}\r\n>`);
        },
        args: [],
        thisArg: undefined,
        kind: 'repl',
      });
    }
  }

  private formatValue(v: unknown): string {
    if (v === undefined) return 'undefined';
    if (typeof v === 'function') return 'function () { [code] }';
    if (typeof v === 'string') return JSON.stringify(v);
    try {
      return this.builtins.JSON.stringify(v) ?? String(v);
    } catch {
      return String(v);
    }
  }

  /** Device time when the CPU is next free, and whether JS work is queued. */
  busy(): { until: number; pending: boolean } {
    return { until: this.cpuFree, pending: this.jobs.length > 0 || this.passStage !== 'idle' };
  }

  /** Stop everything (power off). */
  halt(): void {
    this.halted = true;
    const E = (this.ctx as { E: object }).E;
    // 'kill' handlers would run before power-off on a reset(); a power cut runs nothing.
    void E;
    this.hw = [];
    this.jobs = [];
    this.timerJobs = [];
    this.passStage = 'idle';
    this.timers = [];
    this.waves = [];
  }
}

interface CharState {
  uuid: string;
  value: Uint8Array;
  maxLen: number;
  readable: boolean;
  writable: boolean;
  notify: boolean;
  indicate: boolean;
  onWrite: Fn | null;
}

/** nRF52 SAADC inputs AIN0..7 (P0.02-05, P0.28-31) and board aliases for them. */
const ANALOG_PINS = new Set([
  'D2',
  'D3',
  'D4',
  'D5',
  'D28',
  'D29',
  'D30',
  'D31',
  'MIC',
  'H4', // micro:bit v2's microphone (Microbit.MIC)
  ...Array.from({ length: 8 }, (_, i) => `A${i}`),
]);

export const NUS_SERVICE = '6e400001-b5a3-f393-e0a9-e50e24dcca9e';
export const NUS_RX = '6e400002-b5a3-f393-e0a9-e50e24dcca9e';
export const NUS_TX = '6e400003-b5a3-f393-e0a9-e50e24dcca9e';

/** Lower-case 128-bit form; 16-bit UUIDs ("0x180F" / "180f") expand on the Bluetooth base. */
export function normUuid(u: string): string {
  const s = u.toLowerCase().replace(/^0x/, '');
  if (/^[0-9a-f]{4}$/.test(s)) return `0000${s}-0000-1000-8000-00805f9b34fb`;
  return s;
}

function describeError(e: unknown): string {
  if (e !== null && typeof e === 'object' && 'message' in e) {
    const name = (e as { name?: unknown }).name;
    return `${typeof name === 'string' ? name : 'Error'}: ${String((e as { message: unknown }).message)}`;
  }
  return `Error: ${String(e)}`;
}
