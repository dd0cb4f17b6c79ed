/**
 * InProcessLink: the Link over SimPeripheral objects living in this process (simulated earbuds), for
 * tests and for machines without BlueZ. Same semantics as NodeBleLink: payloadSize = ATT MTU − 3,
 * notifications are delivered asynchronously and in order, a peripheral-side disconnect ends the
 * connection with closed$ 'remote', writes after that reject with LinkError('disconnected').
 */
import { Observable, ReplaySubject, Subject } from 'rxjs';
import type { SimCentral, SimPeripheral } from './peripheral';
import { DOWNLINK_UUID, NUS_TX_UUID, SERVICE_UUID, UPLINK_UUID } from '@budlink/protocol';
import {
  LinkError,
  type Connection,
  type DisconnectReason,
  type DiscoveredDevice,
  type LinkErrorKind,
  type LocalDisconnect,
  type Link,
  type ScanOptions,
} from './link';
import { LineSplitter } from './lines';
import { negotiateMtu } from './mtu';

export interface InProcessPeripheralOptions {
  /** ATT MTU the central asks for (default 247); see negotiateMtu for the exchange. */
  mtu?: number;
  /** RSSI reported by scan (default -52 dBm). */
  rssi?: number;
}

export interface InProcessLinkOptions {
  peripherals?: SimPeripheral[];
}

interface Entry {
  peripheral: SimPeripheral;
  mtu: number;
  rssi: number;
  connection?: InProcessConnection;
}

export class InProcessLink implements Link {
  readonly kind = 'in-process' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly scans = new Set<() => void>();
  private closed = false;

  constructor(options: InProcessLinkOptions = {}) {
    for (const p of options.peripherals ?? []) this.addPeripheral(p);
  }

  addPeripheral(peripheral: SimPeripheral, options: InProcessPeripheralOptions = {}): void {
    const key = peripheral.address.toUpperCase();
    if (this.entries.has(key)) throw new Error(`peripheral ${key} already added`);
    const mtu = options.mtu ?? 247;
    if (!Number.isInteger(mtu) || mtu < 23 || mtu > 517)
      throw new Error(`ATT MTU ${mtu} out of range 23..517`);
    this.entries.set(key, { peripheral, mtu, rssi: options.rssi ?? -52 });
  }

  /** The peripheral disappears (out of range); an open connection to it ends with 'timeout'. */
  removePeripheral(address: string): void {
    const e = this.entries.get(address.toUpperCase());
    if (e === undefined) return;
    e.connection?.end('timeout', true);
    this.entries.delete(address.toUpperCase());
  }

  scan(options: ScanOptions): Observable<DiscoveredDevice> {
    return new Observable<DiscoveredDevice>((subscriber) => {
      if (this.closed) {
        subscriber.error(new LinkError('bluez-unavailable', 'link closed'));
        return undefined;
      }
      const found = setTimeout(() => {
        for (const e of this.entries.values()) {
          const p = e.peripheral;
          if (!p.advertisedServices().some((u) => u.toLowerCase() === SERVICE_UUID)) continue;
          if (options.namePrefix !== undefined && !p.name.startsWith(options.namePrefix)) continue;
          const address = p.address.toUpperCase();
          subscriber.next({ id: address, address, name: p.name, rssi: e.rssi });
        }
      }, 0);
      const end = setTimeout(() => subscriber.complete(), options.timeoutMs);
      const cancel = (): void => {
        clearTimeout(found);
        clearTimeout(end);
        this.scans.delete(cancel);
      };
      this.scans.add(cancel);
      return cancel;
    });
  }

  async connect(deviceId: string, _options: { timeoutMs?: number } = {}): Promise<Connection> {
    if (this.closed) throw new LinkError('bluez-unavailable', 'link closed');
    await Promise.resolve(); // connect is never synchronous on a real link
    const e = this.entries.get(deviceId.toUpperCase());
    if (e === undefined) throw new LinkError('not-found', `${deviceId} not found`);
    if (e.connection !== undefined)
      throw new LinkError('gatt', `${deviceId} is already connected on this link`);
    const services = e.peripheral.services();
    const budlink = services.find((s) => s.uuid.toLowerCase() === SERVICE_UUID);
    if (budlink === undefined)
      throw new LinkError('gatt', `${deviceId} has no Budlink service ${SERVICE_UUID}`);
    const chars = new Map(budlink.characteristics.map((c) => [c.uuid.toLowerCase(), c.flags]));
    const upFlags = chars.get(UPLINK_UUID);
    const downFlags = chars.get(DOWNLINK_UUID);
    if (upFlags === undefined || downFlags === undefined) {
      throw new LinkError('gatt', `${deviceId}: Budlink uplink/downlink characteristic missing`);
    }
    if (!upFlags.includes('notify')) throw new LinkError('gatt', `${deviceId}: uplink does not notify`);
    if (!downFlags.includes('write-without-response') && !downFlags.includes('write')) {
      throw new LinkError('gatt', `${deviceId}: downlink is not writable`);
    }
    const hasConsole = services.some((s) =>
      s.characteristics.some((c) => c.uuid.toLowerCase() === NUS_TX_UUID),
    );
    const address = e.peripheral.address.toUpperCase();
    const mtu = negotiateMtu(e.mtu, e.peripheral);
    const conn = new InProcessConnection(
      { id: address, address, name: e.peripheral.name, rssi: e.rssi },
      e.peripheral,
      mtu - 3,
      hasConsole,
      upFlags.includes('read'),
      () => {
        if (e.connection === conn) e.connection = undefined;
      },
    );
    try {
      e.peripheral.connect(conn.central, { mtu });
    } catch (err) {
      throw new LinkError(
        'disconnected',
        `connect to ${deviceId}: ${err instanceof Error ? err.message : String(err)}`,
        err,
      );
    }
    e.connection = conn;
    return conn;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const cancel of [...this.scans]) cancel();
    await Promise.all([...this.entries.values()].map((e) => e.connection?.disconnect()));
  }
}

class InProcessConnection implements Connection {
  private readonly framesSubject = new Subject<Uint8Array>();
  private readonly consoleSubject = new Subject<string>();
  private readonly closedSubject = new ReplaySubject<DisconnectReason>(1);
  readonly frames$ = this.framesSubject.asObservable();
  readonly console$ = this.consoleSubject.asObservable();
  readonly closed$ = this.closedSubject.asObservable();
  private readonly lines = new LineSplitter();
  private done = false;
  /** Deliveries queued for the next microtask, in order (no re-entrancy into the peripheral's write). */
  private readonly queue: Array<() => void> = [];
  readonly central: SimCentral;

  constructor(
    readonly device: DiscoveredDevice,
    private readonly peripheral: SimPeripheral,
    readonly payloadSize: number,
    hasConsole: boolean,
    private readonly uplinkReadable: boolean,
    private readonly onEnd: () => void,
  ) {
    this.central = {
      onNotify: (charUuid, value) => {
        if (this.done) return;
        const uuid = charUuid.toLowerCase();
        const copy = value.slice();
        if (uuid === UPLINK_UUID) this.enqueue(() => this.framesSubject.next(copy));
        else if (uuid === NUS_TX_UUID && hasConsole) {
          this.enqueue(() => {
            for (const line of this.lines.push(copy)) this.consoleSubject.next(line);
          });
        }
      },
      onDisconnect: (why) => {
        if (this.done) return;
        // After the notifications already queued, as on a real link. A peripheral that loses power
        // sends no terminate: the central sees a supervision timeout.
        const reason: DisconnectReason = why === 'power-cycle' ? 'timeout' : 'remote';
        this.enqueue(() => this.end(reason, false));
      },
    };
  }

  private enqueue(f: () => void): void {
    this.queue.push(f);
    if (this.queue.length === 1) {
      queueMicrotask(() => {
        while (this.queue.length > 0) {
          const next = this.queue[0] as () => void;
          next();
          this.queue.shift();
        }
      });
    }
  }

  end(reason: DisconnectReason, disconnectPeripheral: boolean): void {
    if (this.done) return;
    this.done = true;
    if (disconnectPeripheral) {
      try {
        this.peripheral.disconnect();
      } catch {
        // already disconnected on its side
      }
    }
    this.onEnd();
    const tail = this.lines.flush();
    if (tail !== undefined) this.consoleSubject.next(tail);
    this.framesSubject.complete();
    this.consoleSubject.complete();
    this.closedSubject.next(reason);
    this.closedSubject.complete();
  }

  async write(frame: Uint8Array): Promise<void> {
    if (this.done) throw new LinkError('disconnected', `${this.device.address} is not connected`);
    if (frame.length === 0 || frame.length > this.payloadSize) {
      throw new LinkError(
        'write-failed',
        `frame of ${frame.length} bytes does not fit (1..${this.payloadSize})`,
      );
    }
    try {
      this.peripheral.write(DOWNLINK_UUID, frame.slice());
    } catch (e) {
      throw this.failed(e, 'write-failed', `write to ${this.device.address}`);
    }
  }

  async readUplink(): Promise<Uint8Array> {
    await Promise.resolve(); // a read is never synchronous on a real link
    if (this.done) throw new LinkError('disconnected', `${this.device.address} is not connected`);
    if (!this.uplinkReadable) throw new LinkError('gatt', `${this.device.address}: uplink is not readable`);
    try {
      return this.peripheral.read(UPLINK_UUID).slice();
    } catch (e) {
      throw this.failed(e, 'gatt', `read of ${this.device.address}'s uplink`);
    }
  }

  /** A failed write or read: the link is lost if the peripheral went away, else a `kind` error. */
  private failed(e: unknown, kind: LinkErrorKind, what: string): LinkError {
    if (!this.peripheral.connected) {
      this.end('remote', false);
      return new LinkError('disconnected', `${this.device.address} is not connected`, e);
    }
    return new LinkError(kind, `${what}: ${e instanceof Error ? e.message : String(e)}`, e);
  }

  async disconnect(reason: LocalDisconnect = 'local'): Promise<void> {
    this.end(reason, true);
  }
}
