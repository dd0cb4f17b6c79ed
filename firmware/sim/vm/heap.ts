/**
 * The device's JsVar heap: what memory.ts's walk is given (the roots, the closure scopes and function
 * links the instrumented program reports), when it runs, and Espruino's OUT OF MEMORY (README.md,
 * "JsVar model").
 */
import type vm from 'node:vm';
import type { DeviceStats } from './device';
import { BASELINE_JSVARS, JsVarCounter, type BoundInfo, type MemoryModel } from './memory';

type ScopeGetter = () => Record<string, unknown>;

/** The `__$k` members the instrumentation calls to tag closures and scopes (instrument.ts). */
export interface ScopeTags {
  scope: (getter: ScopeGetter) => void;
  p: (getter: ScopeGetter, parent: ScopeGetter) => void;
  m: (obj: object, getter: ScopeGetter, keys: string[]) => object;
  k: (cls: object, getter: ScopeGetter, proto: string[], statics: string[]) => object;
  t: (fn: object, getter: ScopeGetter | undefined, self?: () => unknown) => object;
}

/** The rest of the device, as the heap sees it. */
export interface HeapParts {
  /** JsVars held by the device's own roots: timers, watches, listeners, Waveforms, GATT handlers. */
  roots(c: JsVarCounter): number;
  jobActive(): boolean;
  print(s: string): void;
  interrupt(reason: string): never;
}

export interface HeapSize extends MemoryModel {
  /** JsVars of the heap. */
  jsVars: number;
}

export class Heap {
  /** E.getErrorFlags(): 'MEMORY' once an allocation failed. */
  readonly errorFlags = new Set<string>();
  readonly tags: ScopeTags;
  /** Closure -> getter of the scope it was created in (instrument.ts), for the JsVar walk. */
  private fnScopes = new WeakMap<object, ScopeGetter>();
  /** Arrow function -> thunk of the `this` it captured (instrument.ts), for the JsVar walk. */
  private fnThis = new WeakMap<object, () => unknown>();
  /** Scope getter -> the getter of the enclosing function's scope (the scope chain, instrument.ts). */
  private scopeParent = new WeakMap<object, ScopeGetter>();
  /** Bound function -> what `bind` made it from, for the JsVar walk. */
  private bound = new WeakMap<object, BoundInfo>();
  private scopes: ScopeGetter[] = [];
  private opaque = new Set<unknown>();
  private initialGlobals = new Set<string>();
  private initialValues = new Map<string, unknown>();
  private memLast = 0;
  private memAllocSince = 0;

  constructor(
    private readonly ctx: vm.Context,
    private readonly size: HeapSize,
    private readonly stats: DeviceStats,
    private readonly parts: HeapParts,
  ) {
    this.tags = {
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
  }

  /** Methods and accessors of an object literal or class (instrument.ts): the scope they close over. */
  private tagMethods(obj: object, g: ScopeGetter, keys: string[]): void {
    for (const key of keys) {
      const d = Object.getOwnPropertyDescriptor(obj, key);
      if (d === undefined) continue;
      for (const f of [d.value, d.get, d.set] as unknown[])
        if (typeof f === 'function' && !this.fnScopes.has(f)) this.fnScopes.set(f, g);
    }
  }

  /** A bound function was made (language.ts's `bind`). */
  recordBind(b: object, target: object, thisArg: unknown, args: unknown[]): void {
    this.bound.set(b, { target, thisArg, args });
  }

  /**
   * The context is set up: its globals so far are the simulator's own (not counted unless the program
   * reassigns one) and `builtins` are the interpreter's objects (never counted).
   */
  sealBuiltins(builtins: Set<unknown>): void {
    for (const name of Object.getOwnPropertyNames(this.ctx)) this.initialGlobals.add(name);
    this.opaque = builtins;
  }

  /** Remember the values of the sim's own globals (so a firmware reassigning one is counted). */
  snapshotInitialGlobals(): void {
    const g = this.ctx as Record<string, unknown>;
    for (const name of this.initialGlobals) this.initialValues.set(name, g[name]);
  }

  /** JsVars in use now: a walk of the reachable heap (see memory.ts). */
  measure(): number {
    const c = this.counter();
    let n = BASELINE_JSVARS;
    const g = this.ctx as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(g)) {
      if (this.initialGlobals.has(name) && g[name] === this.initialValues.get(name)) continue;
      const d = Object.getOwnPropertyDescriptor(g, name);
      if (d && 'value' in d) n += c.slot(name, d.value);
    }
    for (const s of this.scopes) n += c.scope(s);
    n += this.parts.roots(c);
    this.memLast = n;
    this.memAllocSince = 0;
    return n;
  }

  /** E.getSizeOf(v, depth). */
  sizeOf(v: unknown, depth: number): number {
    return this.counter().value(v, depth) || 1;
  }

  private counter(): JsVarCounter {
    const model: MemoryModel = { blocksize: this.size.blocksize, code: this.size.code };
    return new JsVarCounter(model, this.opaque, (fn) => this.fnScopes.get(fn), {
      thisOf: (fn) => this.fnThis.get(fn),
      boundOf: (fn) => this.bound.get(fn),
      parentOf: (g) => this.scopeParent.get(g),
    });
  }

  /** An allocation of `vars` JsVars is about to happen: OUT OF MEMORY if it cannot fit. */
  allocating(vars: number): void {
    if (!this.parts.jobActive()) return;
    this.memAllocSince += vars;
    if (this.memLast + this.memAllocSince <= this.size.jsVars) return;
    const live = this.measure();
    if (live + vars > this.size.jsVars) this.outOfMemory();
    this.memAllocSince += vars;
  }

  private outOfMemory(): never {
    this.stats.outOfMemory++;
    this.errorFlags.add('MEMORY');
    this.parts.print('ERROR: Out of Memory!\n');
    return this.parts.interrupt('Out of Memory!');
  }

  /**
   * After a job. Plain objects/arrays/strings are not charged when allocated: walk the heap now and
   * then (every 50 jobs, and after every job once it is 90% full) and report what the device would
   * have hit on allocation.
   */
  afterJob(): void {
    if (this.stats.jobs % 50 !== 0 && this.memLast + this.memAllocSince <= 0.9 * this.size.jsVars) return;
    if (this.measure() > this.size.jsVars && !this.errorFlags.has('MEMORY')) {
      this.stats.outOfMemory++;
      this.errorFlags.add('MEMORY');
      this.parts.print('ERROR: Out of Memory!\n');
    }
  }
}
