/**
 * The link's defaults: scanning, connecting and the reconnect policy. The host's one defaults module
 * (host/src/defaults.ts) re-exports them beside the session's and the simulator's, so the library, the
 * CLI and the documentation (host/README.md) still read every default from one place.
 */

/** Link set-up: scanning and connecting. */
export const LINK_DEFAULTS = {
  /** Scan duration (ms). */
  scanTimeoutMs: 5000,
  /**
   * Connect deadline (ms), including discovery of a not-yet-seen device and GATT resolution.
   *
   * The library used 15 s (NodeBleLink, startSimEnv) and the configuration 10 s. 10 s it is: a
   * timed-out attempt is not the end (the reconnect policy tries again at once with backoff), so
   * the deadline only bounds how long one stuck attempt (BlueZ hanging in Connect, GATT that never
   * resolves) holds up the next. 10 s still spans several advertising intervals of an earbud in its
   * slowest (power-saving) advertising, and is what every CLI user has run with and host/README.md
   * documents.
   */
  connectTimeoutMs: 10000,
  /** Deadline for GATT service resolution after connecting (ms). */
  gattTimeoutMs: 5000,
  /** ATT MTU the central asks for. */
  mtu: 247,
} as const;

/** Reconnect backoff: min(max, initial × factor^(attempt−1)) × (1 − jitter × random). */
export const RECONNECT_DEFAULTS = {
  /**
   * First retry delay (ms). The library's BackoffPolicy used 100 ms and the configuration 250 ms.
   * 250 ms it is: right after a link loss BlueZ is still tearing the old connection down (and an
   * earbud needs a moment to advertise again), so a retry at 100 ms mostly fails and only costs an
   * attempt; 250 ms is what the CLI has always used and host/README.md documents.
   */
  initialDelayMs: 250,
  maxDelayMs: 5000,
  factor: 2,
  jitter: 0.2,
} as const;
