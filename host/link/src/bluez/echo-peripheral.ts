/**
 * A loopback peripheral with the Budlink GATT layout: what a write to the downlink carries comes back
 * as an uplink notification, and each line written to the Nordic UART RX is printed back on its TX
 * as `echo: <line>`. It is not an earbud (that is SimulatedEarbud in @budlink/sim); it checks
 * a link end to end (the link contract tests, the reconnect benchmark, a link check).
 */
import type { SimCentral, SimPeripheral, SimService } from '../peripheral';
import {
  DOWNLINK_UUID,
  NUS_RX_UUID,
  NUS_SERVICE_UUID,
  NUS_TX_UUID,
  SERVICE_UUID,
  UPLINK_UUID,
} from '@budlink/protocol';
import { LineSplitter } from '../lines';

export interface EchoPeripheralOptions {
  name?: string;
  address?: string;
  /** Include the Nordic UART service (default true). */
  console?: boolean;
  /** Largest ATT MTU it accepts in the MTU exchange (default 517). */
  maxMtu?: number;
}

export class EchoPeripheral implements SimPeripheral {
  readonly name: string;
  readonly address: string;
  /** Largest ATT MTU this peripheral accepts (see negotiateMtu in host/link/src/mtu.ts). */
  readonly maxMtu: number;
  private central?: SimCentral;
  private mtu = 23;
  private readonly withConsole: boolean;
  /** Every value written to the downlink, in arrival order. */
  readonly received: Uint8Array[] = [];
  private rx = new LineSplitter();
  private connections = 0;

  constructor(options: EchoPeripheralOptions = {}) {
    this.name = options.name ?? 'Budlink-echo';
    this.address = options.address ?? 'C0:FF:EE:00:00:01';
    this.withConsole = options.console ?? true;
    this.maxMtu = options.maxMtu ?? 517;
  }

  get connected(): boolean {
    return this.central !== undefined;
  }
  /** How many times a central connected. */
  get connectCount(): number {
    return this.connections;
  }
  /** The ATT MTU of the current (or last) connection. */
  get negotiatedMtu(): number {
    return this.mtu;
  }

  advertisedServices(): string[] {
    return [SERVICE_UUID];
  }

  services(): SimService[] {
    const out: SimService[] = [
      {
        uuid: SERVICE_UUID,
        characteristics: [
          { uuid: UPLINK_UUID, flags: ['notify'] },
          { uuid: DOWNLINK_UUID, flags: ['write', 'write-without-response'] },
        ],
      },
    ];
    if (this.withConsole) {
      out.push({
        uuid: NUS_SERVICE_UUID,
        characteristics: [
          { uuid: NUS_RX_UUID, flags: ['write', 'write-without-response'] },
          { uuid: NUS_TX_UUID, flags: ['notify'] },
        ],
      });
    }
    return out;
  }

  connect(central: SimCentral, options: { mtu: number }): void {
    if (this.central !== undefined) throw new Error(`${this.name} is already connected`);
    if (options.mtu > this.maxMtu) throw new Error(`central MTU ${options.mtu} exceeds ${this.maxMtu}`);
    this.central = central;
    this.mtu = options.mtu;
    this.connections += 1;
  }

  disconnect(): void {
    this.central = undefined;
    this.rx = new LineSplitter();
  }

  write(charUuid: string, value: Uint8Array): void {
    const c = this.central;
    if (c === undefined) throw new Error('not connected');
    const uuid = charUuid.toLowerCase();
    if (uuid === DOWNLINK_UUID) {
      this.received.push(value.slice());
      c.onNotify(UPLINK_UUID, value.slice());
    } else if (uuid === NUS_RX_UUID && this.withConsole) {
      for (const line of this.rx.push(value)) this.print(`echo: ${line}`);
    } else {
      throw new Error(`characteristic ${charUuid} is not writable`);
    }
  }

  read(charUuid: string): Uint8Array {
    throw new Error(`characteristic ${charUuid} is not readable`);
  }

  /** Send one uplink notification (as the firmware's frame sender would). */
  notify(frame: Uint8Array): void {
    const c = this.central;
    if (c === undefined) throw new Error('not connected');
    if (frame.length > this.mtu - 3)
      throw new Error(`frame of ${frame.length} bytes exceeds MTU ${this.mtu} - 3`);
    c.onNotify(UPLINK_UUID, frame.slice());
  }

  /** Print a console line on the Nordic UART TX, split into MTU-3 chunks like Espruino does. */
  print(line: string): void {
    const c = this.central;
    if (c === undefined || !this.withConsole) return;
    const bytes = new TextEncoder().encode(`${line}\r\n`);
    const chunk = this.mtu - 3;
    for (let i = 0; i < bytes.length; i += chunk) c.onNotify(NUS_TX_UUID, bytes.slice(i, i + chunk));
  }

  /** Power loss: the link ends without a terminate (the central sees a supervision timeout). */
  powerLoss(): void {
    const c = this.central;
    if (c === undefined) return;
    this.central = undefined;
    this.rx = new LineSplitter();
    c.onDisconnect('power-cycle');
  }

  /** Peripheral-initiated disconnect (the firmware calls NRF.disconnect()). */
  kick(): void {
    const c = this.central;
    if (c === undefined) return;
    this.central = undefined;
    this.rx = new LineSplitter();
    c.onDisconnect('remote');
  }
}
