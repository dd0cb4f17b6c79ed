import { expect } from 'chai';
import { backoff, retryAfterMs } from '../../../host/src/voice/http';

describe('voice: retry timing', () => {
  it('reads retry-after-ms, Retry-After seconds and Retry-After HTTP dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).to.equal(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).to.equal(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': '0.5' }))).to.equal(500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).to.equal(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).to.equal(undefined);
    expect(retryAfterMs(new Headers())).to.equal(undefined);
    // retry-after-ms wins over Retry-After.
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '10', 'retry-after': '9' }))).to.equal(10);
  });

  it('backs off exponentially within ±25 % and never beyond the cap', () => {
    const policy = { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    for (let i = 0; i < 200; i++) {
      expect(backoff(policy, 0)).to.be.within(75, 125);
      expect(backoff(policy, 2)).to.be.within(300, 500);
      expect(backoff(policy, 6)).to.equal(1000);
    }
  });
});
