/**
 * Firmware figures measured on the REAL Espruino interpreter (2v29 built for Linux per board, with the
 * Budlink hardware shim: docs/ESPRUINO-ENGINE.md), running the built bundle deployed as on a device.
 * Metrics (per board unless said otherwise):
 *   firmware.real_boot_free_jsvars.<board>  free JsVars after boot, on the board's own JsVar count
 *   firmware.real_peak_free_jsvars.<board>  free JsVars at the highest point over the whole scenario set
 *                                           (sampled after a GC at every notification and between jobs;
 *                                           goal ≥ 10% of the board's JsVars)
 *   firmware.real_90pct_jsvars_pass.<board> 1 if the whole scenario set, on an interpreter given only
 *                                           90% of the board's JsVars, produces the same frames as on the
 *                                           full heap with no out-of-memory, error flag or crash; else 0
 *   firmware.real_listen_cpu_share[.<board>]  share of a 64 MHz nRF52 while listening, at the board's default
 *   firmware.real_stream_cpu_share[.<board>]  rate (central calibration; `_low`/`_high`: the band); without
 *                                           a board: the highest over the boards (firmware/sim/espruino/cost/cpu.ts)
 *   firmware.real_listen_instr_per_s.<board>, firmware.real_stream_instr_per_s.<board>: the x86 counts
 *   firmware.sim_real_frame_diffs          scenarios (over every board) whose frames differ between the vm
 *                                           simulator and the real interpreter (goal 0)
 *   firmware.sim_real_cost_ratio_min/_max[.<board>]  vm cost / real cost over natives, the interpreter's
 *                                           own work and the scenarios, on puckjs and nrf52840dk (goal
 *                                           0.8–1.2; firmware/sim/espruino/cost/ratios.ts)
 * BUDLINK_BENCH_BOARDS=puckjs,nrf52840dk limits the boards (the CPU counts take ~4 min per board).
 */
import { fileURLToPath } from 'node:url';
import { BOARDS } from '@budlink/firmware/boards';
import { createEarbud } from '@budlink/sim';
import { EspruinoEarbud } from '@budlink/sim/espruino';
import { SCENARIOS, runScenario, type Scenario, type Transcript } from '@budlink/sim/scenarios';
import { cpuFigure } from '@budlink/sim/espruino/cpu';
import { costRatios, ratioRange } from '@budlink/sim/espruino/cost';
import type { Bench } from './run';

const SPEECH = fileURLToPath(new URL('../test/fixtures/audio/hey-budlink-weather-8k.wav', import.meta.url));

interface RealRun {
  transcript: Transcript;
  bootFree: number;
  peakFree: number;
  healthy: boolean;
}

async function realRun(board: string, sc: Scenario, jsVars?: number): Promise<RealRun> {
  const b = BOARDS[board]!;
  const e = await EspruinoEarbud.start({ board, audio: sc.audio(b), link: sc.link, trackPeak: true, jsVars });
  try {
    const { transcript } = await runScenario(sc, e);
    const mem = await e.memory();
    const s = e.stats();
    return {
      transcript,
      bootFree: mem.total - s.bootJsVars,
      peakFree: mem.total - mem.peak,
      healthy: s.outOfMemory + s.crashes + s.handlerErrors === 0 && mem.errorFlags === 0,
    };
  } finally {
    await e.stop();
  }
}

async function vmTranscript(board: string, sc: Scenario): Promise<Transcript> {
  // compared with the real engine, which runs on an x86 and is never short of CPU: the vm's CPU is
  // unconstrained too (real-time capacity is firmware.max_rate_hz, firmware.real_*_cpu_share)
  const vm = await createEarbud({
    engine: 'vm',
    board,
    audio: sc.audio(BOARDS[board]!),
    link: sc.link,
    cpuSpeed: 10,
  });
  try {
    return (await runScenario(sc, vm)).transcript;
  } finally {
    vm.stop();
  }
}

const same = (a: Transcript, b: Transcript): boolean => JSON.stringify(a) === JSON.stringify(b);

const bench: Bench = {
  name: 'firmware-real',
  async run() {
    const out: Record<string, number> = {};
    const only = process.env.BUDLINK_BENCH_BOARDS?.split(',').filter(Boolean);
    const boards = Object.keys(BOARDS).filter((b) => !only || only.includes(b));
    let diffs = 0;
    for (const board of boards) {
      const jsVars = BOARDS[board]!.jsVars;
      let bootFree = Infinity;
      let peakFree = Infinity;
      let pass90 = 1;
      // Thingy:52's PDM microphone is not driven: the scenarios that need audio cannot run there
      const analog = BOARDS[board]!.mic.source === 'analog';
      for (const sc of SCENARIOS.filter((x) => analog || !x.mic)) {
        const full = await realRun(board, sc);
        bootFree = Math.min(bootFree, full.bootFree);
        peakFree = Math.min(peakFree, full.peakFree);
        const vm = await vmTranscript(board, sc);
        if (!same(vm, full.transcript)) {
          diffs++;
          process.stdout.write(`  ${board} ${sc.name}: the vm and the real interpreter differ\n`);
        }
        const small = await realRun(board, sc, Math.floor(jsVars * 0.9));
        if (!small.healthy || !full.healthy || !same(small.transcript, full.transcript)) {
          pass90 = 0;
          process.stdout.write(`  ${board} ${sc.name}: fails on 90% of its JsVars\n`);
        }
      }
      out[`firmware.real_boot_free_jsvars.${board}`] = bootFree;
      out[`firmware.real_peak_free_jsvars.${board}`] = peakFree;
      out[`firmware.real_90pct_jsvars_pass.${board}`] = pass90;
    }
    out['firmware.sim_real_frame_diffs'] = diffs;

    for (const kind of ['listen', 'stream'] as const) {
      const worst = { low: 0, central: 0, high: 0 };
      for (const board of boards) {
        const b = BOARDS[board]!;
        // No microphone driven (Thingy:52's PDM): nothing listens or streams, and a CPU run, which counts
        // until the ADC has taken its samples, would wait for ever.
        if (b.mic.source !== 'analog') continue;
        const f = await cpuFigure(b, kind, SPEECH);
        out[`firmware.real_${kind}_instr_per_s.${board}`] = Math.round(f.instructionsPerSecond);
        for (const k of ['low', 'central', 'high'] as const) {
          const key = `firmware.real_${kind}_cpu_share${k === 'central' ? '' : `_${k}`}`;
          out[`${key}.${board}`] = Math.round(f.share[k] * 1000) / 1000;
          worst[k] = Math.max(worst[k], f.share[k]);
        }
      }
      out[`firmware.real_${kind}_cpu_share`] = Math.round(worst.central * 1000) / 1000;
      out[`firmware.real_${kind}_cpu_share_low`] = Math.round(worst.low * 1000) / 1000;
      out[`firmware.real_${kind}_cpu_share_high`] = Math.round(worst.high * 1000) / 1000;
    }

    // the vm's cost model against the real interpreter, on the two kinds of board (4 kHz nRF52832,
    // 8 kHz nRF52840): natives, the interpreter's own work and the listening/streaming scenarios
    let lo = Infinity;
    let hi = -Infinity;
    for (const board of ['puckjs', 'nrf52840dk'].filter((b) => boards.includes(b))) {
      const { min, max } = ratioRange(await costRatios(board));
      out[`firmware.sim_real_cost_ratio_min.${board}`] = Math.round(min * 100) / 100;
      out[`firmware.sim_real_cost_ratio_max.${board}`] = Math.round(max * 100) / 100;
      lo = Math.min(lo, min);
      hi = Math.max(hi, max);
    }
    if (Number.isFinite(lo)) {
      out['firmware.sim_real_cost_ratio_min'] = Math.round(lo * 100) / 100;
      out['firmware.sim_real_cost_ratio_max'] = Math.round(hi * 100) / 100;
    }
    return out;
  },
};
export default bench;
