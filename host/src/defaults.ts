/**
 * Every default of the host bridge, in one place: the configuration (config/config.ts), the per-device
 * session and the CLI read their values from here, so the library, the CLI and the documentation
 * (host/README.md) cannot drift apart again. The link's defaults (scanning, connecting, the reconnect
 * policy) live with the links in `@budlink/link` (host/link/src/defaults.ts) and are re-exported here.
 * The pipeline operators take their options explicitly; only runSession and the library entry points
 * fill them from here.
 */

export { LINK_DEFAULTS, RECONNECT_DEFAULTS } from '@budlink/link';

/** The per-device session (runSession); the configuration's `session` section mirrors these. */
export const SESSION_DEFAULTS = {
  /** PING period sent in WELCOME (ms; 0: none). */
  keepAliveMs: 2000,
  /** Device silence after which the link is dropped, as a multiple of keepAliveMs. */
  keepAliveTimeoutFactor: 4,
  /** A connection that sends no HELLO within this is dropped (ms; PROTOCOL.md §5; 0: never). */
  helloTimeoutMs: 3000,
  /** Phase inactivity timeouts (ms). */
  timeouts: { utterance: 5000, verifying: 5000, thinking: 30000, speaking: 10000 },
  /**
   * The longest utterance the bridge accepts (ms of audio at the negotiated rate): a longer one is
   * cancelled and reported, not sent. A minute is far past any spoken request; it bounds what one
   * earbud can make the bridge hold and send to the voice service.
   */
  maxUtteranceMs: 60000,
  /**
   * Utterances one earbud may send to the voice service a minute (0: no limit); more are refused
   * with GATE REJECT and reported. Nobody speaks 20 requests a minute to an assistant; an earbud
   * that does is faulty or hostile, and each request costs money.
   */
  maxUtterancesPerMinute: 20,
  /** Log lines one earbud may cause at once, and a second after that (debug lines apart). */
  logBurst: 50,
  logPerSecond: 10,
  /** Re-NACK period while an utterance has gaps (ms). */
  nackIntervalMs: 150,
  /** ACK every N uplink frames. */
  ackEveryFrames: 8,
  /** Reassembly window when the device's HELLO gives no ring size (frames). */
  window: 256,
  /** PLAY frames before the device's first CREDIT of a reply. */
  playInitialWindow: 4,
  /** No CREDIT for this long while frames are outstanding: the reply is stalled (ms). */
  playStallMs: 5000,
  /** Extra wait after the last PLAY for the device to report the end of playback (ms). */
  playDrainMarginMs: 500,
  /**
   * Out of credit this long with frames waiting: re-send the last PLAY frame, which the device answers
   * with a CREDIT (PROTOCOL.md §7), in case the last CREDIT was lost (ms).
   */
  playCreditProbeMs: 400,
  /**
   * A NACK for the same frame again within this is not answered (ms): the re-send is on its way, and a
   * flood of NACKs must not turn into a flood of writes.
   */
  playNackHoldMs: 100,
} as const;

/** Simulated earbuds (simulate, demo, e2e). */
export const SIM_DEFAULTS = {
  board: 'nrf52840dk',
  /** Device clock acceleration. */
  speed: 4,
  /** Deadline for each start-up step of a simulated environment (ms). */
  stepTimeoutMs: 15000,
} as const;
