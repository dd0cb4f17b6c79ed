/**
 * The device clock and Espruino's idle loop (jsiIdle): hardware events happen at exact device times;
 * JavaScript runs only from the idle loop, one job at a time, in passes, and each job takes device time
 * = its cost / COST_UNITS_PER_MS (README.md, "Execution model"). Also here: the JS timers the passes
 * run, the cost counter the instrumented program updates, and the watchdog.
 */
import { Interrupt } from './errors';
import type { JsVarCounter } from './memory';
import type { DeviceStats } from './device';

/** Cost units per second of nRF52 device time (README.md: ~10^4 simple loop iterations/s × ~10 units each). */
export const COST_UNITS_PER_SECOND = 100_000;
export const COST_UNITS_PER_MS = COST_UNITS_PER_SECOND / 1000;
/** Native helpers (E.sum, TypedArray.set...) cost this many units per element they touch (~0.5 us). */
export const NATIVE_COST_PER_ELEMENT = 0.05;
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
    return this.running ? this.jobStart + this.k.c / COST_UNITS_PER_MS : this.now;
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
    const ms = this.k.c / COST_UNITS_PER_MS;
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
    this.k.c = 0;
    this.k.l =
      this.watchdog && this.watchdog.auto
        ? Math.min(HANG_LIMIT_MS, this.watchdog.timeoutMs) * COST_UNITS_PER_MS
        : HANG_LIMIT_MS * COST_UNITS_PER_MS;
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
    const ms = cost / COST_UNITS_PER_MS;
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
