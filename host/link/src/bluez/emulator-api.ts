/**
 * What the BlueZ emulator offers its users (tests, benches, `budlink simulate --serve`): its options,
 * the per-peripheral options, and the interface they drive it through, faults included. The
 * implementation is emulator.ts.
 */
import type { SimPeripheral } from '../peripheral';

export interface PeripheralOptions {
  /** RSSI reported during discovery, dBm (default -52). */
  rssi?: number;
  /**
   * ATT MTU the emulated central asks for (default 247). The exchange settles on the smaller of this
   * and the peripheral's `maxMtu` when it has one; the result is the characteristics' MTU property.
   */
  mtu?: number;
  /**
   * GATT discovery time: services appear and ServicesResolved turns true this long after Connect
   * returns, as for a device BlueZ has no cache of (default 0: resolved before Connect returns).
   */
  resolveDelayMs?: number;
  /** Export the characteristics' MTU property (default true; false = BlueZ before 5.62). */
  mtuProperty?: boolean;
}

export interface BluezEmulatorOptions {
  busAddress: string;
  peripherals?: SimPeripheral[];
  /** Adapter address (default 00:1B:DC:00:B0:D1). */
  adapterAddress?: string;
  /** Delay between StartDiscovery and devices appearing (default 10 ms). */
  discoveryDelayMs?: number;
  /** How long Connect takes to fail when the peripheral is off (default 100 ms; BlueZ: seconds). */
  connectFailMs?: number;
}

export interface BluezEmulator {
  readonly busAddress: string;
  addPeripheral(peripheral: SimPeripheral, options?: PeripheralOptions): void;
  removePeripheral(address: string): void;
  /** D-Bus object path of a device (whether exported or not). */
  devicePath(address: string): string;
  /** Whether BlueZ currently has a connection to the device. */
  isConnected(address: string): boolean;
  /**
   * Link loss (supervision timeout): the peripheral sees a disconnect, the host sees Connected=false.
   * `silent`: no PropertiesChanged signals (a lost signal; clients only notice by reading Connected).
   */
  dropLink(address: string, options?: { silent?: boolean }): void;
  /** The peripheral goes off for offMs: its link drops and Connect fails until it is back. */
  powerCycle(address: string, offMs: number): void;
  /** While stalled, Connect succeeds but ServicesResolved stays false (node-ble's gatt() would hang). */
  stallServiceResolution(address: string, stalled: boolean): void;
  /** bluetoothd restart: release org.bluez (clients get ServiceUnknown), forget devices, come back. */
  restart(options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}
