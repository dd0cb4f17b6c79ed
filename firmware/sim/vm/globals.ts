/**
 * The Espruino globals the firmware uses (firmware/src/hal/espruino/espruino.d.ts): timers, console,
 * reset/load/save, `E`, `process`, `require`, and the objects of the other parts (pins, Waveform, NRF,
 * Bluetooth, Storage).
 */
import vm from 'node:vm';
import { ESPRUINO_BOARDS } from '../espruino/build/boards';
import type { Device } from './device';
import { Interrupt } from './interrupt';
import { realmify, type Define } from './language';
import { mulberry32 } from '../core/link';
import { nativeCost, type NativeName } from './loop';
import { eConvolve, eCrc32, eFFT, eMapInPlace, eSum, eToString, eVariance, toBytes } from './natives';
import { STORAGE_BYTES, storageModule } from './storage';

export const ESPRUINO_VERSION = '2v29';

export function installGlobals(dev: Device, define: Define): void {
  const g = dev.ctx as Record<string, unknown>;
  define('global', g);
  // Espruino's Math.random: rand() of src/jsutils.c, seeded at power-on (natives.ts).
  const random = dev.config.random;
  (vm.runInContext('Math', dev.ctx) as { random: () => number }).random = () => random.random();

  dev.pins.install(define);
  define('getTime', () => dev.loop.deviceTime() / 1000);

  // Reset / load / save: handled after the current execution, like Espruino's idle-loop TODOs.
  define('reset', (clearFlash?: unknown) => {
    const files = dev.config.storage;
    if (clearFlash) for (const k of [...files.keys()]) if (/^\.boot/.test(k)) files.delete(k);
    dev.requestReboot('reset()', { kind: 'none' });
  });
  define('load', (file?: unknown) => {
    dev.requestReboot(
      `load(${file === undefined ? '' : JSON.stringify(file)})`,
      file === undefined ? { kind: 'boot' } : { kind: 'file', name: String(file) },
    );
  });
  define('save', () => {
    dev.print('[sim] save() is not supported: write code to Storage (.bootcde) instead\n');
  });

  const loop = dev.loop;
  define('setTimeout', (fn: unknown, ms: unknown, ...args: unknown[]) => loop.addTimer(fn, ms, args, false));
  define('setInterval', (fn: unknown, ms: unknown, ...args: unknown[]) => loop.addTimer(fn, ms, args, true));
  const clear = (id?: unknown): void => loop.clearTimer(id);
  define('clearTimeout', clear);
  define('clearInterval', clear);
  define('changeInterval', (id: unknown, ms: unknown) => loop.changeInterval(id, ms));

  const format = (args: unknown[]): string =>
    args
      .map((a) => {
        if (typeof a === 'string') return a;
        try {
          return dev.builtins.JSON.stringify(a) ?? String(a);
        } catch {
          return String(a);
        }
      })
      .join(' ');
  define('console', { log: (...a: unknown[]) => dev.print(format(a) + '\n') });
  define('print', (...a: unknown[]) => dev.print(format(a) + '\n'));
  define('Bluetooth', dev.radio.bluetoothObject());
  define('atob', (s: unknown) => globalThis.atob(String(s)));
  define('btoa', (s: unknown) => globalThis.btoa(String(s)));

  define('E', espruinoE(dev));
  define('process', processObject(dev));
  define('require', (name: unknown) => {
    if (name !== 'Storage') throw dev.err(`Module ${String(name)} not found`);
    const realm = { ctx: dev.ctx, builtins: dev.builtins, err: (msg: string) => dev.err(msg) };
    return realmify(storageModule(dev.config.storage, STORAGE_BYTES, realm), dev.builtins);
  });
  define('Waveform', dev.waves.klass());
  define('NRF', realmify(dev.radio.nrfObject(), dev.builtins));
}

/**
 * E.getBattery exists only where the board's firmware defines it (CUSTOM_GETBATTERY: the Puck.js
 * class; of our boards only puckjs), as the real interpreter's build for the board says.
 */
function definesGetBattery(board: string): boolean {
  return (ESPRUINO_BOARDS[board]?.defines ?? []).some((d) => d.startsWith('-DCUSTOM_GETBATTERY'));
}

/** Charge native `name`'s cost (loop.ts's model): its fixed cost and every element of `a`. */
function chargeArray(dev: Device, name: NativeName, a: unknown): void {
  const n = (a as { length?: unknown })?.length;
  dev.loop.charge(nativeCost(name, typeof n === 'number' ? n : 0));
}

/** The `E` object: native helpers (natives.ts), the watchdog, boot code, error flags. */
function espruinoE(dev: Device): Record<string, unknown> {
  const hwRand = mulberry32(dev.config.seed ^ 0x5eed);
  const E: Record<string, unknown> = {
    sum: (a: unknown) => {
      chargeArray(dev, 'E.sum', a);
      return eSum(a);
    },
    variance: (a: unknown, m: unknown) => {
      chargeArray(dev, 'E.variance', a);
      return eVariance(a, m);
    },
    convolve: (a: unknown, b: unknown, off: unknown) => {
      chargeArray(dev, 'E.convolve', a);
      return eConvolve(a, b, off);
    },
    mapInPlace: (from: unknown, to: unknown, map: unknown, bits: unknown) => {
      chargeArray(dev, 'E.mapInPlace', from);
      eMapInPlace(from, to, map, bits, (fn, v) => fn(v));
    },
    FFT: (re: unknown, im: unknown, inv: unknown) => {
      const n = (re as { length?: number })?.length ?? 0;
      dev.loop.charge(nativeCost('E.FFT', n * Math.max(1, Math.log2(Math.max(n, 2)))));
      eFFT(re, im, inv);
    },
    CRC32: (d: unknown) => {
      chargeArray(dev, 'E.CRC32', d);
      return eCrc32(d);
    },
    toString: (...a: unknown[]) => {
      const s = eToString(a);
      dev.heap.allocating(Math.ceil(s.length / dev.config.blocksize) + 1);
      return s;
    },
    toUint8Array: (...a: unknown[]) => {
      const s = eToString(a);
      const u = new dev.builtins.Uint8Array(s.length);
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
    srand: (seed: unknown) => dev.config.random.srand(Number(seed)),
    hwRand: () => (hwRand() * 4294967296) | 0,
    getTemperature: () => 25,
    getAnalogVRef: () => 3.3,
    enableWatchdog: (timeout: unknown, isAuto?: unknown) => dev.loop.enableWatchdog(timeout, isAuto),
    kickWatchdog: () => dev.loop.kickWatchdog(),
    getSizeOf: (v: unknown, depth?: unknown) =>
      dev.heap.sizeOf(v, depth === undefined ? Infinity : Number(depth)),
    getErrorFlags: () => {
      const a = Array.from(dev.heap.errorFlags);
      dev.heap.errorFlags.clear();
      return vm.runInContext(`(${JSON.stringify(a)})`, dev.ctx);
    },
    reboot: () => {
      dev.requestReboot('E.reboot()', { kind: 'boot' });
      throw new Interrupt('reboot');
    },
    setBootCode: (code: unknown) => {
      const bytes = toBytes(code === undefined ? '' : String(code), 'E.setBootCode');
      dev.config.storage.set('.bootcde', bytes);
    },
    setFlags: () => {},
    getFlags: () => ({}),
    setConsole: () => {},
  };
  if (definesGetBattery(dev.config.board)) E.getBattery = () => 100;
  realmify(E, dev.builtins);
  dev.events.install(E);
  return E;
}

/** The `process` object: version, env, memory(). */
function processObject(dev: Device): Record<string, unknown> {
  return {
    version: ESPRUINO_VERSION,
    env: { VERSION: ESPRUINO_VERSION, BOARD: dev.config.board.toUpperCase() },
    memory: (gc?: unknown) => {
      void gc;
      const usage = dev.heap.measure();
      return {
        free: dev.config.jsVars - usage,
        usage,
        total: dev.config.jsVars,
        history: 0,
        gc: 0,
        gctime: 0,
        blocksize: dev.config.blocksize,
        stackFree: 4000,
      };
    },
    on: () => {},
  };
}
