import { expect } from 'chai';
import { printable } from '../../../host/src/pipeline/printable';
import { createLogger } from '../../../host/src/cli/log';

describe('pipeline/printable: device text made safe for a terminal', () => {
  it('escapes ESC sequences, CR/LF, other controls and direction overrides; keeps ordinary text', () => {
    expect(printable('\u001b[2J\u001b]0;pwned\u0007')).to.equal('\\x1b[2J\\x1b]0;pwned\\x07');
    expect(printable('ok\r\n12:00:00.000 info  [AA] forged')).to.equal(
      'ok\\x0d\\x0a12:00:00.000 info  [AA] forged',
    );
    expect(printable('a\u009bb\u007fc\u202ed')).to.equal('a\\x9bb\\x7fc\\u202ed');
    expect(printable('Budlink ✓ é\ttab')).to.equal('Budlink ✓ é\ttab');
    expect(printable('two\nlines', true)).to.equal('two\nlines');
  });

  it('a device ERROR message cannot reach the terminal raw through the CLI log', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', json: false, write: (l) => lines.push(l) });
    // as uplink-dispatch logs it, and as a message that forgot to: both come out escaped, one line
    log.log('warn', `device error: ${printable('\u001b]0;x\u0007\nfake line')}`, { device: 'AA' });
    log.log('warn', 'raw \u001b[31mred\u001b[0m', { device: 'AA\u001b' });
    expect(lines).to.have.length(2);
    for (const l of lines) expect([...l].every((c) => c === '\t' || c >= ' ')).to.equal(true);
    expect(lines[0]).to.include('\\x1b]0;x\\x07\\x0afake line');
    expect(lines[1]).to.include('[AA\\x1b] raw \\x1b[31mred');
  });
});
