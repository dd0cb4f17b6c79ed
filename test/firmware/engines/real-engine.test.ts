/**
 * The built firmware on the REAL Espruino interpreter (2v29 built for Linux per board, with the
 * Budlink hardware shim: docs/ESPRUINO-ENGINE.md), deployed as on a device: the minified bundle in
 * Storage as `.bootcde`, then `load()`. Each board boots on its own JsVar count and runs a short
 * utterance-and-reply; on one board every scenario runs on both engines and the frames must match.
 * (The full scenario set on every board, the 90% heap runs and the CPU counts are in `npm run bench`.)
 */
import { expect } from 'chai';
import { EndReason, Fault, FrameType, type ErrorFrame } from '@budlink/protocol';
import { BOARDS } from '@budlink/firmware/boards';
import { createEarbud, indexOfBytes, type EarbudOptions } from '@budlink/sim';
import { EspruinoEarbud } from '@budlink/sim/espruino';
import { SCENARIOS, replySamples, runScenario, type Scenario, type Transcript } from '@budlink/sim/scenarios';
import { toolchainProblem } from '@budlink/sim/espruino/build';
import { LOGIC_CPU_SPEED } from '@budlink/test-support/rigs/firmware';

const scenario = (name: string): Scenario => {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error('no scenario ' + name);
  return s;
};

/** Run `sc` on a new earbud started with `options` (its audio and link options included). */
async function transcriptOn(options: EarbudOptions, sc: Scenario): Promise<Transcript> {
  const e = await createEarbud(options);
  try {
    return (await runScenario(sc, e)).transcript;
  } finally {
    await e.stop();
  }
}

/** Where two transcripts differ, in words (empty when they are the same). */
function differences(vm: Transcript, real: Transcript): string[] {
  const out: string[] = [];
  const n = Math.max(vm.control.length, real.control.length);
  for (let i = 0; i < n; i++) {
    const a = JSON.stringify(vm.control[i]);
    const b = JSON.stringify(real.control[i]);
    if (a !== b) out.push(`control frame ${i}: vm ${a} | real ${b}`);
  }
  const m = Math.max(vm.utterances.length, real.utterances.length);
  for (let i = 0; i < m; i++) {
    const a = vm.utterances[i];
    const b = real.utterances[i];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    out.push(
      `utterance ${i}: vm ${JSON.stringify(a?.wake)} ${JSON.stringify(a?.end)} ${(a?.audio.length ?? 0) / 2} samples` +
        ` | real ${JSON.stringify(b?.wake)} ${JSON.stringify(b?.end)} ${(b?.audio.length ?? 0) / 2} samples`,
    );
  }
  if (vm.speaker !== real.speaker)
    out.push(`speaker: vm ${vm.speaker.length / 2} samples, real ${real.speaker.length / 2} samples`);
  return out;
}

describe('firmware on the real Espruino interpreter', function () {
  this.timeout(240_000);

  before(() => {
    const problem = toolchainProblem();
    // not a skip: CI installs the toolchain (scripts/install-system-deps.sh), so its absence is a failure
    if (problem) throw new Error(problem);
  });

  for (const board of Object.keys(BOARDS)) {
    const b = BOARDS[board]!;
    // Thingy:52's microphone is PDM, which this firmware does not drive (docs/FIRMWARE.md, "Known
    // limits"): it must say so, and still play replies
    const analog = b.mic.source === 'analog';
    const title = analog
      ? 'boots from Storage, streams an utterance bit-exact and plays the reply'
      : `boots from Storage, reports its ${b.mic.source} microphone unsupported and plays a reply`;
    it(`${board}: ${title}, ≥ 10% of its JsVars free at the peak`, async () => {
      const sc = scenario(analog ? 'utterance-reply' : 'playback');
      const e = await EspruinoEarbud.start({ board, audio: sc.audio(b), link: sc.link, trackPeak: true });
      try {
        const { host } = await runScenario(sc, e);
        const mem = await e.memory();
        const s = e.stats();
        const reply = replySamples(b).subarray(0, analog ? b.sampleRate / 2 : b.sampleRate);
        if (analog) {
          const utts = host.utterances();
          expect(utts.length, 'one utterance').to.equal(1);
          const u = utts[0]!;
          expect(u.complete, 'utterance complete').to.equal(true);
          expect(u.end?.reason).to.equal(EndReason.SILENCE);
          expect(u.end?.totalSamples).to.equal(u.audio.length);
          expect(
            indexOfBytes(e.micSamples(), u.audio),
            'uplink audio is a slice of the mic samples',
          ).to.be.above(-1);
        } else {
          const errors = host.framesOfType(FrameType.ERROR) as ErrorFrame[];
          expect(errors.map((f) => [f.fault, f.message])).to.deep.equal([
            [Fault.UNSUPPORTED, `mic: ${b.mic.source} microphone not supported by this b`],
          ]);
        }
        const played = e.speakerSamples().filter((v) => v !== 128);
        expect(Buffer.from(played).equals(Buffer.from(reply)), 'the reply played sample for sample').to.equal(
          true,
        );
        expect(s.crashes + s.handlerErrors + s.outOfMemory, e.logs.slice(-10).join('\n')).to.equal(0);
        expect(mem.errorFlags, 'no memory error flags').to.equal(0);
        const margin = Math.ceil(mem.total * 0.1);
        expect(mem.total - mem.peak, `free JsVars at the peak (of ${mem.total})`).to.be.at.least(margin);
        expect(mem.total - s.bootJsVars, 'free JsVars at boot').to.be.at.least(margin);
      } finally {
        await e.stop();
      }
    });
  }

  it('puckjs: the vm simulator and the real interpreter produce the same frames in every scenario', async () => {
    const board = 'puckjs';
    const b = BOARDS[board]!;
    const diffs: string[] = [];
    for (const sc of SCENARIOS) {
      const common = { board, audio: sc.audio(b), link: sc.link };
      // the real engine runs on an x86, never short of CPU: the vm it is compared with runs on a CPU as
      // unconstrained (the engines' logic is compared here; real-time capacity is a bench figure)
      const a = await transcriptOn({ engine: 'vm', ...common, cpuSpeed: LOGIC_CPU_SPEED }, sc);
      const r = await transcriptOn({ engine: 'espruino', ...common }, sc);
      for (const d of differences(a, r)) diffs.push(`${sc.name}: ${d}`);
      // a scenario that produced nothing would compare equal and prove nothing
      expect(a.control.length + a.utterances.length + a.speaker.length, sc.name).to.be.above(0);
    }
    expect(diffs, diffs.join('\n')).to.deep.equal([]);
  });
});
