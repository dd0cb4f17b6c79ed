/**
 * Link-rate arithmetic on a board profile (docs/FIRMWARE.md §Link-rate arithmetic): the uplink bytes a
 * link sustains, the rate the link drains notifications at, and the rate the pacer allows.
 *
 * This file is compiled into the firmware bundle: Espruino subset only (no spread, no destructuring).
 */
import type { BoardProfile } from './profiles';

/** BLE connection interval the firmware requests (ms). */
export const CONNECTION_INTERVAL_MS = 7.5;
/** Share of the one-notification-per-packet ceiling Espruino achieves in practice (docs/FIRMWARE.md). */
export const LINK_EFFICIENCY = 0.9;
/** Frame header bytes (protocol HEADER_BYTES; repeated here so this module imports nothing). */
const FRAME_HEADER = 4;

/**
 * Sustainable uplink audio bytes per second at `payload` (whole-frame size): packets per connection
 * event × events per second × audio bytes per frame × practical efficiency.
 */
export function linkBytesPerSecond(board: BoardProfile, payload: number): number {
  return Math.floor(
    ((board.packetsPerInterval * 1000) / CONNECTION_INTERVAL_MS) * (payload - FRAME_HEADER) * LINK_EFFICIENCY,
  );
}

/** Notifications the BLE stack queues (Espruino/SoftDevice default); past it updateServices drops. */
export const TX_QUEUE = 6;

/**
 * Notifications per second the link drains in practice: packets per connection event × events per
 * second × LINK_EFFICIENCY. The pacer's token bucket refills at this rate.
 */
export function drainPerSecond(board: BoardProfile): number {
  return ((board.packetsPerInterval * 1000) / CONNECTION_INTERVAL_MS) * LINK_EFFICIENCY;
}

/**
 * Notifications per second the pacer allows: the bucket's refill rate, or the burst per tick when the
 * tick is too slow to use all of it.
 */
export function pacedFramesPerSecond(board: BoardProfile): number {
  const perTick = (board.pacing.burst * 1000) / board.pacing.tickMs;
  const drain = drainPerSecond(board);
  return perTick < drain ? perTick : drain;
}
