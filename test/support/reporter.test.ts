import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('test reporter', () => {
  it('fails a run that leaves a handle open, naming it, instead of hanging', () => {
    const r = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), 'test/fixtures/mocha/leaky-suite.ts'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, BUDLINK_LEAK_GRACE_MS: '300' }, timeout: 20000 },
    );
    const lines = r.stdout.trim().split('\n');
    expect(r.status).to.equal(1);
    expect(r.stdout).to.match(/leaked handles: .*TCPServerWrap/);
    expect(lines[lines.length - 1]).to.equal('tests: 1 passed, 1 failed');
  });
});
