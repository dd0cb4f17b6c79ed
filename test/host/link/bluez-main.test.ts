import { expect } from 'chai';
import { parseArgs } from '@budlink/link/bluez/main';

describe('bluez: standalone emulator arguments', () => {
  it('reads echo count, MTU and bus', () => {
    expect(parseArgs(['--echo', '2', '--mtu', '100'])).to.deep.equal({ echo: 2, mtu: 100 });
    expect(parseArgs(['--bus', 'unix:path=/tmp/x'])).to.deep.equal({ bus: 'unix:path=/tmp/x' });
  });
  it('rejects unknown options, missing values and out-of-range numbers with a clear message', () => {
    expect(() => parseArgs(['--frobnicate'])).to.throw('unknown option --frobnicate');
    expect(() => parseArgs(['--bus'])).to.throw('--bus needs a value');
    expect(() => parseArgs(['--board', 'puckjs'])).to.throw('budlink simulate --serve --board ID');
    expect(() => parseArgs(['--mtu', '9'])).to.throw('--mtu takes 23..517');
    expect(() => parseArgs(['--echo', 'many'])).to.throw('--echo takes a count');
  });
});
