/**
 * Real hardware, opt-in: BUDLINK_DEVICE=AA:BB:CC:DD:EE:FF (an earbud running the Budlink firmware,
 * in range of this machine's BlueZ). Pending without it.
 */
import { expect } from 'chai';
import { FrameType, decodeFrame } from '@budlink/protocol';
import { filter, firstValueFrom, lastValueFrom, map, timeout, toArray } from 'rxjs';
import { NodeBleLink } from '@budlink/link';

const address = process.env.BUDLINK_DEVICE;

describe('hardware ble: a real earbud through BlueZ (BUDLINK_DEVICE)', function () {
  this.timeout(60000);
  if (address === undefined || address === '') {
    it('is pending: set BUDLINK_DEVICE=AA:BB:CC:DD:EE:FF to run it against a real earbud');
    return;
  }
  let link: NodeBleLink;
  before(() => {
    link = new NodeBleLink({ connectTimeoutMs: 30000 });
  });
  after(async () => {
    await link?.close();
  });

  it('scan finds it with an RSSI', async () => {
    const found = await lastValueFrom(link.scan({ timeoutMs: 10000 }).pipe(toArray()));
    const me = found.find((d) => d.address.toUpperCase() === address.toUpperCase());
    expect(me, `found: ${found.map((d) => d.address).join(', ')}`).to.not.equal(undefined);
    expect(me?.rssi).to.be.a('number');
  });

  it('connects, gets a HELLO, disconnects cleanly', async () => {
    const c = await link.connect(address);
    try {
      expect(c.payloadSize).to.be.at.least(20);
      const hello = await firstValueFrom(
        c.frames$.pipe(
          map((b) => decodeFrame(b)),
          filter((r) => r.ok && r.frame.type === FrameType.HELLO),
          timeout(10000),
        ),
      );
      expect(hello.ok).to.equal(true);
    } finally {
      await c.disconnect();
    }
    expect(await firstValueFrom(c.closed$)).to.equal('local');
  });
});
