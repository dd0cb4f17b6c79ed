/**
 * The simulated earbud's options and figures: the built firmware bundle running in a vm context with
 * emulated Espruino globals. The peripheral contract it implements (SimPeripheral, SimCentral, ...)
 * is `@budlink/link`'s.
 */
import type { CommonEarbudOptions } from '../core/earbud';

/** The vm engine's options (`bundlePath` defaults to firmware/dist/<board>.min.js). */
export interface VmEarbudOptions extends CommonEarbudOptions {
  /** Program text to run instead of a bundle file (tests of the emulated globals). */
  source?: string;
  /** 'virtual': time moves only by advance(); 'real': timers run on the host clock scaled by speed. */
  clock?: 'virtual' | 'real';
  speed?: number;
  /**
   * The device's CPU speed relative to a 64 MHz nRF52 at the cost model's central calibration (default
   * 1: jobs take the device time the calibrated model says, so overruns and late timers happen as they
   * would on the device). Above 1 the device is faster than any nRF52: for tests of the firmware's logic
   * rather than of its real-time capacity (docs/FIRMWARE.md, "CPU budget").
   */
  cpuSpeed?: number;
  /**
   * Where the program's code lives for JsVar accounting: 'storage' (default: uploaded to Storage and
   * run with load(), function bodies stay in flash) or 'ram' (sent line by line to the REPL: function
   * bodies are copied into JsVars).
   */
  upload?: 'ram' | 'storage';
}

export interface EarbudStats {
  jsVarsUsed: number;
  jsVarsTotal: number;
  overruns: number;
  handlerErrors: number;
  notificationsDropped: number;
  /** Cost units per handler invocation, max seen (see docs for the unit). */
  maxHandlerCost: number;
}
