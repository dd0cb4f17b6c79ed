/**
 * NodeBleLink: the Link over BlueZ through node-ble. THE ONLY FILE THAT IMPORTS node-ble.
 *
 * Pitfalls handled (docs/BLUEZ-EMULATION.md; host/src/ble/README.md):
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
import type { MessageBus, ClientInterface } from 'dbus-next';
import * as dbus from 'dbus-next';
import { Observable, ReplaySubject, Subject } from 'rxjs';
import { DOWNLINK_UUID, NUS_SERVICE_UUID, NUS_TX_UUID, SERVICE_UUID, UPLINK_UUID } from '@budlink/protocol';
import {
  LinkError,
  type Connection,
  type DisconnectReason,
  type DiscoveredDevice,
  type Link,
  type LinkErrorKind,
  type ScanOptions,
} from './link';
import { LINK_DEFAULTS } from '../defaults';
import { LineSplitter } from './lines';
import { TimeoutError, within } from './within';

type Bluetooth = nodeBle.Bluetooth;
type Adapter = nodeBle.Adapter;
type Device = nodeBle.Device;
type GattCharacteristic = nodeBle.GattCharacteristic;

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

const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';
const BLUEZ = 'org.bluez';
const DEVICE_IFACE = 'org.bluez.Device1';
const PROPS_IFACE = 'org.freedesktop.DBus.Properties';

/** D-Bus error name, when `e` is a DBusError. */
function dbusErrorName(e: unknown): string | undefined {
  if (
    typeof e === 'object' &&
    e !== null &&
    'type' in e &&
    typeof (e as { type: unknown }).type === 'string'
  ) {
    return (e as { type: string }).type;
  }
  return undefined;
}

function isBluezGone(e: unknown): boolean {
  const n = dbusErrorName(e);
  return (
    n === 'org.freedesktop.DBus.Error.ServiceUnknown' || n === 'org.freedesktop.DBus.Error.NameHasNoOwner'
  );
}

function isObjectGone(e: unknown): boolean {
  const n = dbusErrorName(e);
  return (
    n === 'org.freedesktop.DBus.Error.UnknownObject' ||
    n === 'org.freedesktop.DBus.Error.UnknownMethod' ||
    n === 'org.freedesktop.DBus.Error.UnknownInterface' ||
    n === 'org.bluez.Error.NotConnected' ||
    n === 'org.bluez.Error.DoesNotExist'
  );
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function toLinkError(e: unknown, fallback: LinkErrorKind, context: string): LinkError {
  if (e instanceof LinkError) return e;
  if (isBluezGone(e))
    return new LinkError('bluez-unavailable', `${context}: BlueZ is not running (${message(e)})`, e);
  if (message(e) === 'Device not found') return new LinkError('not-found', `${context}: device not found`, e);
  return new LinkError(fallback, `${context}: ${message(e)}`, e);
}

function devicePath(adapter: string, address: string): string {
  return `/org/bluez/${adapter}/dev_${address.toUpperCase().replace(/:/g, '_')}`;
}

/**
 * node-ble removes its PropertiesChanged listeners only when Disconnect / StopNotify succeed, which
 * they cannot after a remote loss (the objects are gone): without this, every reconnect would leave
 * listeners behind. Its BusHelper#removeListeners is not in the typings.
 */
function releaseNodeBleListeners(obj: unknown): void {
  const helper = (obj as { helper?: { removeListeners?: unknown } } | undefined)?.helper;
  if (helper !== undefined && typeof helper.removeListeners === 'function') {
    (helper.removeListeners as () => void).call(helper);
  }
  if (obj !== null && typeof obj === 'object' && 'removeAllListeners' in obj) {
    (obj as { removeAllListeners(): void }).removeAllListeners();
  }
}

/** Properties.GetAll on a BlueZ object, without introspecting it first. */
async function getAll(bus: MessageBus, path: string, iface: string): Promise<Record<string, unknown>> {
  const reply = await bus.call(
    new dbus.Message({
      destination: BLUEZ,
      path,
      interface: PROPS_IFACE,
      member: 'GetAll',
      signature: 's',
      body: [iface],
    }),
  );
  const out: Record<string, unknown> = {};
  const dict = (reply?.body[0] ?? {}) as Record<string, dbus.Variant>;
  for (const k of Object.keys(dict)) out[k] = (dict[k] as dbus.Variant).value;
  return out;
}

interface Session {
  bluetooth: Bluetooth;
  bus: MessageBus;
  destroy(): void;
  /** org.freedesktop.DBus proxy interface carrying NameOwnerChanged. */
  busIface?: ClientInterface;
  onOwner?: (name: string, oldOwner: string, newOwner: string) => void;
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
   * Discovery shared by scans and connects on this link: started if off (node-ble's startDiscovery
   * throws when it is on), stopped when the last user releases it, and only if this link started it.
   */
  private async acquireDiscovery(adapter: Adapter): Promise<() => Promise<void>> {
    this.discoveryUsers++;
    try {
      if (!(await adapter.isDiscovering())) {
        await adapter.startDiscovery();
        this.ownsDiscovery = true;
      }
    } catch (e) {
      // Someone else turned it on in between: that discovery serves us too.
      if (
        message(e) !== 'Discovery already in progress' &&
        dbusErrorName(e) !== 'org.bluez.Error.InProgress'
      ) {
        this.discoveryUsers--;
        throw e;
      }
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.discoveryUsers--;
      if (this.discoveryUsers === 0 && this.ownsDiscovery) {
        this.ownsDiscovery = false;
        await adapter.stopDiscovery().catch(() => undefined);
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
      await within(device.connect(), left(), `connect to ${id}`);
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
    this.dropSession();
  }
}

class NodeBleConnection implements Connection {
  readonly device: DiscoveredDevice;
  payloadSize = 20;
  private readonly framesSubject = new Subject<Uint8Array>();
  private readonly consoleSubject = new Subject<string>();
  private readonly closedSubject = new ReplaySubject<DisconnectReason>(1);
  readonly frames$ = this.framesSubject.asObservable();
  readonly console$ = this.consoleSubject.asObservable();
  readonly closed$ = this.closedSubject.asObservable();
  private uplink?: GattCharacteristic;
  private downlink?: GattCharacteristic;
  private downlinkCommand = true;
  private consoleTx?: GattCharacteristic;
  private readonly lines = new LineSplitter();
  private propsIface?: ClientInterface;
  private deviceIface?: ClientInterface;
  /** Device1.Disconnected (BlueZ 5.72+) says why; Connected=false alone means 'remote'. */
  private readonly onDisconnected = (reason: string): void => {
    this.lost(reason === 'org.bluez.Reason.Timeout' ? 'timeout' : 'remote');
  };
  /** ServicesResolved turned true (seen by our own subscription, so never missed). */
  private resolved = false;
  private onResolved?: () => void;
  /** Rejects when the connection ends: setup steps race it instead of waiting for their timeout. */
  private readonly ended: Promise<never>;
  private endedReject: (e: unknown) => void = () => undefined;
  private readonly onProps = (iface: string, changed: Record<string, dbus.Variant>): void => {
    if (iface !== DEVICE_IFACE) return;
    if (changed.ServicesResolved !== undefined && changed.ServicesResolved.value === true) {
      this.resolved = true;
      this.onResolved?.();
    }
    if (changed.Connected !== undefined && changed.Connected.value === false) {
      this.lost('remote');
    }
  };
  private poll?: NodeJS.Timeout;
  private done = false;
  private closing?: Promise<void>;

  constructor(
    private readonly s: Session,
    private readonly dev: Device,
    private readonly path: string,
    address: string,
    private readonly pollIntervalMs: number,
    private readonly onClosed: (c: NodeBleConnection) => void,
    /** Bound on readUplink (the link's gattTimeoutMs). */
    private readonly readTimeoutMs: number,
  ) {
    this.device = { id: address, address, name: '' };
    this.ended = new Promise<never>((_, reject) => {
      this.endedReject = reject;
    });
    this.ended.catch(() => undefined);
  }

  /** `p`, unless the connection ends or `ms` pass first. */
  private step<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    return within(Promise.race([p, this.ended]), ms, what);
  }

  async setup(gattTimeoutMs: number): Promise<void> {
    // Watch Connected ourselves first, so a loss during setup is seen.
    const obj = await this.s.bus.getProxyObject(BLUEZ, this.path);
    this.propsIface = obj.getInterface(PROPS_IFACE);
    this.propsIface.on('PropertiesChanged', this.onProps);
    // Older BlueZ has no Disconnected signal: dbus-next then never fires it (no match is added).
    this.deviceIface = obj.getInterface(DEVICE_IFACE);
    this.deviceIface.on('Disconnected', this.onDisconnected);
    const props = await this.getDeviceProps();
    if (props.Connected !== true)
      throw new LinkError('disconnected', `${this.device.address} dropped while connecting`);
    this.device.name = typeof props.Name === 'string' ? props.Name : '';
    if (typeof props.RSSI === 'number') this.device.rssi = props.RSSI;

    // node-ble's gatt() reads ServicesResolved and then subscribes to its change: a flip in between
    // hangs it forever. Our subscription predates the read above, so wait for resolution here first;
    // gatt() then finds it true. Still bounded, in case BlueZ never resolves.
    const gattDeadline = Date.now() + gattTimeoutMs;
    const what = `GATT service resolution on ${this.device.address}`;
    if (props.ServicesResolved !== true && !this.resolved) {
      await this.step(
        new Promise<void>((resolve) => {
          this.onResolved = resolve;
          if (this.resolved) resolve();
        }),
        gattTimeoutMs,
        what,
      );
    }
    const gatt = await this.step(this.dev.gatt(), Math.max(1, gattDeadline - Date.now()), what);
    let service;
    try {
      service = await gatt.getPrimaryService(SERVICE_UUID);
    } catch (e) {
      throw new LinkError('gatt', `${this.device.address} has no Budlink service ${SERVICE_UUID}`, e);
    }
    try {
      this.uplink = await service.getCharacteristic(UPLINK_UUID);
      this.downlink = await service.getCharacteristic(DOWNLINK_UUID);
    } catch (e) {
      throw new LinkError(
        'gatt',
        `${this.device.address}: Budlink uplink/downlink characteristic missing`,
        e,
      );
    }
    const flags = await this.downlink.getFlags();
    this.downlinkCommand = flags.includes('write-without-response');
    if (!this.downlinkCommand && !flags.includes('write')) {
      throw new LinkError(
        'gatt',
        `${this.device.address}: downlink is not writable (flags ${flags.join(',')})`,
      );
    }
    this.payloadSize = await this.readPayloadSize(this.uplink);

    if ((await gatt.services()).includes(NUS_SERVICE_UUID)) {
      const nus = await gatt.getPrimaryService(NUS_SERVICE_UUID);
      if ((await nus.characteristics()).includes(NUS_TX_UUID))
        this.consoleTx = await nus.getCharacteristic(NUS_TX_UUID);
    }

    this.uplink.on('valuechanged', (buf: Buffer) => {
      if (!this.done) this.framesSubject.next(new Uint8Array(buf));
    });
    await this.uplink.startNotifications();
    if (this.consoleTx !== undefined) {
      this.consoleTx.on('valuechanged', (buf: Buffer) => {
        if (this.done) return;
        for (const line of this.lines.push(buf)) this.consoleSubject.next(line);
      });
      await this.consoleTx.startNotifications();
    }
    if (this.done) throw new LinkError('disconnected', `${this.device.address} dropped while subscribing`);
    this.schedulePoll();
  }

  /**
   * ATT MTU − 3. Recent BlueZ (5.62+) exposes the negotiated MTU as the characteristic's `MTU`
   * property; older BlueZ has none, and then only the BLE minimum (23 − 3 = 20) is safe.
   */
  private async readPayloadSize(c: GattCharacteristic): Promise<number> {
    try {
      // node-ble's characteristic reads properties through its BusHelper (not in its typings).
      const mtu = await (c as unknown as { helper: { prop(name: string): Promise<unknown> } }).helper.prop(
        'MTU',
      );
      if (typeof mtu === 'number' && mtu >= 23) return mtu - 3;
    } catch {
      // no MTU property: older BlueZ
    }
    return 20;
  }

  private getDeviceProps(): Promise<Record<string, unknown>> {
    return getAll(this.s.bus, this.path, DEVICE_IFACE);
  }

  private schedulePoll(): void {
    if (this.done) return;
    this.poll = setTimeout(() => {
      this.getDeviceProps().then(
        (p) => {
          if (p.Connected !== true) this.lost('remote');
          else this.schedulePoll();
        },
        (e: unknown) => {
          if (isBluezGone(e)) this.lost('bluez-gone');
          else if (isObjectGone(e)) this.lost('remote');
          else this.schedulePoll();
        },
      );
    }, this.pollIntervalMs);
  }

  private lost(reason: DisconnectReason): void {
    if (this.done || this.closing !== undefined) return;
    this.close(reason);
  }

  /** End the connection's streams (idempotent). */
  close(reason: DisconnectReason): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.poll);
    this.endedReject(new LinkError('disconnected', `${this.device.address} disconnected (${reason})`));
    if (this.propsIface !== undefined) this.propsIface.removeListener('PropertiesChanged', this.onProps);
    if (this.deviceIface !== undefined) this.deviceIface.removeListener('Disconnected', this.onDisconnected);
    releaseNodeBleListeners(this.uplink);
    releaseNodeBleListeners(this.consoleTx);
    releaseNodeBleListeners(this.dev);
    const tail = this.lines.flush();
    if (tail !== undefined) this.consoleSubject.next(tail);
    this.onClosed(this);
    this.framesSubject.complete();
    this.consoleSubject.complete();
    this.closedSubject.next(reason);
    this.closedSubject.complete();
  }

  /** Teardown order that ends cleanly: stop notifications, then disconnect. Errors are expected. */
  private async teardown(): Promise<void> {
    const step = async (p: () => Promise<unknown>): Promise<void> => {
      try {
        await within(p(), 1000, 'teardown');
      } catch {
        // best effort: the device or BlueZ may already be gone
      }
    };
    const { consoleTx, uplink } = this;
    if (consoleTx !== undefined) await step(() => consoleTx.stopNotifications());
    if (uplink !== undefined) await step(() => uplink.stopNotifications());
    await step(() => this.dev.disconnect());
  }

  /** Setup failed: disconnect and end, without emitting a reason anyone waits for. */
  async abort(): Promise<void> {
    const wasDone = this.done;
    this.closing ??= this.teardown();
    await this.closing;
    if (!wasDone) this.close('error');
  }

  async write(frame: Uint8Array): Promise<void> {
    if (this.done || this.closing !== undefined || this.downlink === undefined) {
      throw new LinkError('disconnected', `${this.device.address} is not connected`);
    }
    if (frame.length === 0 || frame.length > this.payloadSize) {
      throw new LinkError(
        'write-failed',
        `frame of ${frame.length} bytes does not fit (1..${this.payloadSize})`,
      );
    }
    const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    try {
      if (this.downlinkCommand) await this.downlink.writeValueWithoutResponse(Buffer.from(buf));
      else await this.downlink.writeValue(Buffer.from(buf), { type: 'request' });
    } catch (e) {
      throw this.failed(e, 'write-failed', `write to ${this.device.address}`);
    }
  }

  async readUplink(): Promise<Uint8Array> {
    const uplink = this.uplink;
    if (this.done || this.closing !== undefined || uplink === undefined) {
      throw new LinkError('disconnected', `${this.device.address} is not connected`);
    }
    try {
      const buf = await this.step(
        uplink.readValue(),
        this.readTimeoutMs,
        `read of ${this.device.address}'s uplink`,
      );
      return new Uint8Array(buf);
    } catch (e) {
      if (e instanceof LinkError) throw e; // the connection ended meanwhile
      if (e instanceof TimeoutError) throw new LinkError('timeout', e.message, e);
      throw this.failed(e, 'gatt', `read of ${this.device.address}'s uplink`);
    }
  }

  /** A failed GATT call: the link is lost if BlueZ or the device is gone, else a `kind` error. */
  private failed(e: unknown, kind: LinkErrorKind, what: string): LinkError {
    if (isBluezGone(e)) {
      this.lost('bluez-gone');
      return new LinkError('disconnected', `${this.device.address}: BlueZ went away`, e);
    }
    if (isObjectGone(e) || this.done) {
      this.lost('remote');
      return new LinkError('disconnected', `${this.device.address} is not connected`, e);
    }
    return new LinkError(kind, `${what}: ${message(e)}`, e);
  }

  async disconnect(): Promise<void> {
    if (this.done) return;
    this.closing ??= this.teardown();
    await this.closing;
    this.close('local');
  }
}
