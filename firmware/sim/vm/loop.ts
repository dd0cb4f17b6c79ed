/**
 * The device clock and Espruino's idle loop (jsiIdle): hardware events happen at exact device times;
 * JavaScript runs only from the idle loop, one job at a time, in passes, and each job takes device time
 * = its cost / COST_UNITS_PER_MS (README.md, "Execution model"). Also here: the JS timers the passes
 * run, the cost counter the instrumented program updates, and the watchdog.
 */
import { CALIBRATION, NRF52_HZ } from '../espruino/cost/cpu';
import { Interrupt } from './interrupt';
import type { JsVarCounter } from './memory';
import type { DeviceStats } from './device';

/**
 * The cost model (README.md, "Cost units (calibration)"): what each thing the interpreter does costs, in
 * cost units. One unit is X86_PER_UNIT x86 instructions of the real interpreter's main loop (Espruino
 * 2v29 built for 32-bit Linux, -Os, counted by callgrind: ../espruino/cost/ratios.ts), which
 * ../espruino/cost/cpu.ts's CALIBRATION turns into nRF52 cycles. The coefficients are fitted by
 * `npx tsx firmware/sim/espruino/cost/ratios.ts --fit` (snippets and natives measured on both engines).
 */
export interface CostModel {
  /** Statement-level coefficients (cost-analysis.ts computes each statement's features statically). */
  js: Record<JsFeature, number>;
  /**
   * Built-ins priced by name (units for reading the property or global and calling it, instead of
   * `builtin` / `global`): the natives the vm does not charge itself (E.kickWatchdog, digitalWrite...).
   */
  names: Record<string, number>;
  /** Natives: a fixed cost per call plus a cost per element they touch (bytes, samples...). */
  natives: Record<NativeName, { fixed: number; perElement: number }>;
  /** The interpreter's own work to start a job of each kind (idle loop, event dispatch). */
  jobs: Record<string, number>;
  /** Per ADC sample the Waveform timer interrupt takes (the device's CPU, not a job's). */
  adcSample: number;
  /** Per DAC sample the Waveform timer interrupt takes. */
  dacSample: number;
  /** The device stores the code pretokenised: keywords, operators and small integers are one byte. */
  pretokenised: boolean;
  /**
   * CPU speed relative to the nRF52 (default 1). The cost measurements (espruino/cost/) run the
   * firmware's scenarios with a fast CPU, so that the vm does the same work as the real interpreter
   * (which runs on an x86, never saturated) when the firmware needs more than the nRF52 has.
   */
  cpuSpeed?: number;
}

/** Statement-level features (cost-analysis.ts). */
export const JS_FEATURES = [
  'stmt', // a statement executed
  'iteration', // a loop iteration (Espruino seeks back to the test and the body)
  'tok', // a token lexed, parsed and executed
  'char', // a character the lexer reads one by one: names, keywords, numbers, strings (executed code)
  'node', // an AST node evaluated
  'lookup', // an identifier resolved through the scope chain
  'scan', // a name compared on the way (scope variables, object properties: static estimate)
  'global', // an identifier found nowhere in the program's scopes (a built-in: Math, E, NRF...)
  'member', // a property read or written by name (`o.x`)
  'index', // a property read or written by value (`o[i]`)
  'builtin', // a property that is a built-in method or field (`b.length`, `Math.floor`, `b.set`)
  'call', // entering a JavaScript function (scope, return value)
  'param', // a parameter bound
  'alloc', // an object or array literal (and each of its elements), a template string allocated
  'construct', // `new`: an object made and its constructor called
  'blockScope', // a block with let/const entered (Espruino makes a scope object for it)
  'fnDef', // a function defined (its body is lexed to find its end: see skip*)
  'skipTok', // a token skipped without parsing (a block not run, the rest of a function after return)
  'skipChar', // a character of a name or literal skipped
  'parseTok', // a token parsed without executing (a braceless branch not run, `a && b` with a false)
  'parseChar', // a character of a name or literal parsed without executing
] as const;
export type JsFeature = (typeof JS_FEATURES)[number];

export const NATIVES = [
  'E.sum',
  'E.variance',
  'E.mapInPlace',
  'E.CRC32',
  'E.FFT',
  'E.convolve',
  'TypedArray.new',
  'TypedArray.copy',
  'TypedArray.set',
  'TypedArray.fill',
  'NRF.updateServices',
  'other',
] as const;
export type NativeName = (typeof NATIVES)[number];

/** x86 instructions (of the Linux build, callgrind) per cost unit. */
export const X86_PER_UNIT = 1000;

/**
 * Cost units per second of nRF52 device time: one unit is X86_PER_UNIT x86 instructions, which are
 * CALIBRATION.central nRF52 cycles each (../espruino/cost/cpu.ts) at NRF52_HZ: 64e6 / 1,500 ≈ 42,667.
 */
export const COST_UNITS_PER_SECOND = NRF52_HZ / (CALIBRATION.central * X86_PER_UNIT);
export const COST_UNITS_PER_MS = COST_UNITS_PER_SECOND / 1000;

/** The fitted model (firmware/sim/espruino/cost/ratios.ts --fit prints it). */
export const FITTED_MODEL: CostModel = {
  js: {
    iteration: 0.303,
    stmt: 0.7338,
    tok: 0,
    char: 0.0082,
    node: 0.9633,
    lookup: 0.6223,
    scan: 0.0192,
    global: 0,
    member: 0,
    index: 1.305,
    builtin: 9.8497,
    call: 3.9973,
    param: 1.5006,
    alloc: 0.5722,
    construct: 21.148,
    blockScope: 0.986,
    fnDef: 5.2866,
    skipTok: 0.1587,
    skipChar: 0.0667,
    parseTok: 0.1174,
    parseChar: 0.4025,
  },
  names: {
    subarray: 10.6522,
    digitalWrite: 5.2675,
    kickWatchdog: 5.6997,
    getTime: 1.6625,
    setTimeout: 6.85,
    clearTimeout: 6.85,
    floor: 7.1102,
    round: 7.4957,
    fromCharCode: 9.6062,
    charCodeAt: 8.0352,
    push: 8.667,
    shift: 8.667,
    call: 8.3897,
  },
  natives: {
    'E.sum': { fixed: 0, perElement: 0.1854 },
    'E.variance': { fixed: 0, perElement: 0.19338 },
    'E.mapInPlace': { fixed: 0, perElement: 1.3522 },
    'E.CRC32': { fixed: 5, perElement: 0.2 },
    'E.FFT': { fixed: 10, perElement: 2 },
    'E.convolve': { fixed: 5, perElement: 0.4 },
    'TypedArray.new': { fixed: 6.2677, perElement: 0.0054 },
    'TypedArray.copy': { fixed: 8.1203, perElement: 1.84842 },
    'TypedArray.set': { fixed: 1.6205, perElement: 0.33 },
    'TypedArray.fill': { fixed: 0.5085, perElement: 1.002 },
    'NRF.updateServices': { fixed: 2.358, perElement: 0 },
    other: { fixed: 0, perElement: 0.2 },
  },
  jobs: {
    default: 23.0093,
    timer: 10.6379,
    repl: 0,
    boot: 0,
  },
  adcSample: 0.35365,
  dacSample: 0.52351,
  pretokenised: true,
};

let active: CostModel = FITTED_MODEL;

/** The model the simulator charges with (instrument.ts reads it when it instruments a program). */
export function costModel(): CostModel {
  return active;
}

/** Charge with `m` until the returned function is called (espruino/cost/'s fitting runs; tests). */
export function useCostModel(m: CostModel): () => void {
  const prev = active;
  active = m;
  return () => {
    active = prev;
  };
}

/** Units per ms of device time (COST_UNITS_PER_MS, times the model's and the device's cpuSpeed). */
function unitsPerMs(deviceSpeed = 1): number {
  return COST_UNITS_PER_MS * (active.cpuSpeed ?? 1) * deviceSpeed;
}

/** Units charged by a native: its fixed cost plus `n` elements. */
export function nativeCost(name: NativeName, n: number): number {
  const c = active.natives[name];
  return c.fixed + n * c.perElement;
}

/** Per element touched by a native the model has no entry for (kept for the public API). */
export const NATIVE_COST_PER_ELEMENT = FITTED_MODEL.natives.other.perElement;
/** A job running longer than this (device time) without a watchdog is treated as a hung device. */
export const HANG_LIMIT_MS = 20_000;

export type Fn = (...args: unknown[]) => unknown;

export interface Job {
  fn: Fn;
  args: unknown[];
  thisArg: unknown;
  kind: string;
  /** For 'buffer' jobs: the buffer period in ms (an overrun if the job takes longer). */
  periodMs?: number;
  input?: boolean;
  /** For timer jobs: the timer's id (a clearTimeout earlier in the same pass cancels the run). */
  timerId?: number;
  /** Units of interrupt work (the Waveform timer's samples) charged with the job. */
  interruptCost?: number;
}

interface Timer {
  id: number;
  time: number;
  interval: number | null;
  fn: Fn;
  args: unknown[];
}

/**
 * What the instrumented program updates (instrument.ts): `__$k.c` += the cost of each statement, and
 * `__$k.x()` is called once it passes the limit `__$k.l` (-Infinity: interrupted, every statement throws).
 */
export interface CostCounter {
  c: number;
  l: number;
  x: () => void;
}

/** The rest of the device, as the idle loop drives it. */
export interface LoopParts {
  /** Move the hardware (ADC/DAC) up to device time `t`. */
  progress(t: number): void;
  /** jsiIdle's event phase at the start of a pass: hardware events (a Waveform's timer finished). */
  ioEvents(): void;
  ioPending(): boolean;
  /** The Waveform poll (jswIdle) after a pass's timers, and whether it has anything to report. */
  poll(): void;
  pollPending(): boolean;
  /** After each job: the memory check. */
  afterJob(): void;
  reportError(e: unknown, kind: string): void;
  print(s: string): void;
  /** A reboot was asked for: the loop stops and the owner reboots. */
  rebooting(): boolean;
  /** The watchdog fires: reset the device. */
  watchdogReset(why: string): void;
  /** CPU speed relative to the calibrated nRF52 (1: the device's). */
  cpuSpeed: number;
}

export class IdleLoop {
  /** Device time, ms since power-on. */
  now = 0;
  readonly k: CostCounter = { c: 0, l: Infinity, x: () => this.limitHit() };
  private cpuFree = 0;
  private hw: { t: number; seq: number; fn: (now: number) => void }[] = [];
  private hwSeq = 0;
  private jobs: Job[] = [];
  /** Timer callbacks of the current idle pass, and where the pass is. */
  private timerJobs: Job[] = [];
  private passStage: 'idle' | 'timers' | 'events' = 'idle';
  private timers: Timer[] = [];
  private nextTimerId = 1;
  private watchdog: { timeoutMs: number; auto: boolean; lastKick: number } | null = null;
  private jobStart = 0;
  private running = false;
  private halted = false;

  constructor(
    private readonly stats: DeviceStats,
    private readonly parts: LoopParts,
    private readonly err: (msg: string) => Error,
  ) {}

  /** A JS job is running now. */
  get jobActive(): boolean {
    return this.running;
  }

  /** Device time as JS sees it: inside a job, the job's start plus the cost it has used so far. */
  deviceTime(): number {
    return this.running ? this.jobStart + this.k.c / unitsPerMs(this.parts.cpuSpeed) : this.now;
  }

  /** Charge `units` of cost to the running job. */
  charge(units: number): void {
    this.k.c += units;
  }

  /** Stop the running job: every further statement of it throws (a catch cannot resume it). */
  interrupt(reason: string): never {
    this.k.l = -Infinity;
    throw new Interrupt(reason);
  }

  /** A hardware event at device time `t`. */
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

  /** Queue a job on the event queue (run in FIFO order after the pass's timers). */
  queue(job: Job): void {
    this.jobs.push(job);
  }

  // ---------------------------------------------------------------------------------------------
  // Timers (setTimeout, setInterval, clearTimeout, changeInterval)

  addTimer(fn: unknown, ms: unknown, args: unknown[], repeat: boolean): number {
    if (typeof fn !== 'function') throw this.err('Function or String not supplied!');
    let d = Number(ms);
    if (!(d >= 0)) d = 0;
    const id = this.nextTimerId++;
    this.timers.push({
      id,
      time: this.deviceTime() + d,
      interval: repeat ? Math.max(d, 0.1) : null,
      fn: fn as Fn,
      args,
    });
    return id;
  }

  clearTimer(id?: unknown): void {
    if (id === undefined) {
      this.timers = [];
      this.timerJobs = [];
      return;
    }
    const i = this.timers.findIndex((t) => t.id === id);
    const pendingRun = this.timerJobs.findIndex((j) => j.timerId === id);
    if (pendingRun >= 0) this.timerJobs.splice(pendingRun, 1);
    if (i < 0) {
      if (pendingRun >= 0) return;
      throw this.err(`Unknown Timeout ${String(id)}`);
    }
    this.timers.splice(i, 1);
  }

  changeInterval(id: unknown, ms: unknown): void {
    const t = this.timers.find((x) => x.id === id);
    if (!t) throw this.err(`Unknown Interval ${String(id)}`);
    t.interval = Math.max(Number(ms), 0.1);
    t.time = this.deviceTime() + t.interval;
  }

  /** JsVars of the timers (the timer object + function + arguments), for the heap walk. */
  timerVars(c: JsVarCounter): number {
    let n = 0;
    for (const t of this.timers)
      n += 6 + c.value(t.fn) + t.args.reduce<number>((a, v) => a + c.slot(0, v), 0);
    return n;
  }

  private nextTimerTime(): number {
    let t = Infinity;
    for (const x of this.timers) if (x.time < t) t = x.time;
    return t;
  }

  // ---------------------------------------------------------------------------------------------
  // Watchdog

  /** E.enableWatchdog: auto-kicked by the idle loop, or reset when not kicked within the timeout. */
  enableWatchdog(timeout: unknown, isAuto?: unknown): void {
    const t = Number(timeout);
    if (!(t > 0)) throw this.err('Invalid timeout');
    this.watchdog = {
      timeoutMs: t * 1000,
      auto: isAuto === undefined || !!isAuto,
      lastKick: this.deviceTime(),
    };
    if (!this.watchdog.auto) this.scheduleWatchdog();
  }

  kickWatchdog(): void {
    if (this.watchdog) {
      this.watchdog.lastKick = this.deviceTime();
      if (!this.watchdog.auto) this.scheduleWatchdog();
    }
  }

  private scheduleWatchdog(): void {
    const wd = this.watchdog;
    if (!wd || wd.auto) return;
    const due = wd.lastKick + wd.timeoutMs;
    this.at(due, (t) => {
      if (this.watchdog !== wd || wd.lastKick + wd.timeoutMs > t + 1e-9) return;
      this.parts.watchdogReset(`not kicked for ${wd.timeoutMs} ms`);
    });
  }

  /** The running job passed its cost limit (or was interrupted). */
  private limitHit(): void {
    if (this.k.l === -Infinity) throw new Interrupt('interrupted');
    // Cost limit: the job ran far longer than any real handler could.
    const ms = this.k.c / unitsPerMs(this.parts.cpuSpeed);
    if (this.watchdog) {
      this.parts.watchdogReset(`handler ran ${ms.toFixed(0)} ms without returning`);
    } else {
      this.parts.print(`[sim] device hung: a job ran ${ms.toFixed(0)} ms of device time; interrupted\n`);
    }
    this.interrupt('hung');
  }

  // ---------------------------------------------------------------------------------------------
  // Running

  /** Run the device up to time `tEnd` (ms). */
  runUntil(tEnd: number): void {
    if (this.halted) {
      this.now = Math.max(this.now, tEnd);
      return;
    }
    for (;;) {
      if (this.parts.rebooting()) return;
      const tHw = this.hw.length > 0 ? this.hw[0]!.t : Infinity;
      const tIdle = Math.max(
        this.cpuFree,
        this.hasWork() ? this.now : Math.max(this.now, this.nextTimerTime()),
      );
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
    this.parts.progress(this.now);
  }

  private hasWork(): boolean {
    return this.busy().pending || this.parts.pollPending();
  }

  /**
   * One step of Espruino's idle loop (jsiIdle), which runs in passes: the hardware's events first (a
   * Waveform that ended), then every timer due at the start of the pass runs once (an interval adds
   * its period to its time, so one that fell behind runs again in the following passes until it has
   * caught up), then the Waveform poll (jswIdle) queues 'buffer' events, then the event queue runs
   * until empty. One job per call, so hardware events in between are processed at their own times.
   */
  private idleIteration(): void {
    this.parts.progress(this.now);
    if (this.passStage === 'idle') {
      this.parts.ioEvents();
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
      this.parts.poll();
      this.passStage = 'events';
    }
    const job = this.jobs.shift();
    if (job) {
      this.runJob(job);
      return;
    }
    this.passStage = 'idle';
  }

  /** Run a job as soon as the CPU is free (the REPL typed at a free CPU). */
  runNow(job: Job): void {
    this.now = Math.max(this.now, this.cpuFree);
    this.runJob(job);
  }

  /** Run one JS job at the current time; its cost moves cpuFree. */
  runJob(job: Job): void {
    // The interpreter's own work to start it: the idle loop's pass, the event or timer dispatch.
    const jobs = costModel().jobs;
    this.k.c = (jobs[job.kind] ?? jobs.default ?? 0) + (job.interruptCost ?? 0);
    this.k.l =
      this.watchdog && this.watchdog.auto
        ? Math.min(HANG_LIMIT_MS, this.watchdog.timeoutMs) * unitsPerMs(this.parts.cpuSpeed)
        : HANG_LIMIT_MS * unitsPerMs(this.parts.cpuSpeed);
    this.jobStart = this.now;
    this.running = true;
    try {
      job.fn.apply(job.thisArg, job.args);
    } catch (e) {
      this.parts.reportError(e, job.kind);
    } finally {
      this.running = false;
    }
    const cost = this.k.c;
    this.k.c = 0;
    this.k.l = Infinity;
    this.stats.jobs++;
    this.parts.afterJob();
    this.account(job, cost);
  }

  private account(job: Job, cost: number): void {
    const stats = this.stats;
    stats.totalCost += cost;
    const bk = (stats.byKind[job.kind] ??= { jobs: 0, cost: 0, max: 0 });
    bk.jobs++;
    bk.cost += cost;
    if (cost > bk.max) bk.max = cost;
    const ms = cost / unitsPerMs(this.parts.cpuSpeed);
    this.cpuFree = this.now + ms;
    if (job.kind === 'buffer') {
      if (cost > stats.maxHandlerCost) stats.maxHandlerCost = cost;
      if (job.periodMs !== undefined && ms > job.periodMs) stats.overruns++;
      if (job.input) {
        stats.inputHandlerCost += cost;
        stats.inputBuffers++;
      }
    }
  }

  /** Device time when the CPU is next free, and whether JS work is queued. */
  busy(): { until: number; pending: boolean } {
    const pending = this.jobs.length > 0 || this.passStage !== 'idle' || this.parts.ioPending();
    return { until: this.cpuFree, pending };
  }

  /** Power off: nothing runs any more. */
  halt(): void {
    this.halted = true;
    this.hw = [];
    this.jobs = [];
    this.timerJobs = [];
    this.passStage = 'idle';
    this.timers = [];
  }
}
