/**
 * The device's observable behaviour in numbers: the protocol timers it keeps, the pacer's idle period,
 * its control-frame queue, the wake detector's minimum speech, and the counters it reports. The App
 * (app.ts) runs on them; tests and docs read them here.
 */

/** Timing constants (ms) of the device's observable behaviour. */
export const TIMING = {
  /** HELLO is repeated this often until WELCOME. */
  helloMs: 1000,
  /** ... at most this many times per connection. */
  helloTries: 10,
  statusMs: 5000,
  /** Re-send the newest unacknowledged frame after this long without ACK progress. */
  rtoMs: 500,
  /** Abandon an utterance stream with no ACK for this long. */
  giveUpMs: 10000,
  /** A button press shorter than this is a tap. */
  tapMs: 600,
  watchdogS: 5,
};

/** VAD threshold factor while the speaker plays (≈ +6 dB): echo of the reply is not a barge-in. */
export const ECHO_BIAS = 4;

/**
 * Pacer period (ms) while there is nothing to send: it only kicks the watchdog (5 s) and updates the
 * LEDs, and every tick costs the idle device CPU.
 */
export const IDLE_TICK_MS = 1000;

/** Control frames waiting for the pacer, at most (older ones are dropped and counted). */
export const CONTROL_QUEUE = 8;

/**
 * Minimum sustained speech for the VAD wake detector at a given WAKE_SENSITIVITY, in samples at
 * `rate`: 50 ms at the most sensitive (255), 560 ms at the least (0).
 */
export function minSpeechSamples(sensitivity: number, rate: number): number {
  return Math.round(((50 + (255 - sensitivity) * 2) * rate) / 1000);
}

export interface AppCounters {
  /** Mic buffers lost to a late handler. */
  overruns: number;
  /** Handler exceptions caught. */
  errors: number;
  /** Malformed or refused frames from the host. */
  refused: number;
  /** Control frames dropped because the queue was full. */
  controlDropped: number;
  /** notify() calls that threw. */
  notifyFailed: number;
}
