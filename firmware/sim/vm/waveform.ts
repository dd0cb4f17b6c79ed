/**
 * `Waveform`: the ADC (microphone) and the PWM DAC (speaker) moving through their buffers at their own
 * sample times, and the idle loop's poll that hands finished buffers to JavaScript (README.md,
 * "Execution model").
 */
/* eslint-disable @typescript-eslint/no-this-alias -- the constructor and methods installed in the vm
   context need their own `this` (the Waveform object) and the Waveforms, captured as `self`. */
import type { Device, MicSource } from './device';
import type { JsVarCounter } from './memory';
import { costModel } from './loop';

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
  /** The ADC/DAC runs (its timer task exists); `obj.running` is cleared later, by the idle loop. */
  running: boolean;
  bits: 8 | 16;
  /** Output only: the pin had analogWrite (PWM) set up, so the samples reach the speaker. */
  audible: boolean;
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

export class Waveforms {
  private waves: WaveState[] = [];
  /** Stopped or finished since the last idle pass: the "timer finished" events not yet processed. */
  private finished: WaveState[] = [];

  constructor(
    private readonly dev: Device,
    private readonly mic: MicSource,
    /** Speaker samples played (8-bit unsigned), in order; appended to by the DAC. */
    private readonly speaker: { push(v: number): void },
  ) {}

  /** The `Waveform` constructor of the context. */
  klass(): unknown {
    const self = this;
    const dev = this.dev;
    function Waveform(this: Record<string, unknown>, samples: unknown, options?: unknown) {
      if (!new.target) throw dev.err("Constructor Waveform requires 'new'");
      const n = Math.floor(Number(samples));
      if (!(n > 0)) throw dev.err('Samples must be greater than 0');
      let bits: 8 | 16 = 8;
      let dbl = false;
      if (options !== undefined) {
        if (options === null || typeof options !== 'object')
          throw dev.err(`Expecting options to be undefined or an Object, not ${typeof options}`);
        const o = options as { bits?: unknown; doubleBuffer?: unknown };
        dbl = !!o.doubleBuffer;
        const b = o.bits === undefined ? 0 : Number(o.bits);
        if (b !== 0 && b !== 8 && b !== 16) throw dev.err('Invalid number of bits');
        if (b === 16) bits = 16;
      }
      const mk = (): Uint8Array | Uint16Array =>
        bits === 16 ? new dev.builtins.Uint16Array(n) : new dev.builtins.Uint8Array(n);
      dev.heap.allocating(2 * (2 + Math.ceil((n * bits) / 8 / dev.config.blocksize) + 1) + 4);
      this.buffer = mk();
      if (dbl) this.buffer2 = mk();
      this.running = false;
      Object.defineProperty(this, '__bits', { value: bits, enumerable: false });
    }
    const proto = Waveform.prototype as Record<string, unknown>;
    dev.events.installOnPrototype(proto);
    const starter = (input: boolean) =>
      function (this: Record<string, unknown>, pin: unknown, freq: unknown, options?: unknown) {
        self.start(this, input, pin, freq, options);
      };
    proto.startInput = starter(true);
    proto.startOutput = starter(false);
    proto.stop = function (this: Record<string, unknown>) {
      self.stop(this);
    };
    return Waveform;
  }

  private start(
    obj: Record<string, unknown>,
    input: boolean,
    pin: unknown,
    freq: unknown,
    options?: unknown,
  ): void {
    const dev = this.dev;
    if (obj.running) throw dev.err('Waveform is already running');
    const pinName = dev.pins.pinName(pin);
    if (input && !ANALOG_PINS.has(pinName)) throw dev.err(`Pin ${pinName} is not capable of ADC`);
    // Output needs the pin set up with analogWrite first; otherwise the speaker stays silent.
    const audible = input || dev.pins.hasPwm(pinName);
    if (!audible) dev.print(`[sim] Waveform.startOutput on ${pinName} without analogWrite first: no sound\n`);
    const f = Number(freq);
    if (!(f >= 0.001) || !isFinite(f)) throw dev.err('Frequency must be above 0.001Hz');
    let startAt = dev.loop.deviceTime();
    let repeat = false;
    if (options !== undefined) {
      if (options === null || typeof options !== 'object')
        throw dev.err(`Expecting options to be undefined or an Object, not ${typeof options}`);
      const o = options as { time?: unknown; repeat?: unknown };
      const t = Number(o.time);
      if (isFinite(t) && t > 0) startAt = Math.max(startAt, t * 1000);
      repeat = !!o.repeat;
    }
    const buffers = [obj.buffer as Uint8Array | Uint16Array];
    if (repeat && obj.buffer2) buffers.push(obj.buffer2 as Uint8Array | Uint16Array);
    const st: WaveState = {
      obj,
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
      bits: (obj as { __bits?: 8 | 16 }).__bits ?? 8,
      audible,
    };
    dev.events.track(obj);
    obj.running = true;
    obj.freq = f;
    this.waves.push(st);
    this.scheduleSwap(st);
  }

  /**
   * Waveform.stop() (jswrap_waveform_stop): the timer task goes at once, but `running` stays true
   * until the idle loop has processed the "finished" event it queued (so a restart in the same job
   * throws 'Waveform is already running'); a second stop() finds no task to remove.
   */
  private stop(obj: Record<string, unknown>): void {
    if (!obj.running) throw this.dev.err('Waveform is not running');
    const st = this.waves.find((w) => w.obj === obj && w.running);
    if (!st) throw this.dev.err("Waveform couldn't be stopped");
    this.progress(st, this.dev.loop.deviceTime());
    this.end(st);
  }

  private periodMs(st: WaveState): number {
    return (st.n * 1000) / st.freq;
  }

  private swapTime(st: WaveState, k: number): number {
    return st.start + (k * st.n * 1000) / st.freq;
  }

  private scheduleSwap(st: WaveState): void {
    const k = st.swaps + 1;
    this.dev.loop.at(this.swapTime(st, k), (t) => {
      if (!st.running || st.swaps !== k - 1) return;
      this.progress(st, t);
      st.swaps = k;
      st.pos = 0;
      if (!st.repeat) {
        this.end(st);
        return;
      }
      this.scheduleSwap(st);
    });
  }

  /** Move every running ADC/DAC up to device time t. */
  progressAll(t: number): void {
    for (const st of this.waves) this.progress(st, t);
  }

  /** Move the ADC/DAC through the current buffer up to device time t. */
  private progress(st: WaveState, t: number): void {
    if (!st.running) return;
    const base = this.swapTime(st, st.swaps);
    const target = Math.max(0, Math.min(st.n, Math.floor(((t - base) * st.freq) / 1000 + 1e-9)));
    const buf = st.buffers[st.swaps % st.buffers.length]!;
    for (let i = st.pos; i < target; i++) {
      if (st.input) {
        const v = this.mic.next(st.freq, base + (i * 1000) / st.freq) & 0xff;
        buf[i] = st.bits === 16 ? v << 8 : v;
      } else {
        const v = buf[i]!;
        if (st.audible) this.speaker.push(st.bits === 16 ? (v >> 8) & 0xff : v & 0xff);
      }
    }
    if (target > st.pos) st.pos = target;
  }

  /** The ADC/DAC stops (stop(), or the last buffer of a one-shot Waveform): "finished" is queued. */
  private end(st: WaveState): void {
    st.running = false;
    this.finished.push(st);
  }

  /**
   * The idle loop's event phase, at the start of a pass (jswrap_waveform_eventHandler): each
   * Waveform that ended since the last pass is no longer `running` and gets its 'finish' event.
   */
  ioEvents(): void {
    const done = this.finished;
    this.finished = [];
    for (const st of done) {
      st.obj.running = false;
      this.waves = this.waves.filter((w) => w !== st);
      this.dev.events.emitLater(st.obj, 'finish', [st.obj.buffer], 'finish');
    }
  }

  /** Events for ioEvents() are waiting. */
  ioPending(): boolean {
    return this.finished.length > 0;
  }

  /** The idle loop's Waveform poll (jswrap_waveform_idle): one 'buffer' event per observed change. */
  poll(): void {
    for (const st of this.waves) {
      if (!st.running || !st.repeat || st.buffers.length < 2) continue;
      const missed = st.swaps - st.seenSwaps;
      if (missed <= 0) continue;
      if (missed > 1) this.dev.stats.overruns += missed - 1;
      const changed = st.swaps % 2 !== st.seenSwaps % 2;
      st.seenSwaps = st.swaps;
      if (!changed) continue; // an even number of swaps: the device sees no change and emits nothing
      const finished = st.buffers[(st.swaps + 1) % 2]!;
      // The timer interrupt's work for every sample of those buffers (the ADC read or the DAC write:
      // loop.ts's model) is CPU the handler does not get: charged with it.
      const model = costModel();
      this.dev.events.emitLater(st.obj, 'buffer', [finished], 'buffer', {
        periodMs: this.periodMs(st),
        input: st.input,
        interruptCost: missed * finished.length * (st.input ? model.adcSample : model.dacSample),
      });
    }
  }

  /** The poll has something to report. */
  pollPending(): boolean {
    for (const st of this.waves)
      if (st.running && st.repeat && st.buffers.length >= 2 && st.swaps !== st.seenSwaps) return true;
    return false;
  }

  /** JsVars of the running Waveforms (the interpreter's hidden list holds them until 'finish'). */
  vars(c: JsVarCounter): number {
    let n = 0;
    for (const w of this.waves) n += c.value(w.obj);
    return n;
  }

  /** Power off. */
  halt(): void {
    this.waves = [];
    this.finished = [];
  }
}
