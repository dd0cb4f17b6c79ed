import { expect } from 'chai';
import { LineSplitter, negotiateMtu } from '@budlink/link';
import { EchoPeripheral } from '@budlink/link/bluez';

describe('ble: console line splitter', () => {
  it('joins chunks into lines, drops \\r\\n, and keeps a UTF-8 character split across chunks', () => {
    const s = new LineSplitter();
    const bytes = new TextEncoder().encode('héllo\r\nwörld\nta');
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i += 3) out.push(...s.push(bytes.subarray(i, i + 3)));
    expect(out).to.deep.equal(['héllo', 'wörld']);
    expect(s.flush()).to.equal('ta');
    expect(s.flush()).to.equal(undefined);
  });
  it('keeps empty lines', () => {
    const s = new LineSplitter();
    expect(s.push(new TextEncoder().encode('a\n\nb\n'))).to.deep.equal(['a', '', 'b']);
  });
});

describe('ble: MTU exchange', () => {
  it('settles on the smaller of central and peripheral, within 23..517', () => {
    expect(negotiateMtu(247, new EchoPeripheral({ maxMtu: 131 }))).to.equal(131);
    expect(negotiateMtu(100, new EchoPeripheral({ maxMtu: 131 }))).to.equal(100);
    expect(negotiateMtu(247, new EchoPeripheral())).to.equal(247);
    expect(negotiateMtu(10, new EchoPeripheral())).to.equal(23);
    expect(negotiateMtu(9999, new EchoPeripheral({ maxMtu: 9999 }))).to.equal(517);
  });
});
