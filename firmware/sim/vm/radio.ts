/**
 * The radio as the program sees it: `NRF` (services, advertising, connection interval), the GATT
 * database a central sees, connections and writes through the link model (../core/link.ts), and the console:
 * output to `logs` and, while connected with the UART on, to Nordic UART TX notifications; writes to
 * the UART RX go to the REPL.
 */
import { NUS_RX_UUID, NUS_SERVICE_UUID, NUS_TX_UUID } from '@budlink/protocol';
import { SimError } from '../core/errors';
import { LinkModel } from '../core/link';
import { nativeCost, type Fn } from './loop';
import type { JsVarCounter } from './memory';
import { eToString, toBytes } from './natives';
import type { Device } from './device';
import type { SimCentral, SimService } from '@budlink/link';

/** Lower-case 128-bit form; 16-bit UUIDs ("0x180F" / "180f") expand on the Bluetooth base. */
export function normUuid(u: string): string {
  const s = u.toLowerCase().replace(/^0x/, '');
  if (/^[0-9a-f]{4}$/.test(s)) return `0000${s}-0000-1000-8000-00805f9b34fb`;
  return s;
}

interface CharState {
  uuid: string;
  value: Uint8Array;
  maxLen: number;
  readable: boolean;
  writable: boolean;
  notify: boolean;
  indicate: boolean;
  onWrite: Fn | null;
}

interface CharDef {
  value?: unknown;
  maxLen?: unknown;
  readable?: unknown;
  writable?: unknown;
  notify?: unknown;
  indicate?: unknown;
  onWrite?: unknown;
}

export class Radio {
  readonly link: LinkModel;
  private services = new Map<string, Map<string, CharState>>();
  private pendingServices: { defs: unknown; options: unknown } | null = null;
  private uart = true;
  private advertise: string[] = [];
  private advName: string;

  constructor(private readonly dev: Device) {
    const config = dev.config;
    this.advName = config.defaultName;
    this.link = new LinkModel(
      {
        packetsPerInterval: config.packetsPerInterval,
        queueDepth: config.queueDepth,
        dropRate: config.dropRate,
        intervalMs: config.intervalMs,
        seed: config.seed,
      },
      config.deviceMaxMtu,
      {
        at: (t, fn) => dev.loop.at(t, fn),
        deliverWrite: (uuid, data) => this.deliverWrite(uuid, data),
      },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Console

  /** Console output (console.log, print, errors): a line in `logs` and, if connected, the UART. */
  print(s: string): void {
    for (const line of s.replace(/\n$/, '').split('\n')) this.dev.logs.push(line);
    if (this.uart && this.link.connected) this.uartNotify(s.replace(/\n/g, '\r\n'));
  }

  /** Raw output on the UART (Bluetooth.write, the REPL's echo). */
  uartWrite(s: string): void {
    for (const line of s.replace(/\r?\n$/, '').split(/\r?\n/)) this.dev.logs.push(line);
    if (this.uart && this.link.connected) this.uartNotify(s);
  }

  private uartNotify(s: string): void {
    const bytes = toBytes(s, 'Bluetooth.write');
    const p = Math.min(20, this.link.payload);
    for (let i = 0; i < bytes.length; i += p)
      this.link.notify(NUS_TX_UUID, bytes.subarray(i, i + p), this.dev.loop.deviceTime());
  }

  /** The `Bluetooth` global: the UART as a stream. */
  bluetoothObject(): Record<string, unknown> {
    const bt: Record<string, unknown> = {
      write: (...a: unknown[]) =>
        this.uartWrite(a.map((x) => (typeof x === 'string' ? x : eToString([x]))).join('')),
      print: (s: unknown) => this.uartWrite(String(s)),
      println: (s: unknown) => this.uartWrite(String(s) + '\r\n'),
    };
    this.dev.events.install(bt);
    return bt;
  }

  // ---------------------------------------------------------------------------------------------
  // NRF

  /** The `NRF` global. */
  nrfObject(): Record<string, unknown> {
    const dev = this.dev;
    const nrf: Record<string, unknown> = {
      setServices: (defs: unknown, options?: unknown) => {
        if (this.link.connected) {
          // Espruino restarts the SoftDevice to change services: deferred until disconnect.
          this.pendingServices = { defs, options };
          this.print('[sim] NRF.setServices while connected: applied after disconnect\n');
          return;
        }
        this.applyServices(defs, options);
      },
      updateServices: (updates: unknown) => this.updateServices(updates),
      setConnectionInterval: (v: unknown) => {
        if (typeof v === 'number') this.link.setRequestedInterval(v);
        else if (v === 'auto') this.link.setRequestedInterval(null);
        else if (v && typeof v === 'object') {
          const o = v as { minInterval?: number; maxInterval?: number };
          this.link.setRequestedInterval(Number(o.maxInterval ?? o.minInterval ?? 7.5));
        }
      },
      setAdvertising: (data: unknown, options?: unknown) => {
        const o = (options ?? {}) as { name?: unknown };
        if (typeof o.name === 'string') this.advName = o.name;
        void data;
      },
      getAdvertisingData: () => undefined,
      setTxPower: () => {},
      setSecurity: () => {},
      getSecurityStatus: () => ({
        connected: this.link.connected,
        encrypted: false,
        mitm_protected: false,
        bonded: false,
      }),
      setWhitelist: () => {},
      disconnect: () => {
        if (this.link.connected)
          dev.loop.at(dev.loop.deviceTime() + 1, () => this.disconnectCentral('remote', 22));
      },
      sleep: () => {},
      wake: () => {},
      restart: () => {},
      getAddress: () => '',
      getBattery: () => 3.0,
    };
    dev.events.install(nrf);
    return nrf;
  }

  private updateServices(updates: unknown): void {
    const dev = this.dev;
    if (updates === null || typeof updates !== 'object') throw dev.err('Expecting an object');
    for (const svcUuid of Object.keys(updates)) {
      const svc = this.services.get(normUuid(svcUuid));
      const chars = (updates as Record<string, Record<string, unknown>>)[svcUuid]!;
      for (const chUuid of Object.keys(chars)) {
        const ch = svc?.get(normUuid(chUuid));
        if (!ch) throw dev.err(`Unable to find service/characteristic ${svcUuid}/${chUuid}`);
        const u = chars[chUuid] as { value?: unknown; notify?: unknown; indicate?: unknown };
        if (u.value === undefined) continue;
        const bytes = toBytes(u.value, 'NRF.updateServices');
        if (bytes.length > ch.maxLen)
          throw dev.err(
            `Got BLE error 0x7 INVALID_PARAM (value of ${bytes.length} bytes > maxLen ${ch.maxLen})`,
          );
        dev.loop.charge(nativeCost('NRF.updateServices', bytes.length));
        ch.value = bytes;
        if ((u.notify && ch.notify) || (u.indicate && ch.indicate))
          this.link.notify(ch.uuid, bytes, dev.loop.deviceTime());
      }
    }
  }

  private applyServices(defs: unknown, options: unknown): void {
    this.services.clear();
    const o = (options ?? {}) as { uart?: unknown; advertise?: unknown };
    this.uart = o.uart === undefined ? true : !!o.uart;
    this.advertise = Array.isArray(o.advertise) ? o.advertise.map((u) => normUuid(String(u))) : [];
    if (defs === null || typeof defs !== 'object') return;
    for (const svcUuid of Object.keys(defs)) {
      const chars = (defs as Record<string, Record<string, unknown>>)[svcUuid]!;
      const m = new Map<string, CharState>();
      for (const chUuid of Object.keys(chars)) {
        const d = chars[chUuid] as CharDef;
        const value = d.value === undefined ? new Uint8Array(0) : toBytes(d.value, 'NRF.setServices');
        m.set(normUuid(chUuid), {
          uuid: normUuid(chUuid),
          value,
          maxLen: d.maxLen === undefined ? Math.max(1, value.length) : Number(d.maxLen),
          readable: !!d.readable,
          writable: !!d.writable,
          notify: !!d.notify,
          indicate: !!d.indicate,
          onWrite: typeof d.onWrite === 'function' ? (d.onWrite as Fn) : null,
        });
      }
      this.services.set(normUuid(svcUuid), m);
    }
  }

  /** JsVars of the characteristics' onWrite handlers (held by the stack), for the heap walk. */
  handlerVars(c: JsVarCounter): number {
    let n = 0;
    for (const svc of this.services.values())
      for (const ch of svc.values()) if (ch.onWrite) n += 2 + c.value(ch.onWrite);
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // What a central sees

  name(): string {
    return this.advName;
  }

  advertisedServices(): string[] {
    return this.advertise.slice();
  }

  gatt(): SimService[] {
    const out: SimService[] = [];
    for (const [uuid, chars] of this.services) {
      out.push({
        uuid,
        characteristics: [...chars.values()].map((c) => ({
          uuid: c.uuid,
          flags: [
            ...(c.readable ? ['read'] : []),
            ...(c.writable ? ['write', 'write-without-response'] : []),
            ...(c.notify ? ['notify'] : []),
            ...(c.indicate ? ['indicate'] : []),
          ],
        })),
      });
    }
    if (this.uart)
      out.push({
        uuid: NUS_SERVICE_UUID,
        characteristics: [
          { uuid: NUS_RX_UUID, flags: ['write', 'write-without-response'] },
          { uuid: NUS_TX_UUID, flags: ['notify'] },
        ],
      });
    return out;
  }

  private findChar(uuid: string): CharState | undefined {
    const u = normUuid(uuid);
    for (const svc of this.services.values()) {
      const c = svc.get(u);
      if (c) return c;
    }
    return undefined;
  }

  connectCentral(central: SimCentral, mtu: number): void {
    if (this.link.connected) throw new SimError('already-connected', 'already connected');
    this.link.connect(central, mtu, this.dev.loop.now);
    this.dev.events.emitLater(this.nrf(), 'connect', ['aa:bb:cc:dd:ee:ff public'], 'connect');
  }

  /** After reset()/load() the radio keeps its connection: the new program starts connected. */
  adoptConnection(central: SimCentral, mtu: number): void {
    this.link.connect(central, mtu, this.dev.loop.now);
  }

  disconnectCentral(by: 'remote' | 'power-cycle' | 'local', reason = 19): void {
    const c = this.link.disconnect();
    if (!c) return;
    if (by !== 'local') c.onDisconnect(by === 'power-cycle' ? 'power-cycle' : 'remote');
    if (by !== 'power-cycle') {
      this.dev.events.emitLater(this.nrf(), 'disconnect', [reason], 'disconnect');
      if (this.pendingServices) {
        const p = this.pendingServices;
        this.pendingServices = null;
        this.applyServices(p.defs, p.options);
      }
    }
  }

  private nrf(): object {
    return (this.dev.ctx as { NRF: object }).NRF;
  }

  centralWrite(uuid: string, value: Uint8Array): void {
    if (!this.link.connected) throw new SimError('not-connected', 'not connected');
    const u = normUuid(uuid);
    if (u === NUS_RX_UUID && this.uart) {
      this.dev.repl.input(value);
      return;
    }
    const ch = this.findChar(u);
    if (!ch) throw new SimError('gatt', `no characteristic ${uuid}`);
    if (!ch.writable) throw new SimError('gatt', `characteristic ${uuid} is not writable`);
    if (value.length > Math.max(ch.maxLen, this.link.payload))
      throw new Error(`write of ${value.length} bytes exceeds ${this.link.payload}`);
    this.link.write(u, value, this.dev.loop.now);
  }

  centralRead(uuid: string): Uint8Array {
    const ch = this.findChar(uuid);
    if (!ch) throw new SimError('gatt', `no characteristic ${uuid}`);
    if (!ch.readable) throw new SimError('gatt', `characteristic ${uuid} is not readable`);
    return new Uint8Array(ch.value);
  }

  /** The link delivers a central's write at a connection event: onWrite({data: ArrayBuffer}) runs. */
  private deliverWrite(uuid: string, data: Uint8Array): void {
    const ch = this.findChar(uuid);
    if (!ch) return;
    ch.value = new Uint8Array(data);
    if (!ch.onWrite) return;
    const b = this.dev.builtins;
    const ab = new b.ArrayBuffer(data.length);
    new b.Uint8Array(ab).set(data);
    const evt = b.Object.assign(new b.Object(), { data: ab });
    this.dev.loop.queue({ fn: ch.onWrite, args: [evt], thisArg: undefined, kind: 'write' });
  }
}
