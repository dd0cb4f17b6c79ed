/**
 * What the node-ble link and its connections share: BlueZ names, D-Bus error classification, the
 * node-ble listener clean-up, Properties.GetAll, and the session (node-ble + raw D-Bus) type.
 */
import type nodeBle from 'node-ble';
import type { MessageBus, ClientInterface } from 'dbus-next';
import * as dbus from 'dbus-next';
import { LinkError, type LinkErrorKind } from './link';

export const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';
export const BLUEZ = 'org.bluez';
export const DEVICE_IFACE = 'org.bluez.Device1';
export const PROPS_IFACE = 'org.freedesktop.DBus.Properties';

/** D-Bus error name, when `e` is a DBusError. */
export function dbusErrorName(e: unknown): string | undefined {
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

export function isBluezGone(e: unknown): boolean {
  const n = dbusErrorName(e);
  return (
    n === 'org.freedesktop.DBus.Error.ServiceUnknown' || n === 'org.freedesktop.DBus.Error.NameHasNoOwner'
  );
}

export function isObjectGone(e: unknown): boolean {
  const n = dbusErrorName(e);
  return (
    n === 'org.freedesktop.DBus.Error.UnknownObject' ||
    n === 'org.freedesktop.DBus.Error.UnknownMethod' ||
    n === 'org.freedesktop.DBus.Error.UnknownInterface' ||
    n === 'org.bluez.Error.NotConnected' ||
    n === 'org.bluez.Error.DoesNotExist'
  );
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function toLinkError(e: unknown, fallback: LinkErrorKind, context: string): LinkError {
  if (e instanceof LinkError) return e;
  if (isBluezGone(e))
    return new LinkError('bluez-unavailable', `${context}: BlueZ is not running (${message(e)})`, e);
  if (message(e) === 'Device not found') return new LinkError('not-found', `${context}: device not found`, e);
  return new LinkError(fallback, `${context}: ${message(e)}`, e);
}

export function devicePath(adapter: string, address: string): string {
  return `/org/bluez/${adapter}/dev_${address.toUpperCase().replace(/:/g, '_')}`;
}

/**
 * node-ble removes its PropertiesChanged listeners only when Disconnect / StopNotify succeed, which
 * they cannot after a remote loss (the objects are gone): without this, every reconnect would leave
 * listeners behind. Its BusHelper#removeListeners is not in the typings.
 */
export function releaseNodeBleListeners(obj: unknown): void {
  const helper = (obj as { helper?: { removeListeners?: unknown } } | undefined)?.helper;
  if (helper !== undefined && typeof helper.removeListeners === 'function') {
    (helper.removeListeners as () => void).call(helper);
  }
  if (obj !== null && typeof obj === 'object' && 'removeAllListeners' in obj) {
    (obj as { removeAllListeners(): void }).removeAllListeners();
  }
}

/** Properties.GetAll on a BlueZ object, without introspecting it first. */
export async function getAll(bus: MessageBus, path: string, iface: string): Promise<Record<string, unknown>> {
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

export interface Session {
  bluetooth: nodeBle.Bluetooth;
  bus: MessageBus;
  destroy(): void;
  /** org.freedesktop.DBus proxy interface carrying NameOwnerChanged. */
  busIface?: ClientInterface;
  onOwner?: (name: string, oldOwner: string, newOwner: string) => void;
}
