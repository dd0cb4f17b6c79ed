/**
 * BlueZ emulator: a D-Bus service that owns `org.bluez` on a (private) bus and exposes SimPeripherals
 * the way bluetoothd exposes LE devices, so the real node-ble code path runs without a radio.
 * host/link/README.md says what node-ble needs and the pitfalls this reproduces.
 *
 * Object tree (as bluetoothd):
 *   /                                   org.freedesktop.DBus.ObjectManager
 *   /org/bluez                          org.bluez.AgentManager1
 *   /org/bluez/hci0                     org.bluez.Adapter1
 *   /org/bluez/hci0/dev_AA_BB_..        org.bluez.Device1        (exported once discovery has seen it)
 *   .../dev_AA_BB_../serviceXXXX        org.bluez.GattService1   (only while connected: unbonded LE)
 *   .../serviceXXXX/charYYYY            org.bluez.GattCharacteristic1 (notifications = PropertiesChanged{Value})
 *
 * Fault controls: dropLink (link loss), powerCycle (peripheral off for a while), stallServiceResolution
 * (ServicesResolved never turns true: node-ble's gatt() hangs), restart (bluetoothd restart: the name
 * vanishes, every device is forgotten, then it comes back on a new connection).
 */
import * as dbus from 'dbus-next';
import type { SimCentral, SimPeripheral } from '../peripheral';
import type { BluezEmulator, BluezEmulatorOptions, PeripheralOptions } from './emulator-api';
import { negotiateMtu } from '../mtu';
import { exportGatt, type GattObjects } from './gatt-export';
import {
  AdapterIface,
  AgentManagerIface,
  BLUEZ_NAME,
  DeviceIface,
  ERR,
  ObjectManagerIface,
  bluezError,
  emitChanged,
  ifaceName,
  variantsOf,
} from './objects';

type DbusInterface = InstanceType<typeof dbus.interface.Interface>;

export const ADAPTER_PATH = '/org/bluez/hci0';

export type { BluezEmulator, BluezEmulatorOptions, PeripheralOptions } from './emulator-api';

interface Entry {
  peripheral: SimPeripheral;
  rssi: number;
  mtu: number;
  path: string;
  device?: DeviceIface;
  gatt?: GattObjects;
  /** The central handed to the peripheral for the current connection (stale callbacks are ignored). */
  central?: SimCentral;
  connecting?: Promise<void>;
  offUntil: number;
  stalled: boolean;
  resolveDelayMs: number;
  mtuProperty: boolean;
  powerTimer?: NodeJS.Timeout;
  resolveTimer?: NodeJS.Timeout;
}

/** Device1.Disconnected reasons (BlueZ doc/org.bluez.Device.rst). */
const DISCONNECT_REASON = {
  local: 'org.bluez.Reason.Local',
  remote: 'org.bluez.Reason.Remote',
  timeout: 'org.bluez.Reason.Timeout',
} as const;
const DISCONNECT_MESSAGE = {
  local: 'Connection terminated by local host',
  remote: 'Connection terminated by remote user',
  timeout: 'Connection timeout',
} as const;

function devicePathOf(address: string): string {
  return `${ADAPTER_PATH}/dev_${address.toUpperCase().replace(/:/g, '_')}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

class Emulator implements BluezEmulator {
  readonly busAddress: string;
  private readonly entries = new Map<string, Entry>();
  private readonly adapterAddress: string;
  private readonly discoveryDelayMs: number;
  private readonly connectFailMs: number;
  private bus?: dbus.MessageBus;
  /** D-Bus clients with a discovery session, and the sender of the Adapter1 call being handled. */
  private readonly discoverers = new Set<string>();
  private caller = '';
  private objectManager?: ObjectManagerIface;
  private adapter?: AdapterIface;
  /** Every exported object and its interfaces, in export order (for GetManagedObjects). */
  private readonly objects = new Map<string, DbusInterface[]>();
  private uuidFilter: string[] = [];
  private discoveryTimer?: NodeJS.Timeout;
  private nextHandle = 0x000a;
  private stopped = false;
  private restarting?: Promise<void>;

  constructor(options: BluezEmulatorOptions) {
    this.busAddress = options.busAddress;
    this.adapterAddress = options.adapterAddress ?? '00:1B:DC:00:B0:D1';
    this.discoveryDelayMs = options.discoveryDelayMs ?? 10;
    this.connectFailMs = options.connectFailMs ?? 100;
  }

  async start(peripherals: SimPeripheral[]): Promise<void> {
    for (const p of peripherals) this.addPeripheral(p);
    await this.comeUp();
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  private async comeUp(): Promise<void> {
    const bus = dbus.sessionBus({ busAddress: this.busAddress });
    this.bus = bus;
    // Before the name is ours, a bus error (no daemon, refused) fails the start; dbus-next would
    // otherwise leave requestName pending forever. After, the bus going away (the private daemon
    // stopped) is not an emulator error.
    let started = false;
    let failStart: (e: unknown) => void = () => undefined;
    const startFailed = new Promise<never>((_, reject) => {
      failStart = reject;
    });
    startFailed.catch(() => undefined);
    bus.on('error', (e: unknown) => {
      if (!started) failStart(e);
    });
    // BlueZ keeps one discovery session per D-Bus client: note who calls an Adapter1 method (the
    // method runs right after, synchronously), and end a client's session when it leaves the bus.
    bus.addMethodHandler((msg: dbus.Message) => {
      if (msg.interface === 'org.bluez.Adapter1') this.caller = msg.sender ?? '';
      return false;
    });
    this.objects.clear();
    this.discoverers.clear();
    this.nextHandle = 0x000a;
    this.uuidFilter = [];
    this.objectManager = new ObjectManagerIface(() => this.managedObjects());
    bus.export('/', this.objectManager);
    this.exportObject('/org/bluez', new AgentManagerIface());
    this.adapter = new AdapterIface(this.adapterAddress, {
      startDiscovery: () => this.startDiscovery(),
      stopDiscovery: () => this.stopDiscovery(),
      setDiscoveryFilter: (f) => this.setDiscoveryFilter(f),
      removeDevice: (path) => this.removeDevice(path),
      setPowered: (on) => this.setPowered(on),
    });
    this.exportObject(ADAPTER_PATH, this.adapter);
    // Claim the name only now: a client that sees org.bluez must find the objects.
    let reply: number;
    try {
      reply = await Promise.race([bus.requestName(BLUEZ_NAME, dbus.NameFlag.DO_NOT_QUEUE), startFailed]);
    } catch (e) {
      bus.disconnect();
      this.bus = undefined;
      throw new Error(
        `cannot reach the D-Bus at ${this.busAddress}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    started = true;
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER && reply !== dbus.RequestNameReply.ALREADY_OWNER) {
      bus.disconnect();
      this.bus = undefined;
      throw new Error(
        `could not own ${BLUEZ_NAME} on ${this.busAddress} (reply ${reply}); is another BlueZ running?`,
      );
    }
    // A client that leaves the bus loses its discovery session, as in BlueZ.
    try {
      const obj = await bus.getProxyObject('org.freedesktop.DBus', '/org/freedesktop/DBus');
      obj
        .getInterface('org.freedesktop.DBus')
        .on('NameOwnerChanged', (name: string, _old: string, owner: string) => {
          if (owner === '' && this.discoverers.delete(name)) this.discoveryEnded();
        });
    } catch {
      // Without the bus's own signals, sessions end only by StopDiscovery.
    }
  }

  private async goDown(): Promise<void> {
    if (this.discoveryTimer !== undefined) clearTimeout(this.discoveryTimer);
    this.discoveryTimer = undefined;
    for (const e of this.entries.values()) {
      // bluetoothd exiting drops its LE links; it emits nothing on its way out.
      if (e.resolveTimer !== undefined) clearTimeout(e.resolveTimer);
      e.resolveTimer = undefined;
      if (e.central !== undefined) {
        e.central = undefined;
        try {
          e.peripheral.disconnect();
        } catch {
          // the peripheral may have dropped already
        }
      }
      e.gatt = undefined;
      e.device = undefined;
      e.connecting = undefined;
    }
    const bus = this.bus;
    this.bus = undefined;
    this.objects.clear();
    this.adapter = undefined;
    this.objectManager = undefined;
    if (bus !== undefined) {
      // On a bus whose daemon is gone the call would never be answered: bound it.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        bus.releaseName(BLUEZ_NAME).catch(() => undefined),
        new Promise<void>((r) => {
          timer = setTimeout(r, 500);
        }),
      ]);
      clearTimeout(timer);
      bus.disconnect();
    }
  }

  async restart(options: { downMs?: number } = {}): Promise<void> {
    if (this.stopped) throw new Error('emulator stopped');
    if (this.restarting !== undefined) return this.restarting;
    this.restarting = (async () => {
      await this.goDown();
      await delay(options.downMs ?? 50);
      if (!this.stopped) await this.comeUp();
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.restarting !== undefined) await this.restarting.catch(() => undefined);
    for (const e of this.entries.values()) if (e.powerTimer !== undefined) clearTimeout(e.powerTimer);
    await this.goDown();
  }

  // ---- object bookkeeping -------------------------------------------------------------------------

  private exportObject(path: string, iface: DbusInterface): void {
    const bus = this.bus;
    if (bus === undefined) return;
    bus.export(path, iface);
    const list = this.objects.get(path) ?? [];
    list.push(iface);
    this.objects.set(path, list);
    const dict: Record<string, Record<string, dbus.Variant>> = { [ifaceName(iface)]: variantsOf(iface) };
    this.objectManager?.InterfacesAdded(path, dict);
  }

  private unexportObject(path: string): void {
    const list = this.objects.get(path);
    if (list === undefined) return;
    this.objects.delete(path);
    const bus = this.bus;
    if (bus !== undefined) for (const i of list) bus.unexport(path, i);
    this.objectManager?.InterfacesRemoved(
      path,
      list.map((i) => ifaceName(i)),
    );
  }

  private managedObjects(): Record<string, Record<string, Record<string, dbus.Variant>>> {
    const out: Record<string, Record<string, Record<string, dbus.Variant>>> = {};
    for (const [path, list] of this.objects) {
      const dict: Record<string, Record<string, dbus.Variant>> = {};
      for (const i of list) dict[ifaceName(i)] = variantsOf(i);
      out[path] = dict;
    }
    return out;
  }

  // ---- adapter ------------------------------------------------------------------------------------

  /**
   * StartDiscovery, per client as BlueZ does: a client that already has a discovery session gets
   * InProgress; another client gets its own session even while the adapter is discovering.
   */
  private startDiscovery(): void {
    const a = this.adapter;
    if (a === undefined) return;
    if (!a.Powered) throw bluezError(ERR.notReady, 'Resource Not Ready');
    if (this.discoverers.has(this.caller)) throw bluezError(ERR.inProgress, 'Operation already in progress');
    this.discoverers.add(this.caller);
    if (!a.Discovering) {
      a.Discovering = true;
      emitChanged(a, { Discovering: true });
    }
    this.scheduleDiscovery();
  }

  private scheduleDiscovery(): void {
    if (this.discoveryTimer !== undefined) return;
    this.discoveryTimer = setTimeout(() => {
      this.discoveryTimer = undefined;
      if (this.adapter?.Discovering !== true) return;
      for (const e of this.entries.values()) this.discover(e);
    }, this.discoveryDelayMs);
  }

  private discover(e: Entry): void {
    if (e.device !== undefined || Date.now() < e.offUntil) return;
    const uuids = e.peripheral.advertisedServices().map((u) => u.toLowerCase());
    if (this.uuidFilter.length > 0 && !uuids.some((u) => this.uuidFilter.includes(u))) return;
    const path = e.path;
    e.device = new DeviceIface(
      {
        address: e.peripheral.address.toUpperCase(),
        name: e.peripheral.name,
        rssi: e.rssi,
        uuids,
        adapter: ADAPTER_PATH,
      },
      { connect: () => this.connectDevice(e), disconnect: () => this.disconnectDevice(e) },
    );
    this.exportObject(path, e.device);
  }

  /** StopDiscovery ends the calling client's session; the adapter stops when no client has one. */
  private stopDiscovery(): void {
    if (!this.discoverers.delete(this.caller)) throw bluezError(ERR.failed, 'No discovery started');
    this.discoveryEnded();
  }

  /** After a session ended: the adapter stops discovering when none is left. */
  private discoveryEnded(): void {
    const a = this.adapter;
    if (a === undefined || this.discoverers.size > 0 || !a.Discovering) return;
    a.Discovering = false;
    emitChanged(a, { Discovering: false });
  }

  private setDiscoveryFilter(filter: Record<string, dbus.Variant>): void {
    const uuids = filter.UUIDs?.value as unknown;
    if (uuids !== undefined && !(Array.isArray(uuids) && uuids.every((u) => typeof u === 'string'))) {
      throw bluezError(ERR.invalidArguments, 'UUIDs must be an array of strings');
    }
    this.uuidFilter = Array.isArray(uuids) ? uuids.map((u: string) => u.toLowerCase()) : [];
  }

  private removeDevice(path: string): void {
    const e = [...this.entries.values()].find((x) => x.path === path && x.device !== undefined);
    if (e === undefined) throw bluezError(ERR.doesNotExist, 'Does Not Exist');
    this.teardownLink(e, { reason: 'local' });
    this.unexportObject(e.path);
    e.device = undefined;
  }

  private setPowered(on: boolean): void {
    const a = this.adapter;
    if (a === undefined) return;
    if (!on) {
      for (const e of this.entries.values()) this.teardownLink(e, { reason: 'local' });
      this.discoverers.clear();
      if (a.Discovering) {
        a.Discovering = false;
        emitChanged(a, { Powered: false, Discovering: false });
        return;
      }
    }
    emitChanged(a, { Powered: on });
  }

  // ---- device -------------------------------------------------------------------------------------

  private connectDevice(e: Entry): Promise<void> {
    // org.bluez.Device documents AlreadyConnected for a Connect on a connected device.
    if (e.central !== undefined) return Promise.reject(bluezError(ERR.alreadyConnected, 'Already Connected'));
    if (e.connecting !== undefined) return e.connecting;
    const run = async (): Promise<void> => {
      if (this.adapter?.Powered === false) throw bluezError(ERR.notReady, 'Resource Not Ready');
      if (Date.now() < e.offUntil) {
        await delay(this.connectFailMs);
        throw bluezError(ERR.failed, 'le-connection-abort-by-local');
      }
      const device = e.device;
      if (device === undefined) throw bluezError(ERR.doesNotExist, 'Does Not Exist');
      const central: SimCentral = {
        onNotify: (charUuid, value) => {
          if (e.central !== central) return;
          const c = e.gatt?.chars.get(charUuid.toLowerCase());
          if (c === undefined || !c.Notifying) return;
          c.Value = Buffer.from(value);
          emitChanged(c, { Value: c.Value });
        },
        onDisconnect: (why) => {
          if (e.central !== central) return;
          // A peripheral that loses power sends no LL_TERMINATE: the host sees a supervision timeout.
          this.teardownLink(e, { reason: why === 'power-cycle' ? 'timeout' : 'remote', byPeripheral: true });
        },
      };
      const mtu = negotiateMtu(e.mtu, e.peripheral);
      try {
        e.peripheral.connect(central, { mtu });
      } catch (err) {
        throw bluezError(
          ERR.failed,
          `le-connection-abort-by-remote: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      e.central = central;
      device.Connected = true;
      emitChanged(device, { Connected: true });
      const resolve = (): void => {
        e.resolveTimer = undefined;
        if (e.central !== central) return;
        this.exportGatt(e, central, mtu);
        if (!e.stalled) {
          device.ServicesResolved = true;
          emitChanged(device, { ServicesResolved: true });
        }
      };
      // By default resolved before Connect returns (a cached device). With resolveDelayMs, later, as
      // for a first connection: node-ble's gatt() alone can hang on that (it reads ServicesResolved,
      // then subscribes to its change); NodeBleLink waits for it itself.
      if (e.resolveDelayMs > 0) e.resolveTimer = setTimeout(resolve, e.resolveDelayMs);
      else resolve();
    };
    e.connecting = run().finally(() => {
      e.connecting = undefined;
    });
    return e.connecting;
  }

  private async disconnectDevice(e: Entry): Promise<void> {
    if (e.connecting !== undefined) await e.connecting.catch(() => undefined);
    this.teardownLink(e, { reason: 'local' });
  }

  /**
   * Drop the link: Device1.Disconnected(reason) (BlueZ 5.72+), ServicesResolved and Connected turn
   * false, then the GATT objects go (unbonded LE device). `byPeripheral`: the peripheral already knows;
   * `silent`: no signals at all (a lost signal).
   */
  private teardownLink(
    e: Entry,
    how: { reason: 'local' | 'remote' | 'timeout'; byPeripheral?: boolean; silent?: boolean },
  ): void {
    const silent = how.silent === true;
    const central = e.central;
    if (central === undefined) return;
    e.central = undefined;
    if (e.resolveTimer !== undefined) clearTimeout(e.resolveTimer);
    e.resolveTimer = undefined;
    if (how.byPeripheral !== true) {
      try {
        e.peripheral.disconnect();
      } catch {
        // already disconnected on its side
      }
    }
    const device = e.device;
    if (device !== undefined) {
      if (!silent) device.Disconnected(DISCONNECT_REASON[how.reason], DISCONNECT_MESSAGE[how.reason]);
      if (device.ServicesResolved) {
        device.ServicesResolved = false;
        if (!silent) emitChanged(device, { ServicesResolved: false });
      }
      device.Connected = false;
      if (!silent) emitChanged(device, { Connected: false });
    }
    const gatt = e.gatt;
    e.gatt = undefined;
    if (gatt !== undefined) for (const p of [...gatt.paths].reverse()) this.unexportObject(p);
  }

  private exportGatt(e: Entry, central: SimCentral, mtu: number): void {
    e.gatt = exportGatt({
      devicePath: e.path,
      peripheral: e.peripheral,
      mtu,
      mtuProperty: e.mtuProperty,
      assertLive: () => this.assertLive(e, central),
      takeHandles: (n) => {
        const h = this.nextHandle;
        this.nextHandle += n;
        return h;
      },
      exportObject: (path, iface) => this.exportObject(path, iface),
    });
  }

  private assertLive(e: Entry, central: SimCentral): void {
    if (e.central !== central) throw bluezError(ERR.notConnected, 'Not Connected');
  }

  // ---- public controls ----------------------------------------------------------------------------

  private entry(address: string): Entry {
    const e = this.entries.get(address.toUpperCase());
    if (e === undefined) throw new Error(`no peripheral ${address} in the emulator`);
    return e;
  }

  addPeripheral(peripheral: SimPeripheral, options: PeripheralOptions = {}): void {
    const key = peripheral.address.toUpperCase();
    if (!/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/.test(key)) throw new Error(`bad BLE address ${peripheral.address}`);
    if (this.entries.has(key)) throw new Error(`peripheral ${key} already added`);
    const mtu = options.mtu ?? 247;
    if (!Number.isInteger(mtu) || mtu < 23 || mtu > 517)
      throw new Error(`ATT MTU ${mtu} out of range 23..517`);
    const e: Entry = {
      peripheral,
      rssi: options.rssi ?? -52,
      mtu,
      path: devicePathOf(key),
      offUntil: 0,
      stalled: false,
      resolveDelayMs: options.resolveDelayMs ?? 0,
      mtuProperty: options.mtuProperty ?? true,
    };
    this.entries.set(key, e);
    if (this.adapter?.Discovering === true) this.scheduleDiscovery();
  }

  removePeripheral(address: string): void {
    const e = this.entry(address);
    if (e.powerTimer !== undefined) clearTimeout(e.powerTimer);
    this.teardownLink(e, { reason: 'timeout' }); // gone out of range
    if (e.device !== undefined) this.unexportObject(e.path);
    this.entries.delete(address.toUpperCase());
  }

  devicePath(address: string): string {
    return devicePathOf(address);
  }

  isConnected(address: string): boolean {
    return this.entry(address).central !== undefined;
  }

  dropLink(address: string, options: { silent?: boolean } = {}): void {
    this.teardownLink(this.entry(address), { reason: 'timeout', silent: options.silent === true });
  }

  powerCycle(address: string, offMs: number): void {
    const e = this.entry(address);
    e.offUntil = Date.now() + offMs;
    this.teardownLink(e, { reason: 'timeout' });
    if (e.powerTimer !== undefined) clearTimeout(e.powerTimer);
    e.powerTimer = setTimeout(() => {
      e.powerTimer = undefined;
      e.offUntil = 0;
      if (this.adapter?.Discovering === true) this.scheduleDiscovery();
    }, offMs);
  }

  stallServiceResolution(address: string, stalled: boolean): void {
    this.entry(address).stalled = stalled;
  }
}

export async function startBluezEmulator(options: BluezEmulatorOptions): Promise<BluezEmulator> {
  const emu = new Emulator(options);
  await emu.start(options.peripherals ?? []);
  return emu;
}
