/**
 * The link between the bridge and earbuds. Implementations: NodeBleLink (node-ble over BlueZ,
 * the only file importing node-ble) and InProcessLink (simulated earbuds in this process).
 * One contract suite (test/host/link/link-contract.ts) runs against both; see host/link/README.md.
 */
import type { Observable } from 'rxjs';

export interface DiscoveredDevice {
  /** Stable id for this link (BLE address for NodeBleLink). */
  id: string;
  address: string;
  name: string;
  /** dBm, when the adapter reports it. */
  rssi?: number;
}

export interface ScanOptions {
  timeoutMs: number;
  /** Only devices whose name starts with this. */
  namePrefix?: string;
}

/**
 * Why a connection ended: 'local' = disconnect() was called (the owner is done with the device);
 * 'dropped' = disconnect('dropped') was called: this side ended a link that went silent or never
 * said HELLO, and the owner reconnects; 'remote' = the device (or another client) ended it;
 * 'timeout' = the link was lost (supervision timeout: out of range, power loss); 'bluez-gone' =
 * bluetoothd (or the bus) went away; 'error' = set-up failed after connecting.
 */
export type DisconnectReason = 'local' | 'dropped' | 'remote' | 'timeout' | 'bluez-gone' | 'error';

/** The reasons a caller of Connection.disconnect() gives (default 'local'). */
export type LocalDisconnect = Extract<DisconnectReason, 'local' | 'dropped'>;

export interface Connection {
  readonly device: DiscoveredDevice;
  /** Largest frame the link carries (ATT MTU - 3), >= 20. */
  readonly payloadSize: number;
  /** Notifications from the uplink characteristic, one frame each. Completes on disconnect. */
  readonly frames$: Observable<Uint8Array>;
  /** Text the device prints on its Nordic UART console (device logs), line by line. */
  readonly console$: Observable<string>;
  /** Emits once when the connection is lost or closed, then completes. */
  readonly closed$: Observable<DisconnectReason>;
  /** Write-without-response of one frame to the downlink characteristic. Rejects with LinkError. */
  write(frame: Uint8Array): Promise<void>;
  /**
   * Read the uplink characteristic's current value: the device's current HELLO (PROTOCOL.md §1), so
   * a host need not wait for the device's next HELLO notification (the one sent at connect, before
   * the host subscribed, is lost). Rejects with LinkError ('gatt' if not readable, 'timeout',
   * 'disconnected'). Optional so that wrappers and fakes without it still fit: the session then
   * waits for the notified HELLO.
   */
  readUplink?(): Promise<Uint8Array>;
  /** End the link; closed$ emits `reason` (default 'local': the owner stops, 'dropped': it reconnects). */
  disconnect(reason?: LocalDisconnect): Promise<void>;
}

export interface Link {
  readonly kind: 'node-ble' | 'in-process';
  /** Devices advertising the Budlink service, as they are found. Completes after timeoutMs. */
  scan(options: ScanOptions): Observable<DiscoveredDevice>;
  /** Connect, resolve GATT (with a timeout), subscribe. Rejects with LinkError. */
  connect(deviceId: string, options?: { timeoutMs?: number }): Promise<Connection>;
  /** Release adapters, buses and timers. */
  close(): Promise<void>;
}

export type LinkErrorKind =
  'not-found' | 'timeout' | 'gatt' | 'disconnected' | 'bluez-unavailable' | 'write-failed';

export class LinkError extends Error {
  constructor(
    readonly kind: LinkErrorKind,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}
