/**
 * JsVar headroom of the built bundles in the simulator (code run from Storage, as flashed): boot, then a
 * streamed utterance with the retransmit window in use, never runs out of memory, and STATUS.freeVars
 * reports what the heap walk sees. Needs `npm run build -w firmware`.
 */
import { expect } from 'chai';
import { FrameType } from '@budlink/protocol';
import type { StatusFrame } from '@budlink/protocol';
import { BOARDS } from '@budlink/firmware/boards';
import { connected, fixture, stopAll } from '@budlink/test-support/rigs/firmware';

const SPEECH_8K = fixture('hey-budlink-weather-8k.wav');

describe('firmware e2e: memory while streaming', function () {
  this.timeout(60000);
  afterEach(stopAll);

  for (const board of Object.keys(BOARDS)) {
    it(`${board}: no out-of-memory while an utterance streams; at least 2 % of the heap stays free`, () => {
      const { earbud, host } = connected(board);
      host.run(400);
      earbud.feedSilence(1000);
      earbud.feedWav(SPEECH_8K);
      earbud.feedSilence(3000);
      let minFree = Infinity;
      for (let t = 0; t < 9000; t += 100) {
        if (t === 1200) earbud.pressButton(100); // a tap streams on the PDM board too (no mic there)
        host.run(100);
        const s = earbud.stats();
        minFree = Math.min(minFree, s.jsVarsTotal - s.jsVarsUsed);
      }
      const s = earbud.stats();
      expect(s.outOfMemory, 'out of memory').to.equal(0);
      expect(host.framesOfType(FrameType.WAKE).length, 'an utterance started').to.be.greaterThan(0);
      expect(minFree, 'free JsVars at the worst moment').to.be.at.least(0.02 * s.jsVarsTotal);
      const status = host.framesOfType(FrameType.STATUS) as StatusFrame[];
      expect(status.length).to.be.greaterThan(0);
      for (const st of status) expect(st.freeVars).to.be.within(minFree - 50, s.jsVarsTotal);
    });
  }
});
