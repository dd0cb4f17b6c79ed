/** InProcessLink behaviours beyond the shared contract. */
import { expect } from 'chai';
import { firstValueFrom, timeout } from 'rxjs';
import { InProcessLink, LinkError } from '@budlink/link';
import { EchoPeripheral } from '@budlink/link/bluez';

describe('ble: InProcessLink', () => {
  it('a peripheral that goes out of range ends its connection with timeout', async () => {
    const p = new EchoPeripheral({ name: 'Budlink-X', address: 'C0:FF:EE:00:03:01' });
    const link = new InProcessLink({ peripherals: [p] });
    const c = await link.connect(p.address);
    const reason = firstValueFrom(c.closed$.pipe(timeout(1000)));
    link.removePeripheral(p.address);
    expect(await reason).to.equal('timeout');
    expect(p.connected).to.equal(false);
    try {
      await link.connect(p.address);
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as LinkError).kind).to.equal('not-found');
    }
    await link.close();
  });

  it('rejects a peripheral without the Budlink service with gatt, and close() ends connections', async () => {
    const stranger = {
      name: 'Budlink-Y',
      address: 'C0:FF:EE:00:03:02',
      connected: false,
      advertisedServices: () => [],
      services: () => [],
      connect: () => undefined,
      disconnect: () => undefined,
      write: () => undefined,
      read: () => new Uint8Array(0),
    };
    const p = new EchoPeripheral({ name: 'Budlink-Z', address: 'C0:FF:EE:00:03:03' });
    const link = new InProcessLink({ peripherals: [stranger, p] });
    try {
      await link.connect(stranger.address);
      expect.fail('should have thrown');
    } catch (e) {
      expect(e).to.be.instanceOf(LinkError);
      expect((e as LinkError).kind).to.equal('gatt');
    }
    const c = await link.connect(p.address);
    const reason = firstValueFrom(c.closed$.pipe(timeout(1000)));
    await link.close();
    expect(await reason).to.equal('local');
    expect(p.connected).to.equal(false);
    try {
      await link.connect(p.address);
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as LinkError).kind).to.equal('bluez-unavailable');
    }
  });
});
