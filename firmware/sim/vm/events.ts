/**
 * Event emitters of the vm context (`obj.on/emit/removeListener...` on E, NRF, Bluetooth, Waveforms):
 * listeners are kept outside the objects (the JsVar walk counts them as roots) and an emitted event
 * queues one job per listener for the idle loop, as Espruino's jsiQueueObjectCallbacks does.
 */
/* eslint-disable @typescript-eslint/no-this-alias -- the methods installed in the vm context need their
   own `this` (the emitter JS calls them on) and the Emitters, captured as `self`. */
import type { Fn, Job } from './loop';
import type { JsVarCounter } from './memory';

export class Emitters {
  private listeners = new WeakMap<object, Map<string, Fn[]>>();
  /** Objects whose listeners are roots of the JsVar walk. */
  private objects: object[] = [];

  constructor(
    private readonly queue: (job: Job) => void,
    private readonly err: (msg: string) => Error,
  ) {}

  /** Give `obj` the emitter methods (on, addListener, removeListener, removeAllListeners, emit). */
  install(obj: Record<string, unknown>): void {
    this.objects.push(obj);
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

  /** Emitter methods on a prototype: its instances become roots only once `track`ed. */
  installOnPrototype(proto: Record<string, unknown>): void {
    this.install(proto);
    this.objects.pop();
  }

  /** Count `obj`'s listeners as roots from now on (a Waveform once started). */
  track(obj: object): void {
    if (!this.listeners.has(obj)) this.listeners.set(obj, new Map());
    if (!this.objects.includes(obj)) this.objects.push(obj);
  }

  /** Queue every listener of `evt` as a job (Espruino's jsiQueueObjectCallbacks). */
  emitLater(obj: object, evt: string, args: unknown[], kind: string, extra?: Partial<Job>): void {
    const list = (this.listeners.get(obj)?.get(evt) ?? []).slice();
    for (const fn of list) this.queue({ fn, args, thisArg: obj, kind, ...extra });
  }

  /** JsVars of every listener (name `#on<evt>` + function), for the heap walk. */
  vars(c: JsVarCounter): number {
    let n = 0;
    for (const obj of this.objects) {
      const m = this.listeners.get(obj);
      if (!m) continue;
      for (const [evt, list] of m) for (const fn of list) n += c.slot(`#on${evt}`, fn);
    }
    return n;
  }
}
