/**
 * Pins: the `Pin` objects and names (D0.., A0.., LED1.., BTN1..), digital and analog I/O, PWM set up by
 * analogWrite (a Waveform output is audible only on such a pin), LEDs, and `setWatch` with Espruino's
 * debounce.
 */
/* eslint-disable @typescript-eslint/no-this-alias -- Pin methods need their own `this` (the Pin JS calls
   them on) and the Pins, captured as `self`. */
import type { Define, Builtins } from './language';
import type { IdleLoop, Fn } from './loop';
import type { JsVarCounter } from './memory';

interface PinObj {
  name: string;
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

/** Pin names every board gets as globals. */
function pinNames(): string[] {
  const names: string[] = [];
  for (let i = 0; i < 48; i++) names.push(`D${i}`);
  for (let i = 0; i < 8; i++) names.push(`A${i}`);
  names.push('LED', 'LED1', 'LED2', 'LED3', 'LED4', 'BTN', 'BTN1', 'BTN2', 'BTN3', 'BTN4');
  names.push('MIC', 'MIC_ENABLE', 'SPEAKER');
  // micro:bit v2: port H (H3 speaker, H4 mic, H5 mic enable); Thingy:52: IO-expander pins V0..V15
  for (let i = 0; i < 9; i++) names.push(`H${i}`);
  for (let i = 0; i < 16; i++) names.push(`V${i}`);
  return names;
}

export class Pins {
  /** LED levels as last written (pin name -> 0/1). */
  readonly leds = new Map<string, number>();
  private levels = new Map<string, number>();
  private pwm = new Map<string, { value: number; freq: number }>();
  private watches: Watch[] = [];
  private nextWatchId = 1;

  constructor(
    private readonly loop: IdleLoop,
    private readonly builtins: Builtins,
    private readonly err: (msg: string) => Error,
    button: { pin: string; activeLow: boolean },
  ) {
    this.levels.set(button.pin, button.activeLow ? 1 : 0);
  }

  /** A pin argument (Pin object, name or number) as a pin name. */
  pinName(p: unknown): string {
    if (typeof p === 'string') return p;
    if (typeof p === 'number') return `D${p}`;
    if (p !== null && typeof p === 'object' && typeof (p as PinObj).name === 'string')
      return (p as PinObj).name;
    throw this.err(`Invalid pin: ${String(p)}`);
  }

  /** analogWrite (PWM) was set up on this pin. */
  hasPwm(name: string): boolean {
    return this.pwm.has(name);
  }

  private write(name: string, v: number): void {
    this.levels.set(name, v);
    if (/^LED/.test(name)) this.leds.set(name, v);
  }

  private read(name: string): number {
    return this.levels.get(name) ?? 0;
  }

  /** The pin globals, `Pin`, digital/analog I/O and watches. */
  install(define: Define): void {
    const self = this;
    const PinCtor = function Pin(this: PinObj, name: string) {
      this.name = name;
    } as unknown as { new (n: string): PinObj; prototype: Record<string, unknown> };
    PinCtor.prototype.toString = function (this: PinObj) {
      return this.name;
    };
    PinCtor.prototype.write = function (this: PinObj, v: unknown) {
      self.write(this.name, v ? 1 : 0);
    };
    PinCtor.prototype.set = function (this: PinObj) {
      self.write(this.name, 1);
    };
    PinCtor.prototype.reset = function (this: PinObj) {
      self.write(this.name, 0);
    };
    PinCtor.prototype.read = function (this: PinObj) {
      return self.read(this.name);
    };
    PinCtor.prototype.mode = function () {};
    define('Pin', PinCtor);
    for (const n of pinNames()) define(n, new PinCtor(n));

    define('digitalWrite', (pin: unknown, v: unknown) => {
      if (Array.isArray(pin)) {
        // Espruino: digitalWrite([a,b,c], value) writes bits MSB first
        const n = Number(v);
        pin.forEach((p, i) => self.write(self.pinName(p), (n >> (pin.length - 1 - i)) & 1));
        return;
      }
      self.write(self.pinName(pin), v ? 1 : 0);
    });
    define('digitalRead', (pin: unknown) => self.read(self.pinName(pin)));
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
    define('setWatch', (fn: unknown, pin: unknown, options?: unknown) => self.setWatch(fn, pin, options));
    define('clearWatch', (id?: unknown) => {
      if (id === undefined) self.watches = [];
      else self.watches = self.watches.filter((w) => w.id !== id);
    });
  }

  private setWatch(fn: unknown, pin: unknown, options?: unknown): number {
    if (typeof fn !== 'function') throw this.err('Function or String not supplied!');
    const o = (options ?? {}) as { repeat?: boolean; edge?: unknown; debounce?: number };
    let edge: Watch['edge'] = 'both';
    if (o.edge === 'rising' || o.edge === 1) edge = 'rising';
    else if (o.edge === 'falling' || o.edge === -1) edge = 'falling';
    const id = this.nextWatchId++;
    this.watches.push({
      id,
      pin: this.pinName(pin),
      fn: fn as Fn,
      repeat: !!o.repeat,
      edge,
      debounce: o.debounce === undefined ? 0 : Number(o.debounce),
      lastTime: this.loop.deviceTime() / 1000,
      lastState: this.read(this.pinName(pin)) === 1,
      pendingState: false,
      pendingEdge: 0,
      pendingToken: 0,
    });
    return id;
  }

  /** An external level change on a pin (the button), at device time `t`. */
  setLevel(name: string, level: number, t: number): void {
    const prev = this.read(name);
    if (prev === level) return;
    this.levels.set(name, level);
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
      this.loop.at(t + w.debounce, () => {
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
    this.loop.queue({ fn: w.fn, args: [e], thisArg: undefined, kind: 'watch' });
    if (!w.repeat) this.watches = this.watches.filter((x) => x !== w);
  }

  /** JsVars of the watches (the watch object + function), for the heap walk. */
  watchVars(c: JsVarCounter): number {
    let n = 0;
    for (const w of this.watches) n += 6 + c.value(w.fn);
    return n;
  }
}
