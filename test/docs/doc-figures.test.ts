import { expect } from 'chai';
import { renderDoc } from '../../scripts/doc-figures';

describe('docs: generated figures', () => {
  const doc = (name: string, body = 'old text\n'): string =>
    `# Title\n\nbefore\n<!-- figures:${name} -->\n${body}<!-- /figures:${name} -->\nafter\n`;

  it('rewrites a block from the bench results and leaves the rest of the file alone', () => {
    const out = renderDoc(doc('real-memory'), {
      'firmware.real_boot_free_jsvars.puckjs': 512,
      'firmware.real_peak_free_jsvars.puckjs': 301,
      'firmware.real_90pct_jsvars_pass.puckjs': 0,
    });
    expect(out.startsWith('# Title\n\nbefore\n<!-- figures:real-memory -->\n')).to.equal(true);
    expect(out.endsWith('<!-- /figures:real-memory -->\nafter\n')).to.equal(true);
    expect(out).to.include('| puckjs | 512 | 301 | **no** |');
    expect(out).to.not.include('old text');
    // idempotent
    expect(renderDoc(out, { 'firmware.real_peak_free_jsvars.puckjs': 301 })).to.include(
      '| puckjs | — | 301 | — |',
    );
  });

  it('says a figure is not measured rather than keeping a stale one', () => {
    const out = renderDoc(doc('real-cpu', '| stale | 6 % |\n'), {});
    expect(out).to.not.include('stale');
    expect(out).to.include('Not measured yet');
  });

  it('lists a board the bench ran without CPU figures (no microphone driven) as such', () => {
    const out = renderDoc(doc('real-cpu'), {
      'firmware.real_listen_cpu_share': 0.2,
      'firmware.real_listen_instr_per_s.puckjs': 8e6,
      'firmware.real_listen_cpu_share.puckjs': 0.2,
      'firmware.real_boot_free_jsvars.thingy52': 700,
    });
    expect(out).to.match(/\| thingy52 \| — \(no microphone driven\) \| — \(no microphone driven\) \|/);
  });

  it('refuses an unknown block name', () => {
    expect(() => renderDoc(doc('no-such-figures'), {})).to.throw(/unknown figures block 'no-such-figures'/);
  });
});
