/**
 * Voice benchmarks (no network: the tests' fake OpenAI-compatible server on 127.0.0.1).
 *
 * voice.resampler_snr_db: a 440 Hz tone at the earbud rate (8 kHz) → 24 kHz → 8 kHz through the
 *   polyphase resampler; SNR of the round trip against the original, edges excluded.
 * voice.first_audio_before_chat_end: 1 when the REST adapter emits the first reply audio while the
 *   chat stream is still open (the server holds the stream after the first sentence until it has
 *   seen that audio reach the subscriber, or 2 s pass), else 0.
 * voice.bridge_share_ms_p99 (and _p50): the bridge's own time from the end of the utterance (the END
 *   frame arriving at the bridge) to the first reply audio frame (PLAY) written to the earbud, minus
 *   the time the server spent answering, with a server that answers instantly. Measured through the
 *   real Bridge (host/src/bridge) over the real InProcessLink to a scripted earbud (HELLO, WAKE +
 *   AUDIO + END as the firmware sends them, CREDIT for every PLAY), with the REST adapter against the
 *   instant server: reassembly, GATE, three loopback HTTP exchanges (transcription, chat up to the
 *   first sentence, speech), resampling, packetizing, the link write.
 *   Goal (issue): p99 ≤ 10 ms.
 * voice.bridge_share_ms_p50/p99_loopback: the same with the loopback voice service (no HTTP): the
 *   bridge's own share without the adapter.
 * voice.bridge_share_ms_p50/p99_without_adapter: the REST bridge share per turn minus the adapter's
 *   part (voice request → first reply audio event): reassembly, GATE, resampling, packetizing, writes.
 * voice.adapter_share_ms_p50/p99: the REST adapter alone (utterance handed to respond() → first
 *   audio event), for comparison: the part of the bridge share that is fetch + HTTP.
 * voice.realtime_share_ms_p50/p99: the same for the Realtime adapter against an instant WebSocket
 *   server (resample to 24 kHz, base64 appends, commit, response.create → first audio delta decoded).
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { FrameType } from '@budlink/protocol';
import type { Bench } from './run';
import { percentile } from './support/stats';
import { FakeOpenAiRest } from '@budlink/test-support/fake-services';
import { ScriptedPeripheral } from '@budlink/test-support/scripted-earbud';
import { settle, sleep } from '@budlink/test-support/wait';
import { resample, s16ToU8 } from '../host/src/audio/index';
import { InProcessLink } from '@budlink/link';
import { Bridge, type BridgeEvent } from '../host/src/bridge/index';
import type { SessionHooks } from '../host/src/pipeline/types';
import {
  LoopbackVoiceService,
  RealtimeVoiceService,
  RestVoiceService,
  voiceConfigFromEnv,
  type VoiceRequest,
  type VoiceService,
} from '../host/src/voice/index';

const ITERATIONS = 300;
const WARMUP = 30;

function tone(n: number, hz: number, rate: number, amp = 10000): Int16Array {
  const x = new Int16Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate));
  return x;
}

export function resamplerSnrDb(): number {
  const x = tone(8000, 440, 8000);
  const back = resample(resample(x, 8000, 24000), 24000, 8000);
  let s = 0;
  let e = 0;
  for (let i = 400; i < x.length - 400; i++) {
    s += (x[i] as number) ** 2;
    e += ((x[i] as number) - (back[i] as number)) ** 2;
  }
  return 10 * Math.log10(s / Math.max(e, 1e-9));
}

/**
 * The fake OpenAI service (test/support) answering as fast as it can: a two-sentence reply in two
 * deltas, 0.1 s of speech per sentence. Its `serverMs` is the time it spent on each answer's critical
 * path (request read → the byte that unblocks the client), subtracted from the client's latency.
 */
function instantServer(): Promise<FakeOpenAiRest> {
  return new FakeOpenAiRest({
    transcript: 'What time is it?',
    reply: () => 'It is a quarter past ten. Anything else I can help with?',
    deltaChars: 26, // one delta per sentence
    msPerChar: 4,
  }).start();
}

/**
 * One turn measured at the bridge: resolve with the milliseconds from the end of the utterance to
 * the first reply audio written towards the earbud. The default measures the adapter alone (first
 * `audio` event). The pipeline engineer's bridge-level hook drives a whole bridge (in-process link,
 * simulated earbud) on top of `service` and resolves when the first PLAY frame is written.
 */
export type BridgeTurn = (service: VoiceService, utterance: VoiceRequest) => Promise<number>;

export const adapterTurn: BridgeTurn = (service, utterance) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const sub = service.respond(utterance).subscribe({
      next: (e) => {
        if (e.kind === 'audio') {
          resolve(performance.now() - t0);
          sub.unsubscribe();
        }
      },
      error: reject,
      complete: () => reject(new Error('reply ended without audio')),
    });
  });

const BUD_PAYLOAD = 244;
const BUD_ADDRESS = 'BE:NC:H0:00:00:02';

/**
 * The scripted earbud (test/support) as a SimPeripheral behind the real InProcessLink: HELLO on
 * connect, an utterance as WAKE + AUDIO + END (the firmware's 8-bit PCM), CREDIT for every PLAY at
 * once (a speaker buffer that is never full). Records when the first PLAY of each reply is written.
 */
class BenchEarbud extends ScriptedPeripheral {
  /** performance.now() of the first PLAY written for the current reply (undefined: none yet). */
  firstPlayAt: number | undefined;

  constructor() {
    super(BUD_ADDRESS, { maxPayload: BUD_PAYLOAD, nonce: 7, instantSpeaker: true }, (f) => {
      if (f.type === FrameType.PLAY) this.firstPlayAt ??= performance.now();
    });
  }

  /** Stream an utterance (16-bit PCM at 8 kHz) the way the firmware does: 8-bit, WAKE … END. */
  speak(audio: Int16Array): void {
    this.firstPlayAt = undefined;
    const u8 = s16ToU8(audio);
    const per = BUD_PAYLOAD - 4;
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < u8.length; i += per) chunks.push(u8.subarray(i, i + per));
    this.earbud.utterance(chunks);
  }
}

/** Stage times of one turn (ms after the END frame arrived at the bridge). */
export interface TurnStages {
  complete: number;
  serviceRequest: number;
  firstReplyAudio: number;
  firstPlayHook: number;
  firstPlayWritten: number;
}

/**
 * The whole Bridge over the in-process link and a scripted earbud, on one voice service. `turn`
 * speaks the utterance and resolves with END-at-the-bridge → first PLAY written to the earbud, after
 * the reply has finished (so turns do not overlap). `stages` keeps each turn's breakdown.
 */
export class BridgeRig {
  readonly stages: TurnStages[] = [];
  private bridge: Bridge | undefined;
  private link: InProcessLink | undefined;
  private readonly earbud = new BenchEarbud();
  private service: VoiceService | undefined;
  private t: Partial<Record<keyof TurnStages | 'end', number>> = {};

  private async start(service: VoiceService): Promise<Bridge> {
    this.link = new InProcessLink();
    this.link.addPeripheral(this.earbud, { mtu: BUD_PAYLOAD + 3 });
    const hooks: SessionHooks = {
      uplinkFrame: (f, at) => {
        if (f.type === FrameType.END) this.t = { end: at };
      },
      utteranceComplete: (_u, at) => {
        this.t.complete = at;
      },
      serviceRequest: (_r, at) => {
        this.t.serviceRequest = at;
      },
      firstReplyAudio: (at) => {
        this.t.firstReplyAudio = at;
      },
      playFrame: (_f, first, at) => {
        if (first) this.t.firstPlayHook = at;
      },
    };
    const bridge = new Bridge({
      link: this.link,
      voice: service,
      hooks,
      session: { keepAliveMs: 0, keepAliveTimeoutMs: 0, maxUtterancesPerMinute: 0 },
      logger: { log: () => undefined },
    });
    this.bridge = bridge;
    this.service = service;
    const hello = this.next(bridge, (e) => e.kind === 'hello');
    bridge.addDevice(BUD_ADDRESS);
    await hello;
    return bridge;
  }

  private next(bridge: Bridge, pred: (e: BridgeEvent) => boolean): Promise<BridgeEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error('bench bridge: no answer within 10 s'));
      }, 10000);
      const sub = bridge.events$.subscribe((e) => {
        if (!pred(e)) return;
        clearTimeout(timer);
        sub.unsubscribe();
        resolve(e);
      });
    });
  }

  readonly turn: BridgeTurn = async (service, utterance) => {
    if (this.service !== undefined && this.service !== service)
      throw new Error('BridgeRig: one rig per voice service');
    const bridge = this.bridge ?? (await this.start(service));
    const done = this.next(bridge, (e) => e.kind === 'utterance');
    this.earbud.speak(utterance.audio);
    const ev = await done;
    if (ev.kind === 'utterance' && ev.report.outcome !== 'complete')
      throw new Error(`bench bridge: utterance ${ev.report.outcome}: ${ev.report.error ?? ''}`);
    const end = this.t.end;
    const written = this.earbud.firstPlayAt;
    if (end === undefined || written === undefined) throw new Error('bench bridge: no END or no PLAY seen');
    const rel = (v: number | undefined): number => (v === undefined ? NaN : v - end);
    this.stages.push({
      complete: rel(this.t.complete),
      serviceRequest: rel(this.t.serviceRequest),
      firstReplyAudio: rel(this.t.firstReplyAudio),
      firstPlayHook: rel(this.t.firstPlayHook),
      firstPlayWritten: written - end,
    });
    return written - end;
  };

  async close(): Promise<void> {
    await this.bridge?.stop();
    await this.link?.close();
  }
}

/** Per turn, sorted: END → first PLAY written minus the adapter's part (request → first reply audio). */
export function bridgeOwn(stages: TurnStages[]): number[] {
  return stages.map((s) => s.firstPlayWritten - (s.firstReplyAudio - s.serviceRequest)).sort((a, b) => a - b);
}

/** p50 of each stage over the measured turns (for the profile printed with BENCH_DEBUG). */
function stageSummary(stages: TurnStages[]): string {
  const keys: (keyof TurnStages)[] = [
    'complete',
    'serviceRequest',
    'firstReplyAudio',
    'firstPlayHook',
    'firstPlayWritten',
  ];
  const own = bridgeOwn(stages);
  return [
    ...keys.map((k) => {
      const v = stages.map((s) => s[k]).sort((a, b) => a - b);
      return `${k} p50 ${percentile(v, 50).toFixed(2)} p99 ${percentile(v, 99).toFixed(2)}`;
    }),
    `without the adapter p50 ${percentile(own, 50).toFixed(2)} p99 ${percentile(own, 99).toFixed(2)}`,
  ].join(', ');
}

/** The bridge share with the loopback service (no server: nothing to subtract). */
export async function loopbackBridgeShare(turn?: BridgeTurn): Promise<{ p50: number; p99: number }> {
  const rig = turn === undefined ? new BridgeRig() : undefined;
  const run = turn ?? (rig as BridgeRig).turn;
  const svc = new LoopbackVoiceService();
  const utterance: VoiceRequest = { deviceId: 'bench', audio: tone(8000, 300, 8000), sampleRate: 8000 };
  const shares: number[] = [];
  try {
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      const ms = await run(svc, utterance);
      if (i >= WARMUP) shares.push(ms);
    }
  } finally {
    await rig?.close();
    await svc.close();
  }
  if (rig && process.env.BENCH_DEBUG)
    process.stderr.write(`loopback stages: ${stageSummary(rig.stages.slice(WARMUP))}\n`);
  shares.sort((a, b) => a - b);
  return { p50: percentile(shares, 50), p99: percentile(shares, 99) };
}

/**
 * END at the bridge → first PLAY written, minus the server's own time, REST adapter against the
 * instant server. Default `turn`: the whole Bridge (BridgeRig); pass `adapterTurn` for the adapter alone.
 */
export async function bridgeShare(turn?: BridgeTurn): Promise<{ p50: number; p99: number }> {
  const rig = turn === undefined ? new BridgeRig() : undefined;
  const result = await restShare(turn ?? (rig as BridgeRig).turn).finally(() => rig?.close());
  if (rig && process.env.BENCH_DEBUG)
    process.stderr.write(`rest stages: ${stageSummary(rig.stages.slice(WARMUP))}\n`);
  return result;
}

async function restShare(turn: BridgeTurn): Promise<{ p50: number; p99: number }> {
  const srv = await instantServer();
  const svc = new RestVoiceService(
    voiceConfigFromEnv({ BUDLINK_VOICE: 'rest', OPENAI_BASE_URL: srv.baseUrl }),
  );
  const utterance: VoiceRequest = { deviceId: 'bench', audio: tone(8000, 300, 8000), sampleRate: 8000 };
  const shares: number[] = [];
  try {
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      srv.serverMs = 0;
      const ms = await turn(svc, utterance);
      if (i >= WARMUP) shares.push(Math.max(0, ms - srv.serverMs));
      // Let the aborted reply's sockets settle before the next turn.
      await settle();
    }
  } finally {
    await svc.close();
    await srv.stop();
  }
  shares.sort((a, b) => a - b);
  return { p50: percentile(shares, 50), p99: percentile(shares, 99) };
}

/** Realtime adapter share: an in-process WebSocket server that answers response.create at once. */
export async function realtimeShare(turn: BridgeTurn = adapterTurn): Promise<{ p50: number; p99: number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  let serverMs = 0;
  let n = 0;
  const delta = Buffer.alloc(4800).toString('base64');
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const t0 = performance.now();
      const ev = JSON.parse(String(data)) as { type: string };
      if (ev.type !== 'response.create') return;
      const id = `resp_${String(++n)}`;
      ws.send(JSON.stringify({ type: 'response.created', response: { id } }));
      ws.send(
        JSON.stringify({
          type: 'response.output_audio.delta',
          response_id: id,
          item_id: `item_${id}`,
          delta,
        }),
      );
      serverMs += performance.now() - t0;
      ws.send(JSON.stringify({ type: 'response.done', response: { id, status: 'completed' } }));
    });
  });
  const port = (wss.address() as AddressInfo).port;
  const svc = new RealtimeVoiceService(
    voiceConfigFromEnv({ BUDLINK_VOICE: 'realtime', OPENAI_BASE_URL: `http://127.0.0.1:${String(port)}/v1` }),
  );
  const utterance: VoiceRequest = { deviceId: 'bench', audio: tone(8000, 300, 8000), sampleRate: 8000 };
  const shares: number[] = [];
  try {
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      serverMs = 0;
      const ms = await turn(svc, utterance);
      if (i >= WARMUP) shares.push(Math.max(0, ms - serverMs));
      await sleep(1);
    }
  } finally {
    await svc.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
  shares.sort((a, b) => a - b);
  return { p50: percentile(shares, 50), p99: percentile(shares, 99) };
}

export async function firstAudioBeforeChatEnd(): Promise<number> {
  const srv = await instantServer();
  const release = srv.holdChat(2000);
  const svc = new RestVoiceService(
    voiceConfigFromEnv({ BUDLINK_VOICE: 'rest', OPENAI_BASE_URL: srv.baseUrl }),
  );
  try {
    return await new Promise<number>((resolve, reject) => {
      let verdict: number | undefined;
      svc.respond({ deviceId: 'bench', audio: tone(8000, 300, 8000), sampleRate: 8000 }).subscribe({
        next: (e) => {
          if (e.kind === 'audio' && verdict === undefined) {
            verdict = srv.log.includes('chat:end') ? 0 : 1;
            release();
          }
        },
        error: reject,
        complete: () => resolve(verdict ?? 0),
      });
    });
  } finally {
    await svc.close();
    await srv.stop();
  }
}

const bench: Bench = {
  name: 'voice',
  async run() {
    const rig = new BridgeRig();
    const share = await bridgeShare(rig.turn).finally(() => rig.close());
    const own = bridgeOwn(rig.stages.slice(WARMUP));
    const loop = await loopbackBridgeShare();
    const adapter = await bridgeShare(adapterTurn);
    const rt = await realtimeShare();
    return {
      'voice.bridge_share_ms_p50_loopback': Math.round(loop.p50 * 100) / 100,
      'voice.bridge_share_ms_p99_loopback': Math.round(loop.p99 * 100) / 100,
      'voice.bridge_share_ms_p50_without_adapter': Math.round(percentile(own, 50) * 100) / 100,
      'voice.bridge_share_ms_p99_without_adapter': Math.round(percentile(own, 99) * 100) / 100,
      'voice.adapter_share_ms_p50': Math.round(adapter.p50 * 100) / 100,
      'voice.adapter_share_ms_p99': Math.round(adapter.p99 * 100) / 100,
      'voice.realtime_share_ms_p50': Math.round(rt.p50 * 100) / 100,
      'voice.realtime_share_ms_p99': Math.round(rt.p99 * 100) / 100,
      'voice.resampler_snr_db': Math.round(resamplerSnrDb() * 10) / 10,
      'voice.first_audio_before_chat_end': await firstAudioBeforeChatEnd(),
      'voice.bridge_share_ms_p50': Math.round(share.p50 * 100) / 100,
      'voice.bridge_share_ms_p99': Math.round(share.p99 * 100) / 100,
    };
  },
};

export default bench;
