/** Runs the Link contract against InProcessLink and NodeBleLink (private D-Bus + BlueZ emulator). */
import { InProcessLink, NodeBleLink } from '@budlink/link';
import { findDbusDaemon, startPrivateBus, startBluezEmulator, EchoPeripheral } from '@budlink/link/bluez';
import { ReadableEchoPeripheral, linkContract } from './link-contract';

function peripherals(): { a: ReadableEchoPeripheral; b: ReadableEchoPeripheral; other: EchoPeripheral } {
  return {
    a: new ReadableEchoPeripheral({ name: 'Budlink-A', address: 'C0:FF:EE:00:00:0A' }),
    b: new ReadableEchoPeripheral({ name: 'Budlink-B', address: 'C0:FF:EE:00:00:0B', maxMtu: 64 }),
    other: new EchoPeripheral({ name: 'Other-C', address: 'C0:FF:EE:00:00:0C', console: false }),
  };
}

linkContract(
  'InProcessLink',
  async () => {
    const p = peripherals();
    const link = new InProcessLink();
    link.addPeripheral(p.a, { mtu: 247, rssi: -40 });
    link.addPeripheral(p.b, { rssi: -70 });
    link.addPeripheral(p.other);
    return { link, ...p, stop: () => link.close() };
  },
  { bluezFaults: false },
);

const daemon = findDbusDaemon();
linkContract(
  'NodeBleLink over a private D-Bus and the BlueZ emulator',
  async () => {
    const p = peripherals();
    const bus = await startPrivateBus();
    const emu = await startBluezEmulator({ busAddress: bus.address });
    emu.addPeripheral(p.a, { mtu: 247, rssi: -40 });
    emu.addPeripheral(p.b, { rssi: -70 });
    emu.addPeripheral(p.other);
    const link = new NodeBleLink({ busAddress: bus.address, pollIntervalMs: 200, gattTimeoutMs: 2000 });
    return {
      link,
      ...p,
      restartBluez: () => emu.restart({ downMs: 50 }),
      stallGatt: (address, stalled) => emu.stallServiceResolution(address, stalled),
      stop: async () => {
        // Teardown order that ends cleanly: connections → node-ble session → emulator → bus.
        await link.close();
        await emu.stop();
        await bus.stop();
      },
    };
  },
  {
    bluezFaults: true,
    skipReason: daemon === undefined ? 'dbus-daemon is not installed (apt-get install dbus)' : undefined,
  },
);
