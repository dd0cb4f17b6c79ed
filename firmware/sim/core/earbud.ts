/**
 * The simulated earbud as its users see it, on either engine (docs/adr/0005): the vm simulator
 * (vm/earbud.ts) and the real interpreter (espruino/earbud.ts) both implement `Earbud`, take
 * `CommonEarbudOptions` plus their own, and count at least `EarbudCounters`. Hosts, scenarios and
 * commands are written against these, never against an engine class.
 */
import type { TimedPeripheral } from '@budlink/link';
import type { BoardProfile } from '@budlink/firmware/boards';
import type { LinkModelOptions, LinkStats } from './link';

/** Microphone audio to queue: 16-bit signed (quantised like the ADC) or 8-bit unsigned samples. */
export interface QueuedAudio {
  samples: Int16Array | Uint8Array;
  rate: number;
}

/** What both engines take; each engine's options add their own. */
export interface CommonEarbudOptions {
  /** Board profile id, e.g. 'nrf52840dk', 'puckjs', 'thingy52', 'microbit2'. */
  board: string;
  /** Path of the built bundle (default: the one the engine deploys, in firmware/dist/). */
  bundlePath?: string;
  name?: string;
  address?: string;
  link?: LinkModelOptions;
  /**
   * Seed of Espruino's rand() (Math.random, so the HELLO nonces): srand(seed) at every power-on, the
   * same on both engines, so both draw the same values. Default 1 (`link.seed` is the link's own, for
   * drops).
   */
  seed?: number;
  /**
   * Audio queued for the microphone before power-on, so that it starts at the first ADC sample (both
   * engines then cut it into the same mic buffers): 16-bit signed or 8-bit unsigned, at `rate` Hz.
   */
  audio?: QueuedAudio[];
}

/** What both engines count (each engine's `stats()` adds its own figures). */
export interface EarbudCounters extends LinkStats {
  /** JsVars of the heap. */
  jsVarsTotal: number;
  /** JsVars in use right after boot (E.on('init') handlers included). */
  bootJsVars: number;
  /** Out-of-memory errors. */
  outOfMemory: number;
  /** Errors that escaped a handler ("Uncaught ..."). */
  handlerErrors: number;
  watchdogResets: number;
  /** Power cycles and resets (watchdog, E.reboot(), reset()/load()). */
  reboots: number;
}

/** A simulated earbud running the built firmware bundle, on either engine. */
export interface Earbud extends TimedPeripheral {
  readonly board: BoardProfile;
  /** Largest ATT MTU the earbud's link accepts (the board's radio limit, or `link.mtu`). */
  readonly maxMtu: number;
  /** Console output of the device, one line per entry. */
  readonly logs: string[];
  /** Queue microphone audio (16-bit signed: quantised like the ADC; 8-bit unsigned: as is). */
  feedAudio(samples: Int16Array | Uint8Array, sampleRate: number): void;
  /** Queue a WAV file (8- or 16-bit PCM; first channel). Returns its duration in ms. */
  feedWav(path: string): number;
  /** Queue `ms` of digital silence (128) at the board's rate. */
  feedSilence(ms: number): void;
  /** Drop audio not yet sampled. */
  clearAudio(): void;
  /** Audio samples queued but not yet sampled, at the board's rate. */
  pendingAudioSamples(): number;
  /**
   * Press the button and release it `ms` later (device time). Now, or with `atSample` just before the
   * ADC takes that sample (a micSamples() index): a point on the audio timeline, the same on both engines.
   */
  pressButton(ms: number, atSample?: number): void;
  /** Every sample the speaker played so far (8-bit unsigned, 128 = silence). */
  speakerSamples(): Uint8Array;
  /** Every sample the microphone ADC took (8-bit unsigned), across power cycles. */
  micSamples(): Uint8Array;
  /** LED levels as last written (pin name -> 0/1). */
  leds(): Record<string, number>;
  stats(): EarbudCounters;
  /** Cut power and boot again: RAM, timers and the connection are lost; Storage is kept. */
  powerCycle(): void | Promise<void>;
  /** Stop the earbud and release everything. Idempotent. */
  stop(): void | Promise<void>;
}
