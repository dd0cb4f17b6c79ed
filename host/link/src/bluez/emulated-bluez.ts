/** The emulator on a bus: a private one started for it, or a given one. */
import type { SimPeripheral } from '../peripheral';
import { startPrivateBus, type PrivateBus } from './bus';
import { startBluezEmulator, type BluezEmulator, type PeripheralOptions } from './emulator';

export interface EmulatedBluez {
  /** Pass to NodeBleLink({ busAddress }) or export as DBUS_SYSTEM_BUS_ADDRESS. */
  readonly busAddress: string;
  readonly emulator: BluezEmulator;
  /** The private bus, when this call started one. */
  readonly bus?: PrivateBus;
  /** Stop the emulator, then the bus if it was ours. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start the emulator on `busAddress`, or on a new private bus when none is given (never on the real
 * system bus by default: its policy would refuse the name anyway, and it would shadow a real BlueZ).
 */
export async function startEmulatedBluez(options: {
  busAddress?: string;
  peripherals?: Array<SimPeripheral | { peripheral: SimPeripheral; options: PeripheralOptions }>;
}): Promise<EmulatedBluez> {
  const bus = options.busAddress === undefined ? await startPrivateBus() : undefined;
  const busAddress = options.busAddress ?? (bus as PrivateBus).address;
  let emulator: BluezEmulator;
  try {
    emulator = await startBluezEmulator({ busAddress });
    for (const p of options.peripherals ?? []) {
      if ('peripheral' in p) emulator.addPeripheral(p.peripheral, p.options);
      else emulator.addPeripheral(p);
    }
  } catch (e) {
    await bus?.stop();
    throw e;
  }
  let stopping: Promise<void> | undefined;
  return {
    busAddress,
    emulator,
    bus,
    stop: () =>
      (stopping ??= (async () => {
        await emulator.stop();
        await bus?.stop();
      })()),
  };
}
