/**
 * Host pipeline benchmarks (in-process, a scripted earbud that answers PLAY with CREDIT at once,
 * the loopback voice service; instrumented with the session's hooks, never with logs):
 *   host.uplink_latency_ms_p50/p99    last uplink frame of an utterance in → voice request out
 *   host.downlink_latency_ms_p50/p99  first reply audio in → first PLAY frame out
 *   host.frames_per_s                 uplink AUDIO frames per second one device's session sustains
 *                                     (decode, reassemble, ACK, hand-off) in a long utterance
 *   host.soak_rss_growth_mb           RSS growth over an accelerated one-hour session (virtual time:
 *                                     keep-alives, STATUS, an utterance with reply every 20 s), from
 *                                     minute 5 to minute 60, after a full GC; measured first, before the
 *                                     other runs' garbage can be released into the figure
 *   host.soak_heap_growth_mb          the same for the V8 heap (heapUsed): the leak signal
 * SOAK_MIN=120 npx tsx bench/run.ts host  soaks longer (to tell a leak from warm-up).
 */
import { VirtualTimeScheduler, of, type Subscription } from 'rxjs';
import { FrameType } from '@budlink/protocol';
import { runSession } from '../host/src/pipeline/session';
import type { SessionEvent, SessionHooks } from '../host/src/pipeline/types';
import { LoopbackVoiceService } from '../host/src/voice/loopback';
import type { VoiceEvent, VoiceRequest, VoiceService } from '../host/src/voice/types';
import { Observable } from 'rxjs';
import type { Bench } from './run';
import { ScriptedConnection } from '@budlink/test-support/scripted-earbud';
import { settle } from '@budlink/test-support/wait';
import { percentile } from './support/stats';
import { gcFn } from './support/gc';

const PAYLOAD = 244;
const SAMPLES_PER_FRAME = PAYLOAD - 4;
/** The 8-bit samples every AUDIO frame carries. */
const TONE = Uint8Array.from({ length: SAMPLES_PER_FRAME }, (_, i) => 128 + Math.round(40 * Math.sin(i / 3)));

/** The scripted earbud behind a fake Connection; its ring is off: the bench measures the host alone. */
function scriptedEarbud(): ScriptedConnection {
  return new ScriptedConnection({ maxPayload: PAYLOAD, instantSpeaker: true, ring: false });
}

/** WAKE, `frames` AUDIO frames of TONE, END on `stream`. */
function utterance(dev: ScriptedConnection, stream: number, frames: number): void {
  dev.earbud.utterance(
    Array.from({ length: frames }, () => TONE),
    stream,
  );
}

/** Replies with a fixed short clip (no network, synchronous-ish). */
class ClipVoice implements VoiceService {
  readonly name = 'clip';
  private readonly clip: Int16Array;
  constructor(samples: number) {
    this.clip = new Int16Array(samples);
    for (let i = 0; i < samples; i++) this.clip[i] = Math.round(6000 * Math.sin(i / 5));
  }
  respond(_r: VoiceRequest): Observable<VoiceEvent> {
    return new Observable<VoiceEvent>((sub) => {
      const t = setImmediate(() => {
        sub.next({ kind: 'audio', pcm: this.clip, sampleRate: 8000 });
        sub.next({ kind: 'done' });
        sub.complete();
      });
      return () => clearImmediate(t);
    });
  }
  async truncate(): Promise<void> {}
  async close(): Promise<void> {}
}

const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

async function latencies(utterances: number): Promise<Record<string, number>> {
  const dev = scriptedEarbud();
  const uplink: number[] = [];
  const downlink: number[] = [];
  let completedAt = 0;
  let replyAt = 0;
  const hooks: SessionHooks = {
    utteranceComplete: (_u, at) => {
      completedAt = at;
    },
    serviceRequest: (_r, at) => uplink.push(at - completedAt),
    firstReplyAudio: (at) => {
      replyAt = at;
    },
    playFrame: (_f, first, at) => {
      if (first) downlink.push(at - replyAt);
    },
  };
  let done = 0;
  let wake: (() => void) | undefined;
  const sub: Subscription = runSession(of(dev), {
    deviceId: dev.device.id,
    voice: new LoopbackVoiceService({ chunkMs: 100 }),
    keepAliveMs: 0,
    keepAliveTimeoutMs: 0,
    maxUtterancesPerMinute: 0, // measures the pipeline, not the per-earbud limit
    hooks,
  }).subscribe((e: SessionEvent) => {
    if (e.kind === 'utterance') {
      if (e.report.outcome !== 'complete')
        throw new Error(`utterance ${e.report.outcome}: ${e.report.error}`);
      done++;
      wake?.();
    }
  });
  dev.earbud.hello();
  for (let i = 0; i < utterances; i++) {
    const target = done + 1;
    const finished = new Promise<void>((resolve) => {
      wake = () => {
        if (done >= target) resolve();
      };
    });
    utterance(dev, (i % 255) + 1, 20);
    await finished;
  }
  sub.unsubscribe();
  uplink.sort((a, b) => a - b);
  downlink.sort((a, b) => a - b);
  return {
    'host.uplink_latency_ms_p50': round(percentile(uplink, 50)),
    'host.uplink_latency_ms_p99': round(percentile(uplink, 99)),
    'host.downlink_latency_ms_p50': round(percentile(downlink, 50)),
    'host.downlink_latency_ms_p99': round(percentile(downlink, 99)),
  };
}

async function throughput(): Promise<number> {
  const dev = scriptedEarbud();
  let done = 0;
  const sub = runSession(of(dev), {
    deviceId: dev.device.id,
    voice: new ClipVoice(SAMPLES_PER_FRAME),
    keepAliveMs: 0,
    keepAliveTimeoutMs: 0,
    maxUtterancesPerMinute: 0, // measures the pipeline, not the per-earbud limit
    ackEveryFrames: 8,
  }).subscribe((e) => {
    if (e.kind === 'utterance') done++;
  });
  dev.earbud.hello();
  utterance(dev, 1, 500); // warm-up
  while (done < 1) await settle();
  const frames = 30000;
  const t0 = performance.now();
  utterance(dev, 2, frames);
  while (done < 2) await settle();
  const s = (performance.now() - t0) / 1000;
  sub.unsubscribe();
  return Math.round(frames / s);
}

/** RSS and V8 heap growth (MB) between minute 5 and minute 60 of the session, each after a full GC. */
async function soak(): Promise<{ rss: number; heap: number }> {
  const gc = gcFn();
  const scheduler = new VirtualTimeScheduler();
  const dev = scriptedEarbud();
  let done = 0;
  const sub = runSession(of(dev), {
    deviceId: dev.device.id,
    voice: new ClipVoice(4000),
    keepAliveMs: 2000,
    keepAliveTimeoutMs: 0,
    maxUtterancesPerMinute: 0, // measures the pipeline, not the per-earbud limit
    scheduler,
    now: () => scheduler.now(),
  }).subscribe((e) => {
    if (e.kind === 'utterance') done++;
  });
  dev.earbud.hello();
  const step = async (virtualMs: number): Promise<void> => {
    // The virtual clock only moves when an action runs: pin one at the target time.
    scheduler.schedule(() => undefined, virtualMs);
    scheduler.maxFrames = scheduler.frame + virtualMs;
    scheduler.flush();
    for (let i = 0; i < 3; i++) await settle();
  };
  const hourMs = Number(process.env.SOAK_MIN ?? 60) * 60 * 1000;
  let stream = 0;
  const measure = (): { rss: number; heap: number } => {
    gc?.();
    const m = process.memoryUsage();
    return { rss: m.rss, heap: m.heapUsed };
  };
  let base = { rss: 0, heap: 0 };
  for (let t = 0; t < hourMs; t += 1000) {
    if (t === 5 * 60 * 1000) base = measure(); // after warm-up
    if (t % 20000 === 0) {
      stream = (stream % 255) + 1;
      const before = done;
      utterance(dev, stream, 25); // 0.75 s
      for (let k = 0; k < 200 && done === before; k++) await step(5);
    }
    if (t % 5000 === 0) {
      dev.earbud.send({
        type: FrameType.STATUS,
        stream: 0,
        seq: 0,
        battery: 90,
        freeVars: 1000,
        overruns: 0,
        drops: 0,
        errors: 0,
        uptimeS: t / 1000,
      });
    }
    if (t % 2000 === 0) dev.earbud.send({ type: FrameType.PONG, stream: 0, seq: 0, token: t });
    await step(1000);
  }
  const end = measure();
  const mb = (n: number): number => n / (1024 * 1024);
  if (process.env.BENCH_DEBUG)
    process.stderr.write(
      `soak: rss ${mb(base.rss).toFixed(1)} → ${mb(end.rss).toFixed(1)} MB, heap ${mb(base.heap).toFixed(1)} → ${mb(end.heap).toFixed(1)} MB, ${done} utterances, ${dev.written} frames written\n`,
    );
  sub.unsubscribe();
  const asked = hourMs / 20000;
  if (done < asked - 10) throw new Error(`soak: only ${done} of ${asked} utterances answered`);
  return { rss: round(mb(end.rss - base.rss), 2), heap: round(mb(end.heap - base.heap), 2) };
}

const bench: Bench = {
  name: 'host',
  async run() {
    // The soak runs first: memory the latency runs free afterwards would otherwise read as negative growth.
    const soaked = await soak();
    const lat = await latencies(1000);
    const fps = await throughput();
    return {
      ...lat,
      'host.frames_per_s': fps,
      'host.soak_rss_growth_mb': soaked.rss,
      'host.soak_heap_growth_mb': soaked.heap,
    };
  },
};

export default bench;
