/**
 * BLE link model between the simulated earbud and one central: what the nRF52 SoftDevice does with
 * notifications and writes, in device time.
 *
 * - Notifications go into the stack's TX queue (`queueDepth`). When it is full, updateServices drops the
 *   notification SILENTLY (NRF_ERROR_RESOURCES is ignored by Espruino): counted, never reported to JS.
 * - Each connection event (every `intervalMs`) sends up to `packetsPerInterval` queued notifications;
 *   payload = MTU - 3 (a longer value is truncated by the SoftDevice, as hvx does).
 * - `dropRate` adds random loss of queued notifications (fault injection; real BLE retransmits at the
 *   link layer, so this models a stack/host that loses them), from a seeded PRNG.
 * - Writes from the central arrive in order, up to `packetsPerInterval` per connection event (the same
 *   event-length limit as notifications, in the other direction: a connection event exchanges that
 *   many packet pairs); the rest wait in the central's queue for the next events.
 * - Connection interval: a fixed value when the firmware calls setConnectionInterval(ms) or the central
 *   imposes `intervalMs`; Espruino's dynamic default otherwise (7.5 ms while active, 200 ms after 30 s
 *   without traffic, ~1.5 s to come back).
 */
import type { SimCentral } from '@budlink/link';
import { mulberry32 } from '@budlink/protocol/audio';

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

export interface LinkStats {
  notificationsSent: number;
  /** Queue full (silent, as on the device) plus injected random loss. */
  notificationsDropped: number;
  notificationsQueueFull: number;
  notificationsLost: number;
  notificationsTruncated: number;
  writesDelivered: number;
}

export { mulberry32 };

export interface LinkHost {
  /** Schedule a hardware event at device time `t` (ms). */
  at(t: number, fn: (now: number) => void): void;
  /** Deliver a write to the firmware (queues the onWrite job). */
  deliverWrite(charUuid: string, data: Uint8Array): void;
}

/** All-zero link counters. */
export function emptyLinkStats(): LinkStats {
  return {
    notificationsSent: 0,
    notificationsDropped: 0,
    notificationsQueueFull: 0,
    notificationsLost: 0,
    notificationsTruncated: 0,
    writesDelivered: 0,
  };
}

export class LinkModel {
  readonly stats: LinkStats = emptyLinkStats();
  central: SimCentral | null = null;
  mtu = 23;
  private readonly tx: { uuid: string; value: Uint8Array }[] = [];
  private readonly rx: { uuid: string; value: Uint8Array }[] = [];
  private readonly rand: () => number;
  private anchor = 0;
  private eventScheduled = false;
  /** Interval requested by the firmware (null = Espruino's dynamic default). */
  private requested: number | null = null;
  private lastActivity = 0;
  private slowSince: number | null = null;
  private fastAgainAt: number | null = null;
  /** Increments on connect/disconnect so stale scheduled events do nothing. */
  private epoch = 0;

  constructor(
    private readonly opts: Required<
      Pick<LinkModelOptions, 'packetsPerInterval' | 'queueDepth' | 'dropRate'>
    > &
      LinkModelOptions,
    private readonly deviceMaxMtu: number,
    private readonly host: LinkHost,
  ) {
    this.rand = mulberry32(opts.seed ?? 1);
  }

  get connected(): boolean {
    return this.central !== null;
  }

  get payload(): number {
    return this.mtu - 3;
  }

  /** Current connection interval in ms. */
  interval(now: number): number {
    if (this.opts.intervalMs !== undefined) return this.opts.intervalMs;
    if (this.requested !== null) return this.requested;
    if (this.fastAgainAt !== null && now >= this.fastAgainAt) {
      this.fastAgainAt = null;
      this.slowSince = null;
    }
    if (this.slowSince === null && now - this.lastActivity > 30000) this.slowSince = now;
    return this.slowSince !== null ? 200 : 7.5;
  }

  setRequestedInterval(ms: number | null): void {
    this.requested = ms === null ? null : Math.min(4000, Math.max(7.5, ms));
  }

  connect(central: SimCentral, mtu: number, now: number): void {
    this.central = central;
    this.mtu = Math.max(23, Math.min(mtu, this.deviceMaxMtu));
    this.anchor = now;
    this.lastActivity = now;
    this.slowSince = null;
    this.fastAgainAt = null;
    this.epoch++;
    this.eventScheduled = false;
    this.tx.length = 0;
    this.rx.length = 0;
  }

  disconnect(): SimCentral | null {
    const c = this.central;
    this.central = null;
    this.epoch++;
    this.eventScheduled = false;
    this.tx.length = 0;
    this.rx.length = 0;
    return c;
  }

  /** updateServices({notify:true}): queue or drop silently. */
  notify(uuid: string, value: Uint8Array, now: number): void {
    if (this.central === null) return; // not connected: Espruino just sets the value
    let v = value;
    if (v.length > this.payload) {
      v = v.subarray(0, this.payload);
      this.stats.notificationsTruncated++;
    }
    if (this.tx.length >= this.opts.queueDepth) {
      this.stats.notificationsQueueFull++;
      this.stats.notificationsDropped++;
      return;
    }
    this.tx.push({ uuid, value: new Uint8Array(v) });
    this.activity(now);
    this.schedule(now);
  }

  /** Free slots in the TX queue (diagnostics). */
  queueFree(): number {
    return this.opts.queueDepth - this.tx.length;
  }

  /** A write from the central; delivered at the next connection event. */
  write(uuid: string, value: Uint8Array, now: number): void {
    this.rx.push({ uuid, value: new Uint8Array(value) });
    this.activity(now);
    this.schedule(now);
  }

  private activity(now: number): void {
    if (this.requested === null && this.opts.intervalMs === undefined) {
      if (this.slowSince === null && now - this.lastActivity > 30000)
        this.slowSince = this.lastActivity + 30000;
      if (this.slowSince !== null && this.fastAgainAt === null) this.fastAgainAt = now + 1500;
    }
    this.lastActivity = now;
  }

  private schedule(now: number): void {
    if (this.eventScheduled || this.central === null) return;
    const iv = this.interval(now);
    // next connection event strictly after `now` on the anchor grid
    const k = Math.floor((now - this.anchor) / iv) + 1;
    const t = this.anchor + k * iv;
    this.eventScheduled = true;
    const epoch = this.epoch;
    this.host.at(t, (at) => this.connectionEvent(at, epoch));
  }

  private connectionEvent(now: number, epoch: number): void {
    if (epoch !== this.epoch || this.central === null) return;
    this.eventScheduled = false;
    const iv = this.interval(now);
    this.anchor = now; // interval changes take effect from here
    void iv;
    const central = this.central;
    const writes = this.rx.splice(0, this.opts.packetsPerInterval);
    for (const w of writes) {
      this.stats.writesDelivered++;
      this.host.deliverWrite(w.uuid, w.value);
    }
    for (let i = 0; i < this.opts.packetsPerInterval && this.tx.length > 0; i++) {
      const n = this.tx.shift()!;
      if (this.opts.dropRate > 0 && this.rand() < this.opts.dropRate) {
        this.stats.notificationsLost++;
        this.stats.notificationsDropped++;
        continue;
      }
      this.stats.notificationsSent++;
      central.onNotify(n.uuid, n.value);
      if (this.central !== central || epoch !== this.epoch) return; // the central disconnected in its callback
    }
    if (this.tx.length > 0 || this.rx.length > 0) this.schedule(now);
  }
}
