/**
 * The peripheral contract: a BLE peripheral as a central sees it (its GATT database, connect, write,
 * read, notifications back to the one connected central). The simulated earbuds (both engines) and the
 * echo peripheral implement it; the BlueZ emulator and the in-process link host any implementation.
 */

export interface SimCharacteristic {
  uuid: string; // lower-case 128-bit form
  /** BlueZ-style flags: 'read', 'write', 'write-without-response', 'notify'. */
  flags: string[];
}
export interface SimService {
  uuid: string;
  characteristics: SimCharacteristic[];
}

/** What the simulator calls on the connected central. */
export interface SimCentral {
  /** A notification the link delivered (after the link model: pacing, queue, drops). */
  onNotify(charUuid: string, value: Uint8Array): void;
  onDisconnect(reason: 'remote' | 'power-cycle'): void;
}

/**
 * A BLE peripheral as a central sees it. The simulated earbud implements it; the BlueZ emulator and the
 * in-process link host any SimPeripheral.
 */
export interface SimPeripheral {
  readonly name: string;
  /** 'AA:BB:CC:DD:EE:FF' */
  readonly address: string;
  /** Advertised service UUIDs. */
  advertisedServices(): string[];
  /** GATT database (as the firmware declared it with NRF.setServices). */
  services(): SimService[];
  /** Connect one central; mtu is the ATT MTU the central negotiated. Throws if already connected. */
  connect(central: SimCentral, options: { mtu: number }): void;
  /** Central-initiated disconnect. */
  disconnect(): void;
  /** A write (with or without response) to a characteristic, as the firmware's onWrite sees it. */
  write(charUuid: string, value: Uint8Array): void;
  /** Current value of a readable characteristic. */
  read(charUuid: string): Uint8Array;
  readonly connected: boolean;
}

/**
 * A peripheral with a device clock that a test host can wait on: both engines (the vm simulator and
 * the real interpreter) implement it, so protocol hosts and scenarios run unchanged on either.
 */
export interface TimedPeripheral extends SimPeripheral {
  /** Device time in ms. */
  readonly now: number;
  /** Let `ms` of device time pass (instant on the vm engine's virtual clock). */
  wait(ms: number): Promise<void>;
}
