/**
 * One node-ble connection (see node-ble-link.ts for the pitfalls handled): set-up that waits for
 * ServicesResolved on its own subscription, notifications in, writes out, the uplink read, loss
 * detection (PropertiesChanged, Device1.Disconnected, polling) and the teardown order that ends
 * cleanly: stop notifications → disconnect → destroy.
 */
import type nodeBle from 'node-ble';
import type { ClientInterface } from 'dbus-next';
import type * as dbus from 'dbus-next';
import { ReplaySubject, Subject } from 'rxjs';
import { DOWNLINK_UUID, NUS_SERVICE_UUID, NUS_TX_UUID, SERVICE_UUID, UPLINK_UUID } from '@budlink/protocol';
import {
  LinkError,
  type Connection,
  type DisconnectReason,
  type DiscoveredDevice,
  type LinkErrorKind,
  type LocalDisconnect,
} from './link';
import { LineSplitter } from './lines';
import {
  BLUEZ,
  DEVICE_IFACE,
  PROPS_IFACE,
  getAll,
  isBluezGone,
  isObjectGone,
  message,
  releaseNodeBleListeners,
  type Session,
} from './node-ble-session';
import { TimeoutError, within } from './within';

type Device = nodeBle.Device;
type GattCharacteristic = nodeBle.GattCharacteristic;

export class NodeBleConnection implements Connection {
  readonly device: DiscoveredDevice;
  payloadSize = 20;
  private readonly framesSubject = new Subject<Uint8Array>();
  private readonly consoleSubject = new Subject<string>();
  private readonly closedSubject = new ReplaySubject<DisconnectReason>(1);
  readonly frames$ = this.framesSubject.asObservable();
  readonly console$ = this.consoleSubject.asObservable();
  readonly closed$ = this.closedSubject.asObservable();
  private uplink?: GattCharacteristic;
  private downlink?: GattCharacteristic;
  private downlinkCommand = true;
  private consoleTx?: GattCharacteristic;
  private readonly lines = new LineSplitter();
  private propsIface?: ClientInterface;
  private deviceIface?: ClientInterface;
  /** Device1.Disconnected (BlueZ 5.72+) says why; Connected=false alone means 'remote'. */
  private readonly onDisconnected = (reason: string): void => {
    this.lost(reason === 'org.bluez.Reason.Timeout' ? 'timeout' : 'remote');
  };
  /** ServicesResolved turned true (seen by our own subscription, so never missed). */
  private resolved = false;
  private onResolved?: () => void;
  /** Rejects when the connection ends: setup steps race it instead of waiting for their timeout. */
  private readonly ended: Promise<never>;
  private endedReject: (e: unknown) => void = () => undefined;
  private readonly onProps = (iface: string, changed: Record<string, dbus.Variant>): void => {
    if (iface !== DEVICE_IFACE) return;
    if (changed.ServicesResolved !== undefined && changed.ServicesResolved.value === true) {
      this.resolved = true;
      this.onResolved?.();
    }
    if (changed.Connected !== undefined && changed.Connected.value === false) {
      this.lost('remote');
    }
  };
  private poll?: NodeJS.Timeout;
  private done = false;
  private closing?: Promise<void>;

  constructor(
    private readonly s: Session,
    private readonly dev: Device,
    private readonly path: string,
    address: string,
    private readonly pollIntervalMs: number,
    private readonly onClosed: (c: NodeBleConnection) => void,
    /** Bound on readUplink (the link's gattTimeoutMs). */
    private readonly readTimeoutMs: number,
  ) {
    this.device = { id: address, address, name: '' };
    this.ended = new Promise<never>((_, reject) => {
      this.endedReject = reject;
    });
    this.ended.catch(() => undefined);
  }

  /** `p`, unless the connection ends or `ms` pass first. */
  private step<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    return within(Promise.race([p, this.ended]), ms, what);
  }

  async setup(gattTimeoutMs: number): Promise<void> {
    // Watch Connected ourselves first, so a loss during setup is seen.
    const obj = await this.s.bus.getProxyObject(BLUEZ, this.path);
    this.propsIface = obj.getInterface(PROPS_IFACE);
    this.propsIface.on('PropertiesChanged', this.onProps);
    // Older BlueZ has no Disconnected signal: dbus-next then never fires it (no match is added).
    this.deviceIface = obj.getInterface(DEVICE_IFACE);
    this.deviceIface.on('Disconnected', this.onDisconnected);
    const props = await this.getDeviceProps();
    if (props.Connected !== true)
      throw new LinkError('disconnected', `${this.device.address} dropped while connecting`);
    this.device.name = typeof props.Name === 'string' ? props.Name : '';
    if (typeof props.RSSI === 'number') this.device.rssi = props.RSSI;

    // node-ble's gatt() reads ServicesResolved and then subscribes to its change: a flip in between
    // hangs it forever. Our subscription predates the read above, so wait for resolution here first;
    // gatt() then finds it true. Still bounded, in case BlueZ never resolves.
    const gattDeadline = Date.now() + gattTimeoutMs;
    const what = `GATT service resolution on ${this.device.address}`;
    if (props.ServicesResolved !== true && !this.resolved) {
      await this.step(
        new Promise<void>((resolve) => {
          this.onResolved = resolve;
          if (this.resolved) resolve();
        }),
        gattTimeoutMs,
        what,
      );
    }
    const gatt = await this.step(this.dev.gatt(), Math.max(1, gattDeadline - Date.now()), what);
    let service;
    try {
      service = await gatt.getPrimaryService(SERVICE_UUID);
    } catch (e) {
      throw new LinkError('gatt', `${this.device.address} has no Budlink service ${SERVICE_UUID}`, e);
    }
    try {
      this.uplink = await service.getCharacteristic(UPLINK_UUID);
      this.downlink = await service.getCharacteristic(DOWNLINK_UUID);
    } catch (e) {
      throw new LinkError(
        'gatt',
        `${this.device.address}: Budlink uplink/downlink characteristic missing`,
        e,
      );
    }
    const flags = await this.downlink.getFlags();
    this.downlinkCommand = flags.includes('write-without-response');
    if (!this.downlinkCommand && !flags.includes('write')) {
      throw new LinkError(
        'gatt',
        `${this.device.address}: downlink is not writable (flags ${flags.join(',')})`,
      );
    }
    this.payloadSize = await this.readPayloadSize(this.uplink);

    if ((await gatt.services()).includes(NUS_SERVICE_UUID)) {
      const nus = await gatt.getPrimaryService(NUS_SERVICE_UUID);
      if ((await nus.characteristics()).includes(NUS_TX_UUID))
        this.consoleTx = await nus.getCharacteristic(NUS_TX_UUID);
    }

    this.uplink.on('valuechanged', (buf: Buffer) => {
      if (!this.done) this.framesSubject.next(new Uint8Array(buf));
    });
    await this.uplink.startNotifications();
    if (this.consoleTx !== undefined) {
      this.consoleTx.on('valuechanged', (buf: Buffer) => {
        if (this.done) return;
        for (const line of this.lines.push(buf)) this.consoleSubject.next(line);
      });
      await this.consoleTx.startNotifications();
    }
    if (this.done) throw new LinkError('disconnected', `${this.device.address} dropped while subscribing`);
    this.schedulePoll();
  }

  /**
   * ATT MTU − 3. Recent BlueZ (5.62+) exposes the negotiated MTU as the characteristic's `MTU`
   * property; older BlueZ has none, and then only the BLE minimum (23 − 3 = 20) is safe.
   */
  private async readPayloadSize(c: GattCharacteristic): Promise<number> {
    try {
      // node-ble's characteristic reads properties through its BusHelper (not in its typings).
      const mtu = await (c as unknown as { helper: { prop(name: string): Promise<unknown> } }).helper.prop(
        'MTU',
      );
      if (typeof mtu === 'number' && mtu >= 23) return mtu - 3;
    } catch {
      // no MTU property: older BlueZ
    }
    return 20;
  }

  private getDeviceProps(): Promise<Record<string, unknown>> {
    return getAll(this.s.bus, this.path, DEVICE_IFACE);
  }

  private schedulePoll(): void {
    if (this.done) return;
    this.poll = setTimeout(() => {
      this.getDeviceProps().then(
        (p) => {
          if (p.Connected !== true) this.lost('remote');
          else this.schedulePoll();
        },
        (e: unknown) => {
          if (isBluezGone(e)) this.lost('bluez-gone');
          else if (isObjectGone(e)) this.lost('remote');
          else this.schedulePoll();
        },
      );
    }, this.pollIntervalMs);
  }

  private lost(reason: DisconnectReason): void {
    if (this.done || this.closing !== undefined) return;
    this.close(reason);
  }

  /** End the connection's streams (idempotent). */
  close(reason: DisconnectReason): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.poll);
    this.endedReject(new LinkError('disconnected', `${this.device.address} disconnected (${reason})`));
    if (this.propsIface !== undefined) this.propsIface.removeListener('PropertiesChanged', this.onProps);
    if (this.deviceIface !== undefined) this.deviceIface.removeListener('Disconnected', this.onDisconnected);
    releaseNodeBleListeners(this.uplink);
    releaseNodeBleListeners(this.consoleTx);
    releaseNodeBleListeners(this.dev);
    const tail = this.lines.flush();
    if (tail !== undefined) this.consoleSubject.next(tail);
    this.onClosed(this);
    this.framesSubject.complete();
    this.consoleSubject.complete();
    this.closedSubject.next(reason);
    this.closedSubject.complete();
  }

  /** Teardown order that ends cleanly: stop notifications, then disconnect. Errors are expected. */
  private async teardown(): Promise<void> {
    const step = async (p: () => Promise<unknown>): Promise<void> => {
      try {
        await within(p(), 1000, 'teardown');
      } catch {
        // best effort: the device or BlueZ may already be gone
      }
    };
    const { consoleTx, uplink } = this;
    if (consoleTx !== undefined) await step(() => consoleTx.stopNotifications());
    if (uplink !== undefined) await step(() => uplink.stopNotifications());
    await step(() => this.dev.disconnect());
  }

  /** Setup failed: disconnect and end, without emitting a reason anyone waits for. */
  async abort(): Promise<void> {
    const wasDone = this.done;
    this.closing ??= this.teardown();
    await this.closing;
    if (!wasDone) this.close('error');
  }

  async write(frame: Uint8Array): Promise<void> {
    if (this.done || this.closing !== undefined || this.downlink === undefined) {
      throw new LinkError('disconnected', `${this.device.address} is not connected`);
    }
    if (frame.length === 0 || frame.length > this.payloadSize) {
      throw new LinkError(
        'write-failed',
        `frame of ${frame.length} bytes does not fit (1..${this.payloadSize})`,
      );
    }
    const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    try {
      if (this.downlinkCommand) await this.downlink.writeValueWithoutResponse(Buffer.from(buf));
      else await this.downlink.writeValue(Buffer.from(buf), { type: 'request' });
    } catch (e) {
      throw this.failed(e, 'write-failed', `write to ${this.device.address}`);
    }
  }

  async readUplink(): Promise<Uint8Array> {
    const uplink = this.uplink;
    if (this.done || this.closing !== undefined || uplink === undefined) {
      throw new LinkError('disconnected', `${this.device.address} is not connected`);
    }
    try {
      const buf = await this.step(
        uplink.readValue(),
        this.readTimeoutMs,
        `read of ${this.device.address}'s uplink`,
      );
      return new Uint8Array(buf);
    } catch (e) {
      if (e instanceof LinkError) throw e; // the connection ended meanwhile
      if (e instanceof TimeoutError) throw new LinkError('timeout', e.message, e);
      throw this.failed(e, 'gatt', `read of ${this.device.address}'s uplink`);
    }
  }

  /** A failed GATT call: the link is lost if BlueZ or the device is gone, else a `kind` error. */
  private failed(e: unknown, kind: LinkErrorKind, what: string): LinkError {
    if (isBluezGone(e)) {
      this.lost('bluez-gone');
      return new LinkError('disconnected', `${this.device.address}: BlueZ went away`, e);
    }
    if (isObjectGone(e) || this.done) {
      this.lost('remote');
      return new LinkError('disconnected', `${this.device.address} is not connected`, e);
    }
    return new LinkError(kind, `${what}: ${message(e)}`, e);
  }

  async disconnect(reason: LocalDisconnect = 'local'): Promise<void> {
    if (this.done) return;
    this.closing ??= this.teardown();
    await this.closing;
    this.close(reason);
  }
}
