/**
 * The D-Bus interfaces the BlueZ emulator exports, shaped like bluetoothd's (org.bluez.*1 API,
 * BlueZ 5.6x docs: adapter-api.txt, device-api.txt, gatt-api.txt). Behaviour lives in emulator.ts;
 * these classes only carry properties and forward method calls to a handler object.
 *
 * dbus-next reads a property as `iface[Name]`, so property fields use the D-Bus names.
 */
import * as dbus from 'dbus-next';

const { Interface } = dbus.interface;
type DbusInterface = InstanceType<typeof Interface>;

export const BLUEZ_NAME = 'org.bluez';
export const ERR = {
  failed: 'org.bluez.Error.Failed',
  inProgress: 'org.bluez.Error.InProgress',
  alreadyConnected: 'org.bluez.Error.AlreadyConnected',
  notReady: 'org.bluez.Error.NotReady',
  notPermitted: 'org.bluez.Error.NotPermitted',
  notSupported: 'org.bluez.Error.NotSupported',
  notConnected: 'org.bluez.Error.NotConnected',
  invalidArguments: 'org.bluez.Error.InvalidArguments',
  invalidValueLength: 'org.bluez.Error.InvalidValueLength',
  doesNotExist: 'org.bluez.Error.DoesNotExist',
} as const;

export function bluezError(type: string, text: string): Error {
  return new dbus.DBusError(type, text);
}

/** All properties of an exported interface as D-Bus variants (for GetManagedObjects / InterfacesAdded). */
export function variantsOf(iface: DbusInterface): Record<string, dbus.Variant> {
  // dbus-next keeps the configured members on the prototype; not in its typings.
  const props =
    (iface as unknown as { $properties?: Record<string, { signature: string }> }).$properties ?? {};
  const bag = iface as unknown as Record<string, unknown>;
  const out: Record<string, dbus.Variant> = {};
  for (const name of Object.keys(props)) {
    const v = bag[name];
    if (v !== undefined) out[name] = new dbus.Variant((props[name] as { signature: string }).signature, v);
  }
  return out;
}

export function ifaceName(iface: DbusInterface): string {
  return (iface as unknown as { $name: string }).$name;
}

export function emitChanged(iface: DbusInterface, changes: Record<string, unknown>): void {
  Interface.emitPropertiesChanged(iface, changes, []);
}

type InterfacesDict = Record<string, Record<string, dbus.Variant>>;

export class ObjectManagerIface extends Interface {
  constructor(private readonly managed: () => Record<string, InterfacesDict>) {
    super('org.freedesktop.DBus.ObjectManager');
  }
  GetManagedObjects(): Record<string, InterfacesDict> {
    return this.managed();
  }
  InterfacesAdded(path: string, interfaces: InterfacesDict): [string, InterfacesDict] {
    return [path, interfaces];
  }
  InterfacesRemoved(path: string, interfaces: string[]): [string, string[]] {
    return [path, interfaces];
  }
}
ObjectManagerIface.configureMembers({
  methods: { GetManagedObjects: { outSignature: 'a{oa{sa{sv}}}' } },
  signals: { InterfacesAdded: { signature: 'oa{sa{sv}}' }, InterfacesRemoved: { signature: 'oas' } },
});

export class AgentManagerIface extends Interface {
  constructor() {
    super('org.bluez.AgentManager1');
  }
  RegisterAgent(_agent: string, _capability: string): void {}
  UnregisterAgent(_agent: string): void {}
  RequestDefaultAgent(_agent: string): void {}
}
AgentManagerIface.configureMembers({
  methods: {
    RegisterAgent: { inSignature: 'os' },
    UnregisterAgent: { inSignature: 'o' },
    RequestDefaultAgent: { inSignature: 'o' },
  },
});

export interface AdapterHandler {
  startDiscovery(): void;
  stopDiscovery(): void;
  setDiscoveryFilter(filter: Record<string, dbus.Variant>): void;
  removeDevice(path: string): void;
  setPowered(on: boolean): void;
}

export class AdapterIface extends Interface {
  Address: string;
  AddressType = 'public';
  Name = 'budlink-emulator';
  Alias = 'budlink-emulator';
  Class = 0x7c010c;
  Discoverable = false;
  Pairable = true;
  Discovering = false;
  UUIDs: string[] = [];
  Modalias = 'usb:v1D6Bp0246d0540';
  private powered = true;
  constructor(
    address: string,
    private readonly handler: AdapterHandler,
  ) {
    super('org.bluez.Adapter1');
    this.Address = address;
  }
  get Powered(): boolean {
    return this.powered;
  }
  set Powered(on: boolean) {
    this.powered = on;
    this.handler.setPowered(on);
  }
  StartDiscovery(): void {
    this.handler.startDiscovery();
  }
  StopDiscovery(): void {
    this.handler.stopDiscovery();
  }
  SetDiscoveryFilter(filter: Record<string, dbus.Variant>): void {
    this.handler.setDiscoveryFilter(filter);
  }
  RemoveDevice(path: string): void {
    this.handler.removeDevice(path);
  }
  GetDiscoveryFilters(): string[] {
    return ['UUIDs', 'RSSI', 'Pathloss', 'Transport', 'DuplicateData', 'Discoverable', 'Pattern'];
  }
}
AdapterIface.configureMembers({
  properties: {
    Address: { signature: 's', access: 'read' },
    AddressType: { signature: 's', access: 'read' },
    Name: { signature: 's', access: 'read' },
    Alias: { signature: 's', access: 'readwrite' },
    Class: { signature: 'u', access: 'read' },
    Powered: { signature: 'b', access: 'readwrite' },
    Discoverable: { signature: 'b', access: 'readwrite' },
    Pairable: { signature: 'b', access: 'readwrite' },
    Discovering: { signature: 'b', access: 'read' },
    UUIDs: { signature: 'as', access: 'read' },
    Modalias: { signature: 's', access: 'read' },
  },
  methods: {
    StartDiscovery: {},
    StopDiscovery: {},
    SetDiscoveryFilter: { inSignature: 'a{sv}' },
    RemoveDevice: { inSignature: 'o' },
    GetDiscoveryFilters: { outSignature: 'as' },
  },
});

export interface DeviceHandler {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

export class DeviceIface extends Interface {
  Address: string;
  AddressType = 'random';
  Name: string;
  Alias: string;
  Appearance = 0x0941; // Earbud
  Paired = false;
  Bonded = false;
  Trusted = false;
  Blocked = false;
  LegacyPairing = false;
  Connected = false;
  ServicesResolved = false;
  RSSI: number;
  UUIDs: string[];
  Adapter: string;
  constructor(
    init: { address: string; name: string; rssi: number; uuids: string[]; adapter: string },
    private readonly handler: DeviceHandler,
  ) {
    super('org.bluez.Device1');
    this.Address = init.address;
    this.Name = init.name;
    this.Alias = init.name;
    this.RSSI = init.rssi;
    this.UUIDs = init.uuids;
    this.Adapter = init.adapter;
  }
  Connect(): Promise<void> {
    return this.handler.connect();
  }
  Disconnect(): Promise<void> {
    return this.handler.disconnect();
  }
  ConnectProfile(_uuid: string): Promise<void> {
    return this.handler.connect();
  }
  DisconnectProfile(_uuid: string): Promise<void> {
    return this.handler.disconnect();
  }
  Pair(): void {
    throw bluezError(ERR.notSupported, 'Pairing is not emulated');
  }
  CancelPairing(): void {
    throw bluezError(ERR.doesNotExist, 'No pairing in progress');
  }
  /** Signal (BlueZ 5.72+): why the connection ended, e.g. org.bluez.Reason.Timeout. */
  Disconnected(reason: string, message: string): [string, string] {
    return [reason, message];
  }
}
DeviceIface.configureMembers({
  properties: {
    Address: { signature: 's', access: 'read' },
    AddressType: { signature: 's', access: 'read' },
    Name: { signature: 's', access: 'read' },
    Alias: { signature: 's', access: 'readwrite' },
    Appearance: { signature: 'q', access: 'read' },
    Paired: { signature: 'b', access: 'read' },
    Bonded: { signature: 'b', access: 'read' },
    Trusted: { signature: 'b', access: 'readwrite' },
    Blocked: { signature: 'b', access: 'readwrite' },
    LegacyPairing: { signature: 'b', access: 'read' },
    Connected: { signature: 'b', access: 'read' },
    ServicesResolved: { signature: 'b', access: 'read' },
    RSSI: { signature: 'n', access: 'read' },
    UUIDs: { signature: 'as', access: 'read' },
    Adapter: { signature: 'o', access: 'read' },
  },
  methods: {
    Connect: {},
    Disconnect: {},
    ConnectProfile: { inSignature: 's' },
    DisconnectProfile: { inSignature: 's' },
    Pair: {},
    CancelPairing: {},
  },
  signals: { Disconnected: { signature: 'ss' } },
});

export class GattServiceIface extends Interface {
  UUID: string;
  Primary = true;
  Device: string;
  Includes: string[] = [];
  constructor(uuid: string, device: string) {
    super('org.bluez.GattService1');
    this.UUID = uuid;
    this.Device = device;
  }
}
GattServiceIface.configureMembers({
  properties: {
    UUID: { signature: 's', access: 'read' },
    Primary: { signature: 'b', access: 'read' },
    Device: { signature: 'o', access: 'read' },
    Includes: { signature: 'ao', access: 'read' },
  },
});

export interface CharacteristicHandler {
  read(offset: number): Uint8Array;
  write(value: Uint8Array, type: 'command' | 'request' | 'reliable' | undefined, offset: number): void;
  startNotify(): void;
  stopNotify(): void;
}

function optionNumber(options: Record<string, dbus.Variant>, key: string): number {
  const v = options[key]?.value as unknown;
  return typeof v === 'number' ? v : 0;
}

export class GattCharacteristicIface extends Interface {
  UUID: string;
  Service: string;
  Value: Buffer = Buffer.alloc(0);
  Notifying = false;
  Flags: string[];
  MTU: number;
  constructor(
    init: { uuid: string; service: string; flags: string[]; mtu: number },
    private readonly handler: CharacteristicHandler,
  ) {
    super('org.bluez.GattCharacteristic1');
    this.UUID = init.uuid;
    this.Service = init.service;
    this.Flags = init.flags;
    this.MTU = init.mtu;
  }
  ReadValue(options: Record<string, dbus.Variant>): Buffer {
    return Buffer.from(this.handler.read(optionNumber(options, 'offset')));
  }
  WriteValue(value: Buffer, options: Record<string, dbus.Variant>): void {
    const t = options.type?.value as unknown;
    const type = t === 'command' || t === 'request' || t === 'reliable' ? t : undefined;
    if (t !== undefined && type === undefined)
      throw bluezError(ERR.invalidArguments, `Invalid write type ${String(t)}`);
    this.handler.write(new Uint8Array(value), type, optionNumber(options, 'offset'));
  }
  StartNotify(): void {
    this.handler.startNotify();
  }
  StopNotify(): void {
    this.handler.stopNotify();
  }
}
function characteristicMembers(withMtu: boolean): Parameters<typeof Interface.configureMembers>[0] {
  return {
    properties: {
      UUID: { signature: 's', access: 'read' },
      Service: { signature: 'o', access: 'read' },
      Value: { signature: 'ay', access: 'read' },
      Notifying: { signature: 'b', access: 'read' },
      Flags: { signature: 'as', access: 'read' },
      ...(withMtu ? { MTU: { signature: 'q', access: 'read' as const } } : {}),
    },
    methods: {
      ReadValue: { inSignature: 'a{sv}', outSignature: 'ay' },
      WriteValue: { inSignature: 'aya{sv}' },
      StartNotify: {},
      StopNotify: {},
    },
  };
}
GattCharacteristicIface.configureMembers(characteristicMembers(true));

/** A characteristic as BlueZ before 5.62 exports it: no MTU property. */
export class LegacyGattCharacteristicIface extends GattCharacteristicIface {}
LegacyGattCharacteristicIface.configureMembers(characteristicMembers(false));

export const CCCD_UUID = '00002902-0000-1000-8000-00805f9b34fb';

/** The Client Characteristic Configuration descriptor of a notifying characteristic. */
export class GattDescriptorIface extends Interface {
  UUID = CCCD_UUID;
  Characteristic: string;
  Value: Buffer = Buffer.alloc(0);
  Flags: string[] = ['read'];
  constructor(
    characteristic: string,
    private readonly notifying: () => boolean,
  ) {
    super('org.bluez.GattDescriptor1');
    this.Characteristic = characteristic;
  }
  ReadValue(_options: Record<string, dbus.Variant>): Buffer {
    return Buffer.from([this.notifying() ? 1 : 0, 0]);
  }
  WriteValue(_value: Buffer, _options: Record<string, dbus.Variant>): void {
    // bluetoothd owns the CCCD: clients use StartNotify/StopNotify.
    throw bluezError(ERR.notPermitted, 'Write to the CCC descriptor is not permitted; use StartNotify');
  }
}
GattDescriptorIface.configureMembers({
  properties: {
    UUID: { signature: 's', access: 'read' },
    Characteristic: { signature: 'o', access: 'read' },
    Value: { signature: 'ay', access: 'read' },
    Flags: { signature: 'as', access: 'read' },
  },
  methods: {
    ReadValue: { inSignature: 'a{sv}', outSignature: 'ay' },
    WriteValue: { inSignature: 'aya{sv}' },
  },
});
