/**
 * Voice benchmarks (no network: a local OpenAI-compatible server on 127.0.0.1 written here, since
 * the bench project cannot import test/ files).
 *
 * voice.resampler_snr_db: a 440 Hz tone at the earbud rate (8 kHz) → 24 kHz → 8 kHz through the
 *   polyphase resampler; SNR of the round trip against the original, edges excluded.
 * voice.first_audio_before_chat_end: 1 when the REST adapter emits the first reply audio while the
 *   chat stream is still open (the server holds the stream after the first sentence until it has
 *   seen that audio reach the subscriber, or 2 s pass), else 0.
 * voice.bridge_share_ms_p99 (and _p50): time from the end of the utterance to the first reply audio,
 *   minus the time the server spent answering, with a server that answers instantly. Today this is
 *   the REST adapter's own share (three loopback HTTP exchanges: transcription, chat up to the first
 *   sentence, speech); the pipeline's bridge plugs in through `BridgeTurn` (see below) so the same
 *   figure covers frames → utterance → adapter → first PLAY frame written to the earbud.
 * voice.realtime_share_ms_p50/p99: the same for the Realtime adapter against an instant WebSocket
 *   server (resample to 24 kHz, base64 appends, commit, response.create → first audio delta decoded).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Bench } from './run';
import { resample } from '../host/src/audio/index';
import {
  RealtimeVoiceService,
  RestVoiceService,
  voiceConfigFromEnv,
  type VoiceRequest,
  type VoiceService,
} from '../host/src/voice/index';

const ITERATIONS = 300;
const WARMUP = 30;

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

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
 * An OpenAI-compatible server that answers at once. `serverMs` accumulates, per turn, the time the
 * server itself spent on the critical path (request fully read → the byte that unblocks the client
 * written), so it can be subtracted from the client's latency.
 */
class InstantServer {
  server: Server | undefined;
  serverMs = 0;
  chatEnded = false;
  /** When set, the chat stream waits for this after its first sentence. */
  hold: Promise<void> | undefined;

  get baseUrl(): string {
    return `http://127.0.0.1:${String((this.server?.address() as AddressInfo).port)}/v1`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const t0 = performance.now();
    const path = req.url ?? '';
    if (path.endsWith('/audio/transcriptions')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"text":"What time is it?"}');
      this.serverMs += performance.now() - t0;
      return;
    }
    if (path.endsWith('/chat/completions')) {
      this.chatEnded = false;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (content: string): string =>
        `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
      res.write(chunk('It is a quarter past ten. '));
      this.serverMs += performance.now() - t0;
      if (this.hold) await this.hold;
      res.write(chunk('Anything else I can help with?'));
      res.end('data: [DONE]\n\n');
      this.chatEnded = true;
      return;
    }
    if (path.endsWith('/audio/speech')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(4800));
      this.serverMs += performance.now() - t0;
      res.end();
      return;
    }
    res.writeHead(404);
    res.end();
  }
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

export async function bridgeShare(turn: BridgeTurn = adapterTurn): Promise<{ p50: number; p99: number }> {
  const srv = await new InstantServer().start();
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
      await new Promise((r) => setImmediate(r));
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
      await new Promise((r) => setTimeout(r, 1));
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
  const srv = await new InstantServer().start();
  let release!: () => void;
  srv.hold = new Promise<void>((r) => {
    release = r;
  });
  const safety = setTimeout(() => release(), 2000);
  const svc = new RestVoiceService(
    voiceConfigFromEnv({ BUDLINK_VOICE: 'rest', OPENAI_BASE_URL: srv.baseUrl }),
  );
  try {
    return await new Promise<number>((resolve, reject) => {
      let verdict: number | undefined;
      svc.respond({ deviceId: 'bench', audio: tone(8000, 300, 8000), sampleRate: 8000 }).subscribe({
        next: (e) => {
          if (e.kind === 'audio' && verdict === undefined) {
            verdict = srv.chatEnded ? 0 : 1;
            release();
          }
        },
        error: reject,
        complete: () => resolve(verdict ?? 0),
      });
    });
  } finally {
    clearTimeout(safety);
    await svc.close();
    await srv.stop();
  }
}

const bench: Bench = {
  name: 'voice',
  async run() {
    const share = await bridgeShare();
    const rt = await realtimeShare();
    return {
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
