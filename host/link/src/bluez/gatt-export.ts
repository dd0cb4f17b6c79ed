/**
 * A connected peripheral's GATT database as BlueZ exports it (GattService1, GattCharacteristic1 and
 * the CCCD GattDescriptor1 objects, named by attribute handle), with the ATT rules the emulator
 * enforces on each characteristic: read / write permissions by flag, write type, MTU − 3 value length,
 * no offset writes, notify only where the flags allow it, and NotConnected once the link is gone.
 */
import type * as dbus from 'dbus-next';
import type { SimPeripheral } from '../peripheral';
import {
  ERR,
  GattCharacteristicIface,
  GattDescriptorIface,
  GattServiceIface,
  LegacyGattCharacteristicIface,
  bluezError,
  emitChanged,
  type CharacteristicHandler,
} from './objects';

type DbusInterface = InstanceType<typeof dbus.interface.Interface>;

export interface GattObjects {
  paths: string[];
  ifaces: Array<{ path: string; iface: DbusInterface }>;
  chars: Map<string, GattCharacteristicIface>;
}

export interface GattExportContext {
  devicePath: string;
  peripheral: SimPeripheral;
  /** The connection's ATT MTU. */
  mtu: number;
  /** BlueZ ≥ 5.62 shows the characteristic's MTU property. */
  mtuProperty: boolean;
  /** Throws NotConnected once this connection is gone. */
  assertLive: () => void;
  /** The next `n` attribute handles (returns the first). */
  takeHandles: (n: number) => number;
  exportObject: (path: string, iface: DbusInterface) => void;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

export function exportGatt(ctx: GattExportContext): GattObjects {
  const gatt: GattObjects = { paths: [], ifaces: [], chars: new Map() };
  for (const s of ctx.peripheral.services()) {
    const sPath = `${ctx.devicePath}/service${hex4(ctx.takeHandles(1))}`;
    ctx.exportObject(sPath, new GattServiceIface(s.uuid.toLowerCase(), ctx.devicePath));
    gatt.paths.push(sPath);
    for (const c of s.characteristics) {
      // Declaration + value handles; BlueZ names the object by the first.
      const cPath = `${sPath}/char${hex4(ctx.takeHandles(2))}`;
      const uuid = c.uuid.toLowerCase();
      const flags = [...c.flags];
      const Char = ctx.mtuProperty ? GattCharacteristicIface : LegacyGattCharacteristicIface;
      const ch: GattCharacteristicIface = new Char(
        { uuid, service: sPath, flags, mtu: ctx.mtu },
        characteristicHandler(ctx, uuid, flags, () => ch),
      );
      ctx.exportObject(cPath, ch);
      gatt.paths.push(cPath);
      gatt.chars.set(uuid, ch);
      if (flags.includes('notify') || flags.includes('indicate')) {
        const dPath = `${cPath}/desc${hex4(ctx.takeHandles(1))}`;
        ctx.exportObject(dPath, new GattDescriptorIface(cPath, () => ch.Notifying));
        gatt.paths.push(dPath);
      }
    }
  }
  return gatt;
}

function characteristicHandler(
  ctx: GattExportContext,
  uuid: string,
  flags: string[],
  ch: () => GattCharacteristicIface,
): CharacteristicHandler {
  const { peripheral, mtu } = ctx;
  return {
    read: (offset) => {
      ctx.assertLive();
      if (!flags.includes('read')) throw bluezError(ERR.notPermitted, 'Read not permitted');
      const v = peripheral.read(uuid);
      if (offset > v.length) throw bluezError(ERR.invalidArguments, 'Invalid offset');
      return v.subarray(offset);
    },
    write: (value, type, offset) => {
      ctx.assertLive();
      const kind =
        type ??
        (flags.includes('write')
          ? 'request'
          : flags.includes('write-without-response')
            ? 'command'
            : undefined);
      const allowed =
        kind === 'command'
          ? flags.includes('write-without-response')
          : kind === 'request' || kind === 'reliable'
            ? flags.includes('write') || flags.includes('reliable-write')
            : false;
      if (!allowed) throw bluezError(ERR.notPermitted, 'Write not permitted');
      if (offset !== 0) throw bluezError(ERR.notSupported, 'Offset writes are not emulated');
      if (value.length > mtu - 3) {
        throw bluezError(
          ERR.invalidValueLength,
          `Invalid Attribute Value Length (${value.length} > ${mtu - 3})`,
        );
      }
      try {
        peripheral.write(uuid, value);
      } catch (err) {
        throw bluezError(ERR.failed, `Operation failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    startNotify: () => {
      ctx.assertLive();
      if (!flags.includes('notify') && !flags.includes('indicate')) {
        throw bluezError(ERR.notSupported, 'Notify not supported');
      }
      if (ch().Notifying) return;
      ch().Notifying = true;
      emitChanged(ch(), { Notifying: true });
    },
    stopNotify: () => {
      if (!ch().Notifying) throw bluezError(ERR.failed, 'No notify session started');
      ch().Notifying = false;
      emitChanged(ch(), { Notifying: false });
    },
  };
}
