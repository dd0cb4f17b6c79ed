/**
 * Protocol benchmarks.
 *
 * protocol.codec_frames_per_s: encodeFrame + decodeFrame of one AUDIO frame with a 128-byte payload
 *   (one pair per count), the bridge's hot path.
 * protocol.mqtt_packet_frames_per_s: in the same run, mqtt-packet generate + parse of a QoS 0 PUBLISH
 *   carrying the same 128 bytes (a well-used binary codec as the yardstick).
 * protocol.codec_vs_mqtt_packet: ours / theirs (goal >= 2).
 * protocol.fuzz_cases_per_s: 1,000,000 fuzz cases (random and mutated frames: decode, and re-encode
 *   every frame that decodes), the same checks as test/protocol/fuzz.test.ts.
 * protocol.vectors_golden / protocol.vectors_error: vector counts read from protocol/vectors/*.json.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt-packet';
import { decodeFrame, encodeFrame, FrameType } from '@budlink/protocol';
import { checkCase, fuzzCases } from '../test/protocol/fuzz';
import type { AudioFrame } from '@budlink/protocol';
import type { Bench } from './run';

const here = dirname(fileURLToPath(import.meta.url));

function vectors(file: string): { hex: string }[] {
  return (
    JSON.parse(readFileSync(join(here, '..', 'protocol', 'vectors', file), 'utf8')) as {
      vectors: { hex: string }[];
    }
  ).vectors;
}
const PAYLOAD = 128;
const ROUNDS = 5;

/** Best of ROUNDS: operations per second of `fn` called `n` times. */
function rate(n: number, fn: (i: number) => void): number {
  let best = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn(i);
    const s = (performance.now() - t0) / 1000;
    best = Math.max(best, n / s);
  }
  return best;
}

function oursPerSecond(n: number): number {
  const samples = new Uint8Array(PAYLOAD).map((_, i) => i);
  const frame: AudioFrame = { type: FrameType.AUDIO, stream: 1, seq: 0, samples };
  let sink = 0;
  const r = rate(n, (i) => {
    frame.seq = i & 0xffff;
    const e = encodeFrame(frame);
    if (!e.ok) throw new Error(e.error.message);
    const d = decodeFrame(e.bytes);
    if (!d.ok) throw new Error(d.error.message);
    sink += d.frame.seq;
  });
  if (sink < 0) throw new Error('unreachable');
  return r;
}

function mqttPerSecond(n: number): number {
  const payload = Buffer.alloc(PAYLOAD, 7);
  const parser = mqtt.parser();
  let got = 0;
  parser.on('packet', () => {
    got++;
  });
  parser.on('error', (e: Error) => {
    throw e;
  });
  const r = rate(n, () => {
    const bytes = mqtt.generate({ cmd: 'publish', topic: 'a', payload, qos: 0, retain: false, dup: false });
    parser.parse(bytes);
  });
  if (got !== n * ROUNDS) throw new Error(`mqtt-packet parsed ${got} of ${n * ROUNDS}`);
  return r;
}

const bench: Bench = {
  name: 'protocol',
  async run() {
    // Warm both up, then measure in the same run.
    // Warm both up, then alternate short rounds (the machine is shared: interleaving exposes both codecs to
    // the same load) and keep the best of each.
    oursPerSecond(20_000);
    mqttPerSecond(20_000);
    let ours = 0;
    let theirs = 0;
    for (let round = 0; round < 4; round++) {
      ours = Math.max(ours, oursPerSecond(50_000));
      theirs = Math.max(theirs, mqttPerSecond(25_000));
    }

    const next = fuzzCases(0xbe7c);
    const N = 1_000_000;
    let frames = 0;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) frames += checkCase(next());
    const fuzzRate = N / ((performance.now() - t0) / 1000);
    if (frames === 0) throw new Error('fuzz produced no valid frame');

    return {
      'protocol.codec_frames_per_s': Math.round(ours),
      'protocol.mqtt_packet_frames_per_s': Math.round(theirs),
      'protocol.codec_vs_mqtt_packet': Number((ours / theirs).toFixed(2)),
      'protocol.fuzz_cases_per_s': Math.round(fuzzRate),
      'protocol.vectors_golden': vectors('golden.json').length,
      'protocol.vectors_error': vectors('errors.json').length,
    };
  },
};
export default bench;
