/**
 * The pacer against the BLE stack's 6-slot TX queue (built bundle in the simulator): at each board's
 * default rate an utterance streams without a single notification dropped for a full queue, also when
 * a long job delays the pacer so that its ticks run back to back. Needs `npm run build -w firmware`.
 */
import { expect } from 'chai';
import { EndReason, FrameType } from '@budlink/protocol';
import { BOARDS } from '@budlink/firmware/boards';
import { indexOfBytes, type SimHost, type SimulatedEarbud } from '@budlink/sim';
import { connected, fixture, stopAll } from '@budlink/test-support/rigs/firmware';

const SPEECH_8K = fixture('hey-budlink-weather-8k.wav');

describe('firmware e2e: pacing against the TX queue', function () {
  this.timeout(60000);
  afterEach(stopAll);

  function stream(board: string, stall?: (earbud: SimulatedEarbud, host: SimHost, t: number) => void) {
    const { earbud, host } = connected(board);
    host.run(400);
    expect(host.hello, 'HELLO').to.not.equal(null);
    earbud.feedSilence(1500);
    earbud.feedWav(SPEECH_8K);
    earbud.feedWav(SPEECH_8K);
    earbud.feedSilence(4000);
    for (let t = 0; t < 16000 && host.utterances().length === 0; t += 20) {
      if (stall) stall(earbud, host, t);
      host.run(20);
    }
    return { earbud, host };
  }

  for (const board of ['microbit2', 'puckjs', 'nrf52840dk']) {
    it(`${board}: an utterance at ${BOARDS[board]!.sampleRate} Hz with zero queue-full drops and no NACK`, () => {
      const { earbud, host } = stream(board);
      const u = host.utterances();
      expect(u.length, 'one complete utterance').to.equal(1);
      expect(u[0]!.end!.reason).to.equal(EndReason.SILENCE);
      const s = earbud.stats();
      expect(s.notificationsQueueFull, 'notifications dropped on a full TX queue').to.equal(0);
      expect(host.nacksSent, 'NACKs (recovery was needed)').to.equal(0);
      expect(indexOfBytes(earbud.micSamples(), u[0]!.audio)).to.be.greaterThan(-1);
    });
  }

  it('microbit2: ticks delayed by long jobs (80 ms busy REPL lines) still never overfill the queue', () => {
    let stalls = 0;
    const { earbud, host } = stream('microbit2', (e, host, t) => {
      // Every 300 ms while streaming, a REPL line keeps the CPU busy for ~80 ms of device time, so the
      // pacer's interval falls behind and its ticks then run back to back.
      if (t % 300 === 0 && host.framesOfType(FrameType.WAKE).length > 0 && host.utterances().length === 0) {
        e.repl('var __i=0;for(;__i<900;__i++){}');
        stalls++;
      }
    });
    expect(stalls, 'stalls happened during the stream').to.be.greaterThan(5);
    const u = host.utterances();
    expect(u.length).to.equal(1);
    expect(u[0]!.end!.reason).to.equal(EndReason.SILENCE);
    expect(earbud.stats().notificationsQueueFull).to.equal(0);
    expect(host.nacksSent).to.equal(0);
  });
});
