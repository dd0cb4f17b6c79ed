/**
 * BlueZ emulation: a private D-Bus plus an emulated `org.bluez`, so node-ble (NodeBleLink) runs
 * against simulated earbuds on any Linux machine with dbus-daemon. See host/link/README.md.
 */
export { startPrivateBus, findDbusDaemon, BusError, type PrivateBus, type StartBusOptions } from './bus';
export {
  startBluezEmulator,
  ADAPTER_PATH,
  type BluezEmulator,
  type BluezEmulatorOptions,
  type PeripheralOptions,
} from './emulator';
export { EchoPeripheral, type EchoPeripheralOptions } from './echo-peripheral';
export { startEmulatedBluez, type EmulatedBluez } from './emulated-bluez';
