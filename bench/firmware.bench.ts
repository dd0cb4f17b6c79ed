/**
 * Firmware figures from the BUILT bundles (firmware/dist, `npm run bench` builds them first) running in
 * the simulator. Cost units and their calibration: firmware/sim/README.md (100,000 units ≈ 1 s of nRF52
 * CPU). Metrics:
 *   firmware.bundle_bytes.<board>     size of dist/<board>.min.js
 *   firmware.boot_jsvars.<board>      JsVars in use after boot (walked heap, code run from Storage)
 *   firmware.listen_cost_per_audio_s  device cost per second while listening to silence (nrf52840dk)
 *   firmware.stream_cost_per_audio_s  device cost per second while streaming speech (nrf52840dk)
 *   firmware.sim_realtime_factor      device seconds simulated per host second while streaming (nrf52840dk)
 *   firmware.max_rate_hz.<board>      highest mic rate R such that every rate 4000..R (250 Hz steps) streams
 *                                     without loss: no queue-full drop, no NACK, no overrun, END not ERROR,
 *                                     bit-exact audio; rates the firmware refuses count as not sustained
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BOARDS } from '@budlink/firmware/boards';
import { bundlePathFor } from '@budlink/firmware/bundle';
import { SimHost, SimulatedEarbud, indexOfBytes } from '@budlink/sim';
import { ConfigKey, ConfigOp, EndReason, FrameType } from '@budlink/protocol';
import type { ConfigFrame } from '@budlink/protocol';
import type { Bench } from './run';

const SPEECH = fileURLToPath(new URL('../test/fixtures/audio/hey-budlink-weather-8k.wav', import.meta.url));

function session(board: string): { earbud: SimulatedEarbud; host: SimHost } {
  const earbud = SimulatedEarbud.create({ board });
  const host = new SimHost(earbud, { mtu: 247 });
  host.connect();
  host.run(400);
  if (!host.hello) throw new Error(`${board}: no HELLO`);
  return { earbud, host };
}

function listenCost(board: string): number {
  const { earbud, host } = session(board);
  try {
    earbud.feedSilence(12000);
    host.run(2000);
    const c0 = earbud.stats().totalCost;
    host.run(10000);
    return (earbud.stats().totalCost - c0) / 10;
  } finally {
    earbud.stop();
  }
}

let realtimeFactor = 0;

function streamCost(board: string): number {
  const { earbud, host } = session(board);
  const h0 = performance.now();
  const d0 = earbud.now;
  try {
    earbud.feedSilence(1500);
    earbud.feedWav(SPEECH);
    earbud.feedWav(SPEECH);
    earbud.feedSilence(4000);
    let c0 = -1;
    let t0 = 0;
    for (let t = 0; t < 15000 && host.utterances().length === 0; t += 20) {
      host.run(20);
      if (c0 < 0 && host.framesOfType(FrameType.WAKE).length > 0) {
        c0 = earbud.stats().totalCost;
        t0 = earbud.now;
      }
    }
    if (c0 < 0 || host.utterances().length === 0) throw new Error(`${board}: speech was not streamed`);
    realtimeFactor = (earbud.now - d0) / (performance.now() - h0);
    return (earbud.stats().totalCost - c0) / ((earbud.now - t0) / 1000);
  } finally {
    earbud.stop();
  }
}

/** One utterance at `rate` Hz, streamed without any loss or recovery? */
function sustains(board: string, rate: number): boolean {
  const { earbud, host } = session(board);
  try {
    if (rate !== BOARDS[board]!.sampleRate) {
      const v = new Uint8Array([rate & 0xff, rate >> 8]);
      host.send({
        type: FrameType.CONFIG,
        stream: 0,
        seq: host.nextSeq(),
        op: ConfigOp.SET,
        key: ConfigKey.SAMPLE_RATE,
        value: v,
      });
      host.run(300);
      const replies = host.framesOfType(FrameType.CONFIG) as ConfigFrame[];
      const r = replies[replies.length - 1];
      if (!r || r.value.length !== 2 || (r.value[0]! | (r.value[1]! << 8)) !== rate) return false;
      if (host.framesOfType(FrameType.ERROR).length > 0) return false;
    }
    earbud.feedSilence(1500);
    earbud.feedWav(SPEECH);
    earbud.feedWav(SPEECH);
    earbud.feedSilence(4000);
    for (let t = 0; t < 16000 && host.utterances().length === 0; t += 20) host.run(20);
    const u = host.utterances();
    const s = earbud.stats();
    return (
      u.length === 1 &&
      u[0]!.end !== null &&
      u[0]!.end.reason !== EndReason.ERROR &&
      host.nacksSent === 0 &&
      s.notificationsDropped === 0 &&
      s.overruns === 0 &&
      indexOfBytes(earbud.micSamples(), u[0]!.audio) >= 0
    );
  } finally {
    earbud.stop();
  }
}

/** Highest rate R such that every rate 4000..R (250 Hz steps) streams without loss. */
function maxRate(board: string): number {
  let best = 0;
  for (let r = 4000; r <= 16000; r += 250) {
    if (!sustains(board, r)) break;
    best = r;
  }
  return best;
}

const bench: Bench = {
  name: 'firmware',
  async run() {
    const out: Record<string, number> = {};
    for (const id of Object.keys(BOARDS)) {
      out[`firmware.bundle_bytes.${id}`] = statSync(bundlePathFor(id)).size;
      const e = SimulatedEarbud.create({ board: id });
      out[`firmware.boot_jsvars.${id}`] = e.stats().bootJsVars;
      e.stop();
    }
    out['firmware.listen_cost_per_audio_s'] = Math.round(listenCost('nrf52840dk'));
    out['firmware.stream_cost_per_audio_s'] = Math.round(streamCost('nrf52840dk'));
    out['firmware.sim_realtime_factor'] = Math.round(realtimeFactor * 10) / 10;
    for (const id of Object.keys(BOARDS)) {
      if (BOARDS[id]!.mic.source !== 'analog') continue; // no simulated PDM microphone in this build
      out[`firmware.max_rate_hz.${id}`] = maxRate(id);
    }
    return out;
  },
};
export default bench;
