import { expect } from 'chai';
import { TokenBucket, rateLimitedLogger } from '../../../host/src/pipeline/rate-limit';
import type { LogLevel } from '../../../host/src/pipeline/types';

describe('pipeline/rate-limit', () => {
  it('a bucket gives its burst at once, then refills at its rate, never above the burst', () => {
    let t = 0;
    const b = new TokenBucket(3, 2, () => t);
    expect([b.take(), b.take(), b.take(), b.take()]).to.deep.equal([true, true, true, false]);
    t = 499;
    expect(b.take()).to.equal(false);
    t = 500; // 2 a second: one token after 500 ms
    expect(b.take()).to.equal(true);
    t = 60_000;
    expect([b.take(), b.take(), b.take(), b.take()]).to.deep.equal([true, true, true, false]);
  });

  it('a log flood passes the burst, then the rate, and says how many lines it dropped', () => {
    let t = 0;
    const lines: [LogLevel, string, Record<string, unknown> | undefined][] = [];
    const log = rateLimitedLogger(
      { log: (level, message, fields) => lines.push([level, message, fields]) },
      { burst: 5, perSecond: 1, now: () => t },
    );
    for (let i = 0; i < 3000; i++) log.log('warn', `wake ${i}`, { device: 'AA' });
    expect(lines).to.have.length(5);
    t = 1000;
    log.log('info', 'after a second', { device: 'AA' });
    expect(lines.slice(5)).to.deep.equal([
      ['warn', '2995 log line(s) dropped: over 1 a second', { device: 'AA', dropped: 2995 }],
      ['info', 'after a second', { device: 'AA' }],
    ]);
    // Debug lines have their own bucket: a console flood does not silence warnings.
    for (let i = 0; i < 100; i++) log.log('debug', `console ${i}`);
    t = 2000;
    log.log('error', 'still heard');
    expect(lines.at(-1)).to.deep.equal(['error', 'still heard', undefined]);
  });
});
