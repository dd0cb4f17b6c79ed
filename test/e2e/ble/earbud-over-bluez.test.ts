/**
 * End to end over the real node-ble code path: SimulatedEarbud (the built firmware bundle, real-time
 * clock) ↔ BlueZ emulator on a private D-Bus ↔ NodeBleLink. Needs `npm run build -w firmware`.
 */
import { expect } from 'chai';
import { SimulatedEarbud } from '@budlink/sim';
import { BOARDS } from '@budlink/firmware/boards';
import * as dbus from 'dbus-next';
import { FrameType, UPLINK_UUID, decodeFrame, encodeFrame, type Frame } from '@budlink/protocol';
import { filter, firstValueFrom, lastValueFrom, map, timeout, toArray, type Observable } from 'rxjs';
import { NodeBleLink, persistentConnection, type Connection } from '@budlink/link';
import { findDbusDaemon, startEmulatedBluez, type EmulatedBluez } from '@budlink/link/bluez';

const haveDaemon = findDbusDaemon() !== undefined;

function decoded(c: Connection): Observable<Frame> {
  return c.frames$.pipe(
    map((bytes) => decodeFrame(bytes)),
    filter((r): r is { ok: true; frame: Frame } => r.ok),
    map((r) => r.frame),
  );
}

function firstOfType<T extends Frame['type']>(
  c: Connection,
  type: T,
  ms = 5000,
): Promise<Frame & { type: T }> {
  return firstValueFrom(
    decoded(c).pipe(
      filter((f): f is Frame & { type: T } => f.type === type),
      timeout(ms),
    ),
  );
}

function encode(frame: Frame): Uint8Array {
  const r = encodeFrame(frame);
  if (!r.ok) throw new Error(`encode: ${r.error.message}`);
  return r.bytes;
}

(haveDaemon ? describe : describe.skip)(
  'e2e ble: SimulatedEarbud over the BlueZ emulator and node-ble',
  function () {
    this.timeout(20000);
    let sys: EmulatedBluez;
    let link: NodeBleLink;
    let dk: SimulatedEarbud;
    let puck: SimulatedEarbud;
    const open: Connection[] = [];

    before(async () => {
      dk = SimulatedEarbud.create({ board: 'nrf52840dk', clock: 'real', address: 'C0:DE:00:00:00:01' });
      puck = SimulatedEarbud.create({ board: 'puckjs', clock: 'real', address: 'C0:DE:00:00:00:02' });
      // The emulated central asks for what each board's stack accepts (its maxPayload + 3).
      sys = await startEmulatedBluez({
        peripherals: [dk, puck].map((e) => ({
          peripheral: e,
          options: { mtu: (BOARDS[e.board.id]?.maxPayload ?? 20) + 3 },
        })),
      });
      link = new NodeBleLink({ busAddress: sys.busAddress, pollIntervalMs: 200 });
    });
    afterEach(async () => {
      for (const c of open.splice(0)) await c.disconnect();
    });
    after(async () => {
      await link?.close();
      dk?.stop();
      puck?.stop();
      await sys?.stop();
    });

    it('scan finds both earbuds by the Budlink service', async () => {
      const found = await lastValueFrom(link.scan({ timeoutMs: 300, namePrefix: 'Budlink' }).pipe(toArray()));
      expect(found.map((d) => d.address).sort()).to.deep.equal([dk.address, puck.address]);
      // The name the firmware advertises (NRF.setAdvertising), as BlueZ reports it.
      expect(found.find((d) => d.address === dk.address)?.name).to.equal(dk.name);
    });

    it('on connect the earbud says HELLO with its board; PING gets PONG', async () => {
      const c = await link.connect(dk.address);
      open.push(c);
      expect(c.payloadSize).to.equal(128);
      const hello = await firstOfType(c, FrameType.HELLO);
      expect(hello.board).to.equal('nrf52840dk');
      expect(hello.maxPayload).to.equal(128);
      const pong = firstOfType(c, FrameType.PONG);
      await c.write(encode({ type: FrameType.PING, stream: 0, seq: 0, token: 0x0badcafe }));
      expect((await pong).token).to.equal(0x0badcafe);
    });

    it("the uplink's readable value is the HELLO (ReadValue through the emulator)", async () => {
      const c = await link.connect(puck.address);
      open.push(c);
      await firstOfType(c, FrameType.HELLO);
      const client = dbus.sessionBus({ busAddress: sys.busAddress });
      try {
        const root = await client.getProxyObject('org.bluez', '/');
        const objs = (await root
          .getInterface('org.freedesktop.DBus.ObjectManager')
          .GetManagedObjects?.()) as Record<string, Record<string, Record<string, dbus.Variant>>>;
        const uplinkPath = Object.keys(objs).find(
          (p) =>
            p.startsWith(sys.emulator.devicePath(puck.address) + '/') &&
            objs[p]?.['org.bluez.GattCharacteristic1']?.UUID?.value === UPLINK_UUID,
        );
        expect(uplinkPath).to.be.a('string');
        const ch = (await client.getProxyObject('org.bluez', uplinkPath as string)).getInterface(
          'org.bluez.GattCharacteristic1',
        );
        const value = (await ch.ReadValue?.({})) as Buffer;
        const r = decodeFrame(new Uint8Array(value));
        expect(r.ok && r.frame.type === FrameType.HELLO && r.frame.board).to.equal('puckjs');
      } finally {
        client.disconnect();
      }
    });

    it('two earbuds at once, each with its own HELLO', async () => {
      const [a, b] = await Promise.all([link.connect(dk.address), link.connect(puck.address)]);
      open.push(a, b);
      const [ha, hb] = await Promise.all([firstOfType(a, FrameType.HELLO), firstOfType(b, FrameType.HELLO)]);
      expect(ha.board).to.equal('nrf52840dk');
      expect(hb.board).to.equal('puckjs');
      expect(b.payloadSize).to.equal(50);
    });

    it('an earbud power cycle closes the link (timeout) and persistentConnection gets it back', async () => {
      const conns: Connection[] = [];
      const hellos: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const sub = persistentConnection(link, puck.address, { initialDelayMs: 50, jitter: 0 }).subscribe({
          next: (c) => {
            conns.push(c);
            firstOfType(c, FrameType.HELLO).then(
              (h) => {
                hellos.push(h.board);
                if (conns.length === 1) puck.powerCycle();
                else {
                  sub.unsubscribe();
                  resolve();
                }
              },
              (e: unknown) => reject(e),
            );
          },
          error: reject,
        });
      });
      expect(hellos).to.deep.equal(['puckjs', 'puckjs']);
      expect(await firstValueFrom(conns[0]!.closed$)).to.equal('timeout');
      expect(await firstValueFrom(conns[1]!.closed$.pipe(timeout(2000)))).to.equal('local');
    });

    it('a BlueZ restart ends the link with bluez-gone; reconnecting finds the earbud again', async () => {
      const c = await link.connect(dk.address);
      open.push(c);
      await firstOfType(c, FrameType.HELLO);
      const reason = firstValueFrom(c.closed$.pipe(timeout(3000)));
      await sys.emulator.restart({ downMs: 100 });
      expect(await reason).to.equal('bluez-gone');
      const again = await link.connect(dk.address, { timeoutMs: 5000 });
      open.push(again);
      expect((await firstOfType(again, FrameType.HELLO)).board).to.equal('nrf52840dk');
    });
  },
);
