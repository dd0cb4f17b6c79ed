/**
 * The private bus and the BlueZ emulator as a plain D-Bus client sees them (what bluetoothd would
 * answer), plus the NodeBleLink behaviours that only make sense over BlueZ.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import * as dbus from 'dbus-next';
import { firstValueFrom, lastValueFrom, timeout, toArray } from 'rxjs';
import {
  BusError,
  findDbusDaemon,
  startPrivateBus,
  startBluezEmulator,
  EchoPeripheral,
  type PrivateBus,
  type BluezEmulator,
} from '@budlink/link/bluez';
import { NodeBleLink, LinkError, persistentConnection, type Connection } from '@budlink/link';
import { DOWNLINK_UUID, NUS_TX_UUID, SERVICE_UUID, UPLINK_UUID } from '@budlink/protocol';
import { sleep, until } from '@budlink/test-support/wait';

const haveDaemon = findDbusDaemon() !== undefined;
const ADAPTER = '/org/bluez/hci0';
const ADDR = 'C0:FF:EE:00:01:01';
const DEV = `${ADAPTER}/dev_C0_FF_EE_00_01_01`;

type Managed = Record<string, Record<string, Record<string, dbus.Variant>>>;

async function call(
  bus: dbus.MessageBus,
  path: string,
  iface: string,
  member: string,
  signature = '',
  body: unknown[] = [],
): Promise<unknown[]> {
  const reply = await bus.call(
    new dbus.Message({ destination: 'org.bluez', path, interface: iface, member, signature, body }),
  );
  return reply?.body ?? [];
}

async function managed(bus: dbus.MessageBus): Promise<Managed> {
  return (await call(bus, '/', 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects'))[0] as Managed;
}

async function prop(bus: dbus.MessageBus, path: string, iface: string, name: string): Promise<unknown> {
  const [v] = await call(bus, path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [iface, name]);
  return (v as dbus.Variant).value;
}

async function dbusError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { type?: string }).type ?? String(e);
  }
  return 'no error';
}

async function expectLinkErrorKind(p: Promise<unknown>, kind: LinkError['kind']): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(LinkError);
    expect((e as LinkError).kind).to.equal(kind);
    return;
  }
  expect.fail(`expected LinkError(${kind})`);
}

describe('bluez: private bus', function () {
  this.timeout(10000);
  it('reports a missing dbus-daemon as a typed error', async () => {
    try {
      await startPrivateBus({ daemonPath: '/nonexistent/dbus-daemon' });
      expect.fail('should have thrown');
    } catch (e) {
      expect(e).to.be.instanceOf(BusError);
      expect((e as BusError).kind).to.equal('not-installed');
      expect((e as Error).message).to.contain('apt-get install dbus');
    }
  });

  (haveDaemon ? it : it.skip)(
    'starts a bus clients can use, and stop() kills it and removes its files',
    async () => {
      const bus = await startPrivateBus();
      const path = bus.address.replace('unix:path=', '');
      expect(existsSync(path)).to.equal(true);
      const client = dbus.sessionBus({ busAddress: bus.address });
      const obj = await client.getProxyObject('org.freedesktop.DBus', '/org/freedesktop/DBus');
      const names = (await obj.getInterface('org.freedesktop.DBus').ListNames?.()) as string[];
      expect(names).to.include('org.freedesktop.DBus');
      client.disconnect();
      await bus.stop();
      await bus.stop();
      expect(existsSync(path)).to.equal(false);
      expect(() => process.kill(bus.pid, 0)).to.throw();
    },
  );
});

(haveDaemon ? it : it.skip)(
  'bluez: a bus whose owner process is killed (SIGKILL) does not outlive it',
  async function () {
    this.timeout(15000);
    const busModule = createRequire(import.meta.url).resolve('@budlink/link/bluez');
    const code = `import { startPrivateBus } from ${JSON.stringify(busModule)};
const b = await startPrivateBus();
process.stdout.write(JSON.stringify({ pid: b.pid, address: b.address }) + '\\n');
setInterval(() => undefined, 1000);`;
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error('owner did not start a bus')), 10000);
        owner.stdout.setEncoding('utf8');
        owner.stdout.on('data', (d: string) => {
          out += d;
          if (!out.includes('\n')) return;
          clearTimeout(t);
          resolve(out.split('\n')[0] as string);
        });
        owner.once('exit', () => {
          clearTimeout(t);
          reject(new Error('owner exited early'));
        });
      });
      const { pid, address } = JSON.parse(line) as { pid: number; address: string };
      expect(() => process.kill(pid, 0)).to.not.throw();
      owner.kill('SIGKILL');
      await until(
        'the bus daemon to exit',
        () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        5000,
      );
      rmSync(dirname(address.replace('unix:path=', '')), { recursive: true, force: true });
    } finally {
      if (owner.exitCode === null && owner.signalCode === null) owner.kill('SIGKILL');
    }
  },
);

(haveDaemon ? describe : describe.skip)('bluez: emulator as a D-Bus client sees it', function () {
  this.timeout(10000);
  let bus: PrivateBus;
  let emu: BluezEmulator;
  let client: dbus.MessageBus;
  let p: EchoPeripheral;

  beforeEach(async () => {
    bus = await startPrivateBus();
    p = new EchoPeripheral({ name: 'Budlink-E', address: ADDR });
    emu = await startBluezEmulator({ busAddress: bus.address, peripherals: [p] });
    client = dbus.sessionBus({ busAddress: bus.address });
    // A test that never uses it disconnects it mid-handshake: dbus-next reports that as an error.
    client.on('error', () => undefined);
  });
  afterEach(async () => {
    // Optional: when beforeEach failed part-way, report only its error.
    client?.disconnect();
    await emu?.stop();
    await bus?.stop();
  });

  it('exports the ObjectManager, AgentManager1 and a powered Adapter1; devices appear on discovery', async () => {
    let objs = await managed(client);
    expect(objs['/org/bluez']).to.have.property('org.bluez.AgentManager1');
    expect(objs[ADAPTER]?.['org.bluez.Adapter1']?.Powered?.value).to.equal(true);
    expect(objs[DEV]).to.equal(undefined);
    await call(client, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery');
    expect(await dbusError(call(client, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery'))).to.equal(
      'org.bluez.Error.InProgress',
    );
    await until('the device on the bus', async () => (await managed(client))[DEV] !== undefined);
    objs = await managed(client);
    const dev = objs[DEV]?.['org.bluez.Device1'];
    expect(dev?.Address?.value).to.equal(ADDR);
    expect(dev?.Name?.value).to.equal('Budlink-E');
    expect(dev?.RSSI?.value).to.equal(-52);
    expect(dev?.UUIDs?.value).to.deep.equal([SERVICE_UUID]);
    expect(dev?.Connected?.value).to.equal(false);
    await call(client, ADAPTER, 'org.bluez.Adapter1', 'StopDiscovery');
    expect(await prop(client, ADAPTER, 'org.bluez.Adapter1', 'Discovering')).to.equal(false);
  });

  it('discovery is per client, as in BlueZ: each has its own session; the adapter stops after the last', async () => {
    const other = dbus.sessionBus({ busAddress: bus.address });
    other.on('error', () => undefined);
    try {
      const discovering = () => prop(client, ADAPTER, 'org.bluez.Adapter1', 'Discovering');
      await call(client, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery');
      await call(other, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery'); // not InProgress: its own
      await call(client, ADAPTER, 'org.bluez.Adapter1', 'StopDiscovery');
      expect(await discovering(), 'the other client still discovers').to.equal(true);
      expect(await dbusError(call(client, ADAPTER, 'org.bluez.Adapter1', 'StopDiscovery'))).to.equal(
        'org.bluez.Error.Failed',
      );
      other.disconnect(); // a client that leaves the bus loses its session
      await until('discovery off', async () => (await discovering()) === false);
    } finally {
      other.disconnect();
    }
  });

  it('the link discovers for itself even when another client is already discovering', async () => {
    const link = new NodeBleLink({ busAddress: bus.address, connectTimeoutMs: 3000 });
    const discovering = () => prop(client, ADAPTER, 'org.bluez.Adapter1', 'Discovering');
    try {
      await call(client, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery');
      const found = lastValueFrom(link.scan({ timeoutMs: 800 }).pipe(toArray()));
      await sleep(200);
      await call(client, ADAPTER, 'org.bluez.Adapter1', 'StopDiscovery'); // the other client is done
      expect(await discovering(), "the link's own session keeps discovery on").to.equal(true);
      expect((await found).map((d) => d.address)).to.include(ADDR);
      await until('the link stopped its session', async () => (await discovering()) === false);
    } finally {
      await link.close();
    }
  });

  it('Connect on a connected device answers AlreadyConnected; the link uses the link that is there', async () => {
    await call(client, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery');
    await until('the device on the bus', async () => (await managed(client))[DEV] !== undefined);
    await call(client, DEV, 'org.bluez.Device1', 'Connect'); // another client connected it
    expect(await dbusError(call(client, DEV, 'org.bluez.Device1', 'Connect'))).to.equal(
      'org.bluez.Error.AlreadyConnected',
    );
    const link = new NodeBleLink({ busAddress: bus.address, connectTimeoutMs: 3000 });
    try {
      const c = await link.connect(ADDR);
      expect(c.payloadSize).to.be.greaterThan(0);
      await c.disconnect();
    } finally {
      await link.close();
    }
  });

  it('a UUID discovery filter hides devices that do not advertise it', async () => {
    await call(client, ADAPTER, 'org.bluez.Adapter1', 'SetDiscoveryFilter', 'a{sv}', [
      { UUIDs: new dbus.Variant('as', ['0000180f-0000-1000-8000-00805f9b34fb']) },
    ]);
    await call(client, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery');
    await sleep(60);
    expect((await managed(client))[DEV]).to.equal(undefined);
  });

  it('Connect resolves GATT (services, characteristics with MTU) and Disconnect removes them', async () => {
    emu.addPeripheral(new EchoPeripheral({ name: 'Budlink-F', address: 'C0:FF:EE:00:01:02' }), { mtu: 100 });
    await call(client, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery');
    await until('the device on the bus', async () => (await managed(client))[DEV] !== undefined);
    await call(client, DEV, 'org.bluez.Device1', 'Connect');
    expect(await prop(client, DEV, 'org.bluez.Device1', 'ServicesResolved')).to.equal(true);
    const objs = await managed(client);
    const chars = Object.entries(objs).filter(
      ([path, o]) => path.startsWith(DEV + '/') && 'org.bluez.GattCharacteristic1' in o,
    );
    const services = Object.entries(objs).filter(
      ([path, o]) => path.startsWith(DEV + '/') && 'org.bluez.GattService1' in o,
    );
    expect(services.map(([, o]) => o['org.bluez.GattService1']?.UUID?.value)).to.include(SERVICE_UUID);
    const uplink = chars.find(([, o]) => o['org.bluez.GattCharacteristic1']?.UUID?.value === UPLINK_UUID);
    expect(uplink?.[1]['org.bluez.GattCharacteristic1']?.MTU?.value).to.equal(247);
    expect(uplink?.[1]['org.bluez.GattCharacteristic1']?.Flags?.value).to.deep.equal(['notify']);
    expect(chars.map(([, o]) => o['org.bluez.GattCharacteristic1']?.UUID?.value)).to.include.members([
      DOWNLINK_UUID,
      NUS_TX_UUID,
    ]);
    // A notifying characteristic has its CCCD as a GattDescriptor1 child, as in BlueZ.
    const cccd = Object.entries(objs).find(([path]) => path.startsWith((uplink?.[0] ?? '?') + '/desc'));
    expect(cccd?.[1]['org.bluez.GattDescriptor1']?.UUID?.value).to.equal(
      '00002902-0000-1000-8000-00805f9b34fb',
    );
    expect(p.connected).to.equal(true);
    await call(client, DEV, 'org.bluez.Device1', 'Disconnect');
    const after = await managed(client);
    expect(Object.keys(after).filter((k) => k.startsWith(DEV + '/'))).to.deep.equal([]);
    expect(after[DEV]?.['org.bluez.Device1']?.Connected?.value).to.equal(false);
    expect(p.connected).to.equal(false);
  });

  it('WriteValue honours the write type and the MTU; notifications need StartNotify', async () => {
    await call(client, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery');
    await until('the device on the bus', async () => (await managed(client))[DEV] !== undefined);
    await call(client, DEV, 'org.bluez.Device1', 'Connect');
    const objs = await managed(client);
    const pathOf = (uuid: string): string =>
      Object.entries(objs).find(([, o]) => o['org.bluez.GattCharacteristic1']?.UUID?.value === uuid)?.[0] ??
      '';
    const up = pathOf(UPLINK_UUID);
    const down = pathOf(DOWNLINK_UUID);
    const gatt = 'org.bluez.GattCharacteristic1';
    const cmd = { type: new dbus.Variant('s', 'command') };
    expect(
      await dbusError(call(client, up, gatt, 'WriteValue', 'aya{sv}', [Buffer.from([1]), cmd])),
    ).to.equal('org.bluez.Error.NotPermitted');
    expect(
      await dbusError(call(client, down, gatt, 'WriteValue', 'aya{sv}', [Buffer.alloc(245), cmd])),
    ).to.equal('org.bluez.Error.InvalidValueLength');
    // Not notifying: the echo is not delivered as a Value change.
    await call(client, down, gatt, 'WriteValue', 'aya{sv}', [Buffer.from([7]), cmd]);
    expect(Array.from((await prop(client, up, gatt, 'Value')) as Buffer)).to.deep.equal([]);
    await call(client, up, gatt, 'StartNotify');
    expect(await prop(client, up, gatt, 'Notifying')).to.equal(true);
    await call(client, down, gatt, 'WriteValue', 'aya{sv}', [Buffer.from([8, 9]), cmd]);
    expect(Array.from((await prop(client, up, gatt, 'Value')) as Buffer)).to.deep.equal([8, 9]);
    expect(p.received.map((v) => Array.from(v))).to.deep.equal([[7], [8, 9]]);
    await call(client, up, gatt, 'StopNotify');
    expect(await dbusError(call(client, up, gatt, 'StopNotify'))).to.equal('org.bluez.Error.Failed');
  });

  it('power-cycle: the link drops and Connect fails until the peripheral is back', async () => {
    await call(client, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery');
    await until('the device on the bus', async () => (await managed(client))[DEV] !== undefined);
    await call(client, DEV, 'org.bluez.Device1', 'Connect');
    emu.powerCycle(ADDR, 300);
    expect(p.connected).to.equal(false);
    expect(await prop(client, DEV, 'org.bluez.Device1', 'Connected')).to.equal(false);
    expect(await dbusError(call(client, DEV, 'org.bluez.Device1', 'Connect'))).to.equal(
      'org.bluez.Error.Failed',
    );
    await sleep(300);
    await call(client, DEV, 'org.bluez.Device1', 'Connect');
    expect(p.connected).to.equal(true);
  });

  it('restart: the name vanishes (ServiceUnknown), then BlueZ is back with no devices known', async () => {
    await call(client, ADAPTER, 'org.bluez.Adapter1', 'StartDiscovery');
    await until('the device on the bus', async () => (await managed(client))[DEV] !== undefined);
    await call(client, DEV, 'org.bluez.Device1', 'Connect');
    const restarting = emu.restart({ downMs: 200 });
    await sleep(100);
    expect(await dbusError(managed(client))).to.equal('org.freedesktop.DBus.Error.ServiceUnknown');
    expect(p.connected).to.equal(false);
    await restarting;
    const objs = await managed(client);
    expect(objs[ADAPTER]).to.have.property('org.bluez.Adapter1');
    expect(objs[DEV]).to.equal(undefined);
    expect(await prop(client, ADAPTER, 'org.bluez.Adapter1', 'Discovering')).to.equal(false);
  });

  it('fails to start, with a clear error, on a bus nobody listens on', async () => {
    try {
      await startBluezEmulator({ busAddress: 'unix:path=/nonexistent/budlink/bus_socket' });
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.contain('cannot reach the D-Bus');
    }
  });

  it('refuses a second emulator on the same bus', async () => {
    try {
      await startBluezEmulator({ busAddress: bus.address });
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.contain('could not own org.bluez');
    }
  });
});

(haveDaemon ? describe : describe.skip)('ble: NodeBleLink over the emulator, BlueZ-specific', function () {
  this.timeout(10000);
  let bus: PrivateBus;
  let emu: BluezEmulator;
  let link: NodeBleLink;
  let p: EchoPeripheral;

  beforeEach(async () => {
    bus = await startPrivateBus();
    p = new EchoPeripheral({ name: 'Budlink-E', address: ADDR });
    emu = await startBluezEmulator({ busAddress: bus.address, peripherals: [p] });
    link = new NodeBleLink({ busAddress: bus.address, pollIntervalMs: 100 });
  });
  afterEach(async () => {
    await link?.close();
    await emu?.stop();
    await bus?.stop();
  });

  it('a link loss BlueZ reports as a supervision timeout (Device1.Disconnected) closes with timeout', async () => {
    const c = await link.connect(ADDR);
    const reason = firstValueFrom(c.closed$.pipe(timeout(2000)));
    emu.dropLink(ADDR);
    expect(await reason).to.equal('timeout');
  });

  it('connects when GATT resolves after Connect returns (uncached device), at every delay', async () => {
    // node-ble's gatt() alone hangs when ServicesResolved flips between its read and its subscription.
    for (const [i, delay] of [1, 3, 10, 40].entries()) {
      const slow = new EchoPeripheral({ name: `Budlink-slow${i}`, address: `C0:FF:EE:00:02:0${i}` });
      emu.addPeripheral(slow, { resolveDelayMs: delay });
      const c = await link.connect(slow.address, { timeoutMs: 3000 });
      const echo = firstValueFrom(c.frames$.pipe(timeout(2000)));
      await c.write(Uint8Array.of(i));
      expect(Array.from(await echo)).to.deep.equal([i]);
      await c.disconnect();
    }
  });

  it('a link loss while GATT is resolving fails connect at once with disconnected', async () => {
    const slow = new EchoPeripheral({ name: 'Budlink-slow', address: 'C0:FF:EE:00:02:10' });
    emu.addPeripheral(slow, { resolveDelayMs: 5000 });
    const attempt = link.connect(slow.address, { timeoutMs: 8000 });
    await until('the slow device to connect', () => slow.connected);
    await sleep(50);
    emu.dropLink(slow.address);
    // Not 'timeout': the loss ends the wait for GATT instead of the gatt timeout.
    await expectLinkErrorKind(attempt, 'disconnected');
  });

  it('reconnecting after many remote losses leaves no listeners behind', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 14; i++) {
        const c = await link.connect(ADDR);
        const lost = firstValueFrom(c.closed$.pipe(timeout(2000)));
        if (i % 2 === 0) p.kick();
        else emu.dropLink(ADDR);
        await lost;
      }
      await sleep(10);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).to.deep.equal([]);
  });

  it('notices a link loss whose Connected=false signal was lost, by polling', async () => {
    const c = await link.connect(ADDR);
    const reason = firstValueFrom(c.closed$.pipe(timeout(2000)));
    emu.dropLink(ADDR, { silent: true });
    expect(await reason).to.equal('remote');
    await expectLinkErrorKind(c.write(Uint8Array.of(1)), 'disconnected');
  });

  it('a device that is off: connect fails with timeout; persistentConnection gets through once it is back', async () => {
    await lastValueFrom(link.scan({ timeoutMs: 100 }).pipe(toArray()));
    emu.powerCycle(ADDR, 1000);
    try {
      await link.connect(ADDR, { timeoutMs: 600 });
      expect.fail('should have thrown');
    } catch (e) {
      expect(e).to.be.instanceOf(LinkError);
      expect((e as LinkError).kind).to.equal('timeout');
    }
    const got = await new Promise<Connection>((resolve, reject) => {
      const sub = persistentConnection(link, ADDR, {
        initialDelayMs: 50,
        maxDelayMs: 100,
        jitter: 0,
      }).subscribe({
        next: (c) => {
          resolve(c);
          sub.unsubscribe();
        },
        error: reject,
      });
    });
    expect(got.device.address).to.equal(ADDR);
    expect(await firstValueFrom(got.closed$.pipe(timeout(2000)))).to.equal('local');
  });

  it('persistentConnection rides out a BlueZ restart (bluez-gone, retries while it is down, back)', async () => {
    const reasons: string[] = [];
    const second = await new Promise<Connection>((resolve, reject) => {
      let n = 0;
      const sub = persistentConnection(link, ADDR, {
        initialDelayMs: 30,
        maxDelayMs: 60,
        jitter: 0,
      }).subscribe({
        next: (c) => {
          n++;
          c.closed$.subscribe((r) => reasons.push(r));
          if (n === 1) void emu.restart({ downMs: 300 });
          else {
            resolve(c);
            sub.unsubscribe();
          }
        },
        error: reject,
      });
    });
    expect(reasons[0]).to.equal('bluez-gone');
    expect(second.device.address).to.equal(ADDR);
    expect(await firstValueFrom(second.closed$.pipe(timeout(2000)))).to.equal('local');
  });

  it('close() while a connect is still looking for the device ends it promptly', async () => {
    const outcome = link.connect('DE:AD:00:00:00:02', { timeoutMs: 60000 }).catch((e: unknown) => e);
    await sleep(50);
    await link.close();
    const e = await outcome;
    expect(e).to.be.instanceOf(LinkError);
    expect((e as LinkError).kind).to.equal('bluez-unavailable');
  });

  it('scan reports BlueZ missing as bluez-unavailable', async () => {
    await emu.stop();
    try {
      await lastValueFrom(link.scan({ timeoutMs: 200 }).pipe(toArray()));
      expect.fail('should have thrown');
    } catch (e) {
      expect(e).to.be.instanceOf(LinkError);
      expect((e as LinkError).kind).to.equal('bluez-unavailable');
    }
  });

  it('an unreachable bus is bluez-unavailable, not a crash', async () => {
    const nowhere = new NodeBleLink({ busAddress: 'unix:path=/nonexistent/budlink/socket' });
    try {
      await nowhere.connect(ADDR, { timeoutMs: 500 });
      expect.fail('should have thrown');
    } catch (e) {
      expect(e).to.be.instanceOf(LinkError);
      expect((e as LinkError).kind).to.equal('bluez-unavailable');
    } finally {
      await nowhere.close();
    }
  });

  it('payloadSize is MTU - 3 for a small MTU, and 20 when BlueZ has no MTU property (before 5.62)', async () => {
    const small = new EchoPeripheral({ name: 'Budlink-S', address: 'C0:FF:EE:00:01:05' });
    emu.addPeripheral(small, { mtu: 40 });
    const c = await link.connect(small.address);
    expect(c.payloadSize).to.equal(37);
    await c.disconnect();
    const old = new EchoPeripheral({ name: 'Budlink-O', address: 'C0:FF:EE:00:01:06' });
    emu.addPeripheral(old, { mtu: 247, mtuProperty: false });
    const c2 = await link.connect(old.address);
    expect(old.negotiatedMtu).to.equal(247);
    expect(c2.payloadSize).to.equal(20);
    await c2.write(new Uint8Array(20));
    await c2.disconnect();
  });
});
