/**
 * The simulated earbud's public surface: the built firmware bundle running in a vm context with
 * emulated Espruino globals. The BlueZ emulator and the in-process link put a central in front of it.
 */

export interface SimCharacteristic {
  uuid: string; // lower-case 128-bit form
  /** BlueZ-style flags: 'read', 'write', 'write-without-response', 'notify'. */
  flags: string[];
}
export interface SimService {
  uuid: string;
  characteristics: SimCharacteristic[];
}

/** What the simulator calls on the connected central. */
export interface SimCentral {
  /** A notification the link delivered (after the link model: pacing, queue, drops). */
  onNotify(charUuid: string, value: Uint8Array): void;
  onDisconnect(reason: 'remote' | 'power-cycle'): void;
}

export interface LinkModelOptions {
  /** ATT MTU negotiated by the central (payload = mtu - 3). Default from the board profile. */
  mtu?: number;
  /** Connection interval in ms (default 7.5). */
  intervalMs?: number;
  /** Notifications delivered per connection event (default 1 on nRF52832 boards, 2 on nRF52840). */
  packetsPerInterval?: number;
  /** Notifications the stack can queue; past it updateServices drops silently (default 6). */
  queueDepth?: number;
  /** Extra random loss of queued notifications, 0..1 (fault injection). */
  dropRate?: number;
  /** Seed for the drop PRNG. */
  seed?: number;
}

export interface EarbudOptions {
  /** Board profile id, e.g. 'nrf52840dk', 'puckjs', 'thingy52', 'microbit2'. */
  board: string;
  /** Path of the built bundle (default firmware/dist/<board>.min.js). */
  bundlePath?: string;
  /** Program text to run instead of a bundle file (tests of the emulated globals). */
  source?: string;
  /** 'virtual': time moves only by advance(); 'real': timers run on the host clock scaled by speed. */
  clock?: 'virtual' | 'real';
  speed?: number;
  link?: LinkModelOptions;
  /**
   * Seed of Espruino's rand() (Math.random, so the HELLO nonces): srand(seed) at every power-on, as
   * the real interpreter's engine does with its `seed` option, so both draw the same values. Default 1
   * (`link.seed` is the link's own, for drops).
   */
  seed?: number;
  /**
   * The device's CPU speed relative to a 64 MHz nRF52 at the cost model's central calibration (default
   * 1: jobs take the device time the calibrated model says, so overruns and late timers happen as they
   * would on the device). Above 1 the device is faster than any nRF52: for tests of the firmware's logic
   * rather than of its real-time capacity (docs/FIRMWARE.md, "CPU budget").
   */
  cpuSpeed?: number;
  name?: string;
  address?: string;
  /**
   * Where the program's code lives for JsVar accounting: 'storage' (default: uploaded to Storage and
   * run with load(), function bodies stay in flash) or 'ram' (sent line by line to the REPL: function
   * bodies are copied into JsVars).
   */
  upload?: 'ram' | 'storage';
  /**
   * Audio queued for the microphone before power-on, so that it starts at the first ADC sample (both
   * engines then cut it into the same mic buffers): 16-bit signed or 8-bit unsigned, at `rate` Hz.
   */
  audio?: QueuedAudio[];
}

/** Microphone audio to queue: 16-bit signed (quantised like the ADC) or 8-bit unsigned samples. */
export interface QueuedAudio {
  samples: Int16Array | Uint8Array;
  rate: number;
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

/**
 * A BLE peripheral as a central sees it. SimulatedEarbud implements it; the BlueZ emulator and the
 * in-process link host any SimPeripheral.
 */
export interface SimPeripheral {
  readonly name: string;
  /** 'AA:BB:CC:DD:EE:FF' */
  readonly address: string;
  /** Advertised service UUIDs. */
  advertisedServices(): string[];
  /** GATT database (as the firmware declared it with NRF.setServices). */
  services(): SimService[];
  /** Connect one central; mtu is the ATT MTU the central negotiated. Throws if already connected. */
  connect(central: SimCentral, options: { mtu: number }): void;
  /** Central-initiated disconnect. */
  disconnect(): void;
  /** A write (with or without response) to a characteristic, as the firmware's onWrite sees it. */
  write(charUuid: string, value: Uint8Array): void;
  /** Current value of a readable characteristic. */
  read(charUuid: string): Uint8Array;
  readonly connected: boolean;
}

/**
 * A peripheral with a device clock that a test host can wait on: both engines (the vm simulator and
 * the real interpreter) implement it, so protocol hosts and scenarios run unchanged on either.
 */
export interface TimedPeripheral extends SimPeripheral {
  /** Device time in ms. */
  readonly now: number;
  /** Let `ms` of device time pass (instant on the vm engine's virtual clock). */
  wait(ms: number): Promise<void>;
}
