/**
 * NodeBleLink: the Link over BlueZ through node-ble. With node-ble-connection.ts and
 * node-ble-session.ts, THE ONLY FILES THAT IMPORT node-ble.
 *
 * Pitfalls handled (host/link/README.md):
 * - `gatt()` has no timeout and can hang forever if ServicesResolved flips between its read and its
 *   subscription: the link waits for ServicesResolved on its own subscription first, then races
 *   gatt() against gattTimeoutMs (→ disconnect, LinkError('timeout')).
 * - `device.disconnect()` drops node-ble's listeners, so a later Connected=false fires no event: this
 *   link watches Device1.Connected itself (own PropertiesChanged subscription) and also polls it.
 * - bluetoothd vanishing fires no disconnect at all and every call fails with ServiceUnknown: the link
 *   watches NameOwnerChanged for org.bluez and treats ServiceUnknown as a disconnect ('bluez-gone').
 * - `startDiscovery()` throws if discovery is already on: started only when off (shared by this
 *   link's scans and connects), stopped only if this link started it.
 * - `waitDevice()` swallows errors and outlives destroy(): not used; see discoverDevice.
 * - node-ble leaves listeners behind when Disconnect/StopNotify fail: released when a connection ends.
 * - Teardown order that ends cleanly: stop notifications → disconnect → destroy.
 */
import nodeBle from 'node-ble';
import type { MessageBus } from 'dbus-next';
import * as dbus from 'dbus-next';
import { Observable } from 'rxjs';
import { SERVICE_UUID } from '@budlink/protocol';
import { LinkError, type Connection, type DiscoveredDevice, type Link, type ScanOptions } from './link';
import { LINK_DEFAULTS } from './defaults';
import { NodeBleConnection } from './node-ble-connection';
import {
  BLUEZ,
  DEFAULT_SYSTEM_BUS,
  DEVICE_IFACE,
  dbusErrorName,
  devicePath,
  getAll,
  isBluezGone,
  message,
  releaseNodeBleListeners,
  toLinkError,
  type Session,
} from './node-ble-session';
import { TimeoutError, within } from './within';

type Bluetooth = nodeBle.Bluetooth;
type Adapter = nodeBle.Adapter;
type Device = nodeBle.Device;

export interface NodeBleLinkOptions {
  /** D-Bus address of the system bus. Default: DBUS_SYSTEM_BUS_ADDRESS at construction, else the standard socket. */
  busAddress?: string;
  /** Adapter name, e.g. 'hci0' (default: the first one BlueZ lists). */
  adapter?: string;
  /** Default connect deadline, including discovery of a not-yet-seen device (default LINK_DEFAULTS, 10 s). */
  connectTimeoutMs?: number;
  /** Deadline for GATT service resolution after connecting (default 5000 ms). */
  gattTimeoutMs?: number;
  /** How often an open connection's Connected property is polled as a safety net (default 1000 ms). */
  pollIntervalMs?: number;
  /** Device-list poll interval while scanning or waiting for a device (default 20 ms). */
  discoveryIntervalMs?: number;
}

export class NodeBleLink implements Link {
  readonly kind = 'node-ble' as const;
  private readonly busAddress: string;
  private readonly opts: Required<Omit<NodeBleLinkOptions, 'busAddress' | 'adapter'>> & { adapter?: string };
  private session?: Session;
  private sessionReady?: Promise<Session>;
  private readonly connections = new Map<string, NodeBleConnection>();
  private readonly scans = new Set<() => void>();
  private readonly connecting = new Set<string>();
  /** StopDiscovery calls in flight (close() waits for them). */
  private readonly stopping = new Set<Promise<void>>();
  private discoveryUsers = 0;
  private ownsDiscovery = false;
  private closed = false;

  constructor(options: NodeBleLinkOptions = {}) {
    this.busAddress = options.busAddress ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? DEFAULT_SYSTEM_BUS;
    this.opts = {
      adapter: options.adapter,
      connectTimeoutMs: options.connectTimeoutMs ?? LINK_DEFAULTS.connectTimeoutMs,
      gattTimeoutMs: options.gattTimeoutMs ?? LINK_DEFAULTS.gattTimeoutMs,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      discoveryIntervalMs: options.discoveryIntervalMs ?? 20,
    };
  }

  // ---- session ----------------------------------------------------------------------------------

  private openSession(): Promise<Session> {
    if (this.closed) return Promise.reject(new LinkError('bluez-unavailable', 'link closed'));
    if (this.sessionReady !== undefined) return this.sessionReady;
    // node-ble's createBluetooth() reads DBUS_SYSTEM_BUS_ADDRESS synchronously when it creates its bus:
    // point it at our address for that one call and restore it, so no process state is left behind.
    const prev = process.env.DBUS_SYSTEM_BUS_ADDRESS;
    process.env.DBUS_SYSTEM_BUS_ADDRESS = this.busAddress;
    let created: { bluetooth: Bluetooth; destroy(): void };
    try {
      created = nodeBle.createBluetooth();
    } finally {
      if (prev === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
      else process.env.DBUS_SYSTEM_BUS_ADDRESS = prev;
    }
    // node-ble keeps its dbus-next bus on Bluetooth#dbus (not in its typings).
    const bus = (created.bluetooth as unknown as { dbus: MessageBus }).dbus;
    // Without an 'error' listener a socket error would crash the process; before the session is up
    // it fails the session (dbus-next leaves calls pending forever on a bus that never connected).
    let failed: (e: unknown) => void = () => undefined;
    const busFailed = new Promise<never>((_, reject) => {
      failed = reject;
    });
    busFailed.catch(() => undefined);
    const session: Session = { bluetooth: created.bluetooth, bus, destroy: created.destroy };
    bus.on('error', (e: unknown) => {
      // A refused AddMatch/RemoveMatch is reported here too: not the bus going away.
      if (e instanceof dbus.DBusError) return;
      failed(e);
      // The system bus itself went away (dbus restart): BlueZ is gone for us; start over next time.
      if (this.session === session) {
        this.bluezGone();
        this.dropSession();
      }
    });
    this.session = session;
    this.sessionReady = (async () => {
      try {
        const obj = await within(
          Promise.race([bus.getProxyObject('org.freedesktop.DBus', '/org/freedesktop/DBus'), busFailed]),
          this.opts.connectTimeoutMs,
          'D-Bus connection',
        );
        const iface = obj.getInterface('org.freedesktop.DBus');
        const onOwner = (name: string, _old: string, newOwner: string): void => {
          if (name === BLUEZ && newOwner === '') this.bluezGone();
        };
        iface.on('NameOwnerChanged', onOwner);
        session.busIface = iface;
        session.onOwner = onOwner;
        return session;
      } catch (e) {
        this.dropSession();
        throw new LinkError(
          'bluez-unavailable',
          `cannot reach the D-Bus system bus at ${this.busAddress}: ${message(e)}`,
          e,
        );
      }
    })();
    return this.sessionReady;
  }

  private dropSession(): void {
    const s = this.session;
    this.session = undefined;
    this.sessionReady = undefined;
    if (s === undefined) return;
    if (s.busIface !== undefined && s.onOwner !== undefined)
      s.busIface.removeListener('NameOwnerChanged', s.onOwner);
    s.destroy();
  }

  /**
   * Discovery shared by scans and connects on this link. BlueZ keeps a discovery session per D-Bus
   * client, so this link starts its own whether or not another client is discovering (node-ble's
   * startDiscovery refuses when the adapter already is: the method is called directly), and stops it
   * when the last user releases it. InProgress means this client already has one.
   */
  private async acquireDiscovery(adapter: Adapter): Promise<() => Promise<void>> {
    this.discoveryUsers++;
    const call = (method: string, ...args: unknown[]): Promise<unknown> =>
      (
        adapter as unknown as { helper: { callMethod(m: string, ...a: unknown[]): Promise<unknown> } }
      ).helper.callMethod(method, ...args);
    if (!this.ownsDiscovery) {
      try {
        await call('SetDiscoveryFilter', { Transport: new dbus.Variant('s', 'le') });
        await call('StartDiscovery');
        this.ownsDiscovery = true;
      } catch (e) {
        if (dbusErrorName(e) === 'org.bluez.Error.InProgress') this.ownsDiscovery = true;
        else {
          this.discoveryUsers--;
          throw e;
        }
      }
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.discoveryUsers--;
      if (this.discoveryUsers === 0 && this.ownsDiscovery) {
        this.ownsDiscovery = false;
        // close() waits for it: the session is not dropped with a StopDiscovery still in flight.
        const stop = call('StopDiscovery').then(
          () => undefined,
          () => undefined,
        );
        this.stopping.add(stop);
        await stop;
        this.stopping.delete(stop);
      }
    };
  }

  private bluezGone(): void {
    this.ownsDiscovery = false;
    for (const c of [...this.connections.values()]) c.close('bluez-gone');
  }

  private async adapter(s: Session): Promise<{ adapter: Adapter; name: string }> {
    try {
      const names = await s.bluetooth.adapters();
      const name = this.opts.adapter ?? names[0];
      if (name === undefined) throw new LinkError('bluez-unavailable', 'BlueZ reports no Bluetooth adapter');
      if (!names.includes(name))
        throw new LinkError('bluez-unavailable', `no adapter ${name} (have: ${names.join(', ')})`);
      return { adapter: await s.bluetooth.getAdapter(name), name };
    } catch (e) {
      throw toLinkError(e, 'bluez-unavailable', 'adapter');
    }
  }

  /**
   * Is BlueZ there to use? Reaches the system bus and the adapter (the one configured, else the
   * first); resolves with the adapter's name, rejects with LinkError 'bluez-unavailable' saying what
   * is missing. For a start-up check: a missing bus or adapter then is not going to fix itself.
   */
  async probe(): Promise<string> {
    const s = await this.openSession();
    return (await within(this.adapter(s), this.opts.connectTimeoutMs, 'BlueZ adapter')).name;
  }

  // ---- scan -------------------------------------------------------------------------------------

  scan(options: ScanOptions): Observable<DiscoveredDevice> {
    return new Observable<DiscoveredDevice>((subscriber) => {
      let done = false;
      let release: (() => Promise<void>) | undefined;
      let poll: NodeJS.Timeout | undefined;
      const seen = new Set<string>();
      const checking = new Set<string>();
      /** Devices without the Budlink service, re-checked (their UUIDs may fill in) once a second. */
      const rejectedAt = new Map<string, number>();
      const finish = (err?: unknown): void => {
        if (done) return;
        done = true;
        this.scans.delete(cancel);
        clearTimeout(deadline);
        clearTimeout(poll);
        if (release !== undefined) void release();
        if (err !== undefined) subscriber.error(err);
        else subscriber.complete();
      };
      const cancel = (): void => finish();
      this.scans.add(cancel);
      const deadline = setTimeout(() => finish(), options.timeoutMs);

      const run = async (): Promise<void> => {
        const s = await this.openSession();
        const a = await this.adapter(s);
        if (done) return;
        const r = await this.acquireDiscovery(a.adapter);
        if (done) {
          await r();
          return;
        }
        release = r;
        const tick = async (): Promise<void> => {
          const ids = await a.adapter.devices();
          for (const id of ids) {
            if (seen.has(id) || checking.has(id)) continue;
            if (Date.now() - (rejectedAt.get(id) ?? -Infinity) < 1000) continue;
            checking.add(id);
            try {
              const p = await getAll(s.bus, devicePath(a.name, id), DEVICE_IFACE);
              const uuids = Array.isArray(p.UUIDs) ? (p.UUIDs as string[]).map((u) => u.toLowerCase()) : [];
              const name = typeof p.Name === 'string' ? p.Name : typeof p.Alias === 'string' ? p.Alias : '';
              if (
                !uuids.includes(SERVICE_UUID) ||
                (options.namePrefix !== undefined && !name.startsWith(options.namePrefix))
              ) {
                rejectedAt.set(id, Date.now());
                continue;
              }
              seen.add(id);
              const address = typeof p.Address === 'string' ? p.Address : id;
              const found: DiscoveredDevice = { id: address, address, name };
              if (typeof p.RSSI === 'number') found.rssi = p.RSSI;
              if (!done) subscriber.next(found);
            } catch (e) {
              if (isBluezGone(e)) throw e;
              // The device object went away between listing and reading: skip it.
            } finally {
              checking.delete(id);
            }
          }
        };
        const loop = (): void => {
          if (done) return;
          tick().then(
            () => {
              if (!done) poll = setTimeout(loop, this.opts.discoveryIntervalMs);
            },
            (e: unknown) => finish(toLinkError(e, 'bluez-unavailable', 'scan')),
          );
        };
        loop();
      };
      run().catch((e: unknown) => finish(toLinkError(e, 'bluez-unavailable', 'scan')));
      return cancel;
    });
  }

  // ---- connect ----------------------------------------------------------------------------------

  async connect(deviceId: string, options: { timeoutMs?: number } = {}): Promise<Connection> {
    const id = deviceId.toUpperCase();
    if (!/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/.test(id))
      throw new LinkError('not-found', `not a BLE address: ${deviceId}`);
    if (this.connections.has(id) || this.connecting.has(id)) {
      throw new LinkError('gatt', `${id} is already connected (or connecting) on this link`);
    }
    this.connecting.add(id);
    try {
      return await this.connectOnce(id, options);
    } finally {
      this.connecting.delete(id);
    }
  }

  private async connectOnce(id: string, options: { timeoutMs?: number }): Promise<Connection> {
    const total = options.timeoutMs ?? this.opts.connectTimeoutMs;
    const deadline = Date.now() + total;
    const left = (): number => Math.max(1, deadline - Date.now());
    const s = await this.openSession();
    const a = await this.adapter(s);

    // 1. Find the device object (discover it if BlueZ has not seen it yet, e.g. after a restart).
    let device: Device;
    try {
      device = await a.adapter.getDevice(id);
    } catch (e) {
      if (message(e) !== 'Device not found') throw toLinkError(e, 'not-found', `find ${id}`);
      device = await this.discoverDevice(a.adapter, id, left());
    }

    // 2. Connect.
    try {
      await within(device.connect(), left(), `connect to ${id}`).catch((e: unknown) => {
        // BlueZ already holds an LE link to it (another client's, or one this process left): use it.
        if (dbusErrorName(e) !== 'org.bluez.Error.AlreadyConnected') throw e;
      });
    } catch (e) {
      releaseNodeBleListeners(device);
      if (e instanceof TimeoutError) {
        await within(device.disconnect(), 1000, 'cancel connect').catch(() => undefined);
        throw new LinkError('timeout', `${e.message}`, e);
      }
      // BlueZ reports a failed attempt (peer off or out of range) as org.bluez.Error.Failed
      // "le-connection-abort-by-local" once its own connect timer expires.
      throw toLinkError(
        e,
        dbusErrorName(e) === 'org.bluez.Error.Failed' ? 'timeout' : 'disconnected',
        `connect to ${id}`,
      );
    }

    // 3. Resolve GATT, find the characteristics, subscribe. Any failure disconnects again.
    const conn = new NodeBleConnection(
      s,
      device,
      devicePath(a.name, id),
      id,
      this.opts.pollIntervalMs,
      (c) => {
        if (this.connections.get(id) === c) this.connections.delete(id);
      },
      this.opts.gattTimeoutMs,
    );
    this.connections.set(id, conn);
    try {
      await conn.setup(Math.min(this.opts.gattTimeoutMs, left()));
      if (this.closed) throw new LinkError('bluez-unavailable', 'link closed while connecting');
    } catch (e) {
      await conn.abort();
      if (e instanceof TimeoutError) throw new LinkError('timeout', e.message, e);
      throw toLinkError(e, 'gatt', `GATT on ${id}`);
    }
    return conn;
  }

  /**
   * Discover a device BlueZ does not know yet. Not node-ble's waitDevice(): that swallows every error
   * but "not found" (ServiceUnknown included) until its timeout and keeps polling after destroy().
   */
  private async discoverDevice(adapter: Adapter, id: string, timeoutMs: number): Promise<Device> {
    const deadline = Date.now() + timeoutMs;
    let release: (() => Promise<void>) | undefined;
    try {
      release = await this.acquireDiscovery(adapter);
      for (;;) {
        if (this.closed) throw new LinkError('bluez-unavailable', 'link closed');
        try {
          return await adapter.getDevice(id);
        } catch (e) {
          if (message(e) !== 'Device not found') throw e;
        }
        const wait = Math.min(this.opts.discoveryIntervalMs, deadline - Date.now());
        if (wait <= 0) throw new LinkError('not-found', `${id} not found within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, wait));
      }
    } catch (e) {
      throw toLinkError(e, 'not-found', `discover ${id}`);
    } finally {
      if (release !== undefined) await release();
    }
  }

  /** Ends scans and connections (stop notifications → disconnect), then closes the D-Bus session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const cancel of [...this.scans]) cancel();
    // Connects still in flight finish (or fail) first, so none outlives the session.
    while (this.connecting.size > 0) await new Promise((r) => setTimeout(r, 10));
    await Promise.all([...this.connections.values()].map((c) => c.disconnect().catch(() => undefined)));
    await Promise.all([...this.stopping]);
    this.dropSession();
  }
}
