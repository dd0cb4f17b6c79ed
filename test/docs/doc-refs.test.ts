/** The docs name only what exists: commands, options, npm scripts, repository paths, links. */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadReferences } from '../../scripts/doc-refs';

describe('docs: references', () => {
  it('README.md, docs/ and the package READMEs name no command, option, script or path that does not exist', () => {
    const dead = deadReferences().map((d) => `${d.file}:${d.line}: ${d.what} (${d.why})`);
    expect(dead).to.deep.equal([]);
  });

  it('finds each kind of dead reference', () => {
    const root = mkdtempSync(join(tmpdir(), 'budlink-docs-'));
    try {
      mkdirSync(join(root, 'docs'));
      mkdirSync(join(root, 'host'));
      writeFileSync(join(root, 'package.json'), JSON.stringify({ scripts: { bench: 'x' } }));
      writeFileSync(join(root, 'host', 'real.ts'), '');
      writeFileSync(
        join(root, 'README.md'),
        [
          'Run `budlink frobnicate`, then `budlink demo --colour red` and `budlink demo --speed 2`.',
          '```sh',
          'npm run bench && npm run nope',
          '```',
          'See `host/real.ts`, `host/gone.ts`, `host/*.ts` and [the spec](docs/NOPE.md).',
        ].join('\n'),
      );
      expect(deadReferences(root).map((d) => `${d.line} ${d.what}: ${d.why}`)).to.deep.equal([
        '1 budlink frobnicate: no such command',
        '1 budlink demo --colour: no option --colour',
        '3 npm run nope: no such npm script',
        '5 host/gone.ts: no such path',
        '5 docs/NOPE.md: link to nothing',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
