/**
 * The bridge prepares the reply path at session start: the resampler for the usual service rates →
 * the earbud's rate is designed once per process (after HELLO), not on the first reply.
 */
import { expect } from 'chai';
import { REPLY_RATES_TO_WARM, warmReplyPath } from '../../../host/src/bridge/index';

describe('bridge: reply path warm-up', () => {
  it('prepares each service rate → earbud rate pair once, skipping equal rates and bad ones', () => {
    expect(REPLY_RATES_TO_WARM).to.include(24000);
    // 11025 Hz is an unusual earbud rate: nothing else in the test run has prepared it.
    expect(warmReplyPath(11025, [24000, 16000, 11025])).to.equal(2);
    expect(warmReplyPath(11025, [24000, 16000])).to.equal(0);
    expect(warmReplyPath(11025, [-5])).to.equal(0);
  });
});
