/**
 * Fuzz target for the OpenAI Realtime adapter's server events (host/src/voice/realtime.ts). Its event
 * handler is private to a live WebSocket session, so the cases go through the fake Realtime server
 * (test/support/fake-services/openai-realtime.ts): each turn the client asks for a response, and the
 * server answers response.created, a few mutated server events, and response.done. A case is one
 * mutated event. Every turn must end (done, or a VoiceError) within 20 idle timeouts (3 s), with events
 * of the documented shape; nothing may be thrown anywhere else in the process.
 * Far slower than the other targets (a WebSocket round trip per turn): it runs fewer cases.
 */
import {
  RealtimeVoiceService,
  voiceConfigFromEnv,
  VoiceError,
  type VoiceEvent,
} from '../../host/src/voice/index';
import { FakeRealtimeServer } from '@budlink/test-support/fake-services';
import { collect } from '../host/voice/helpers';
import {
  below,
  jsonText,
  mutateBytes,
  mutateJson,
  pick,
  rng,
  utf8,
  FuzzFailure,
  type AsyncTarget,
  type JsonMutation,
  type Rand,
  type RunStats,
} from './fuzz';

const RID = 'resp_fuzz';
const ITEM = 'item_fuzz';

function pcmBase64(samples: number): string {
  const b = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) b.writeInt16LE(Math.round(8000 * Math.sin(i / 5)), 2 * i);
  return b.toString('base64');
}

/** Server events of both API generations, as a response sends them. */
const EVENTS: Record<string, unknown>[] = [
  {
    type: 'session.updated',
    session: { type: 'realtime', audio: { output: { format: { type: 'audio/pcm', rate: 24000 } } } },
  },
  { type: 'session.updated', session: { audio: { output: { format: { rate: 22050 } } } } },
  {
    type: 'response.output_item.added',
    response_id: RID,
    item: { id: ITEM, role: 'assistant', type: 'message' },
  },
  { type: 'conversation.item.added', item: { id: ITEM, role: 'assistant' } },
  { type: 'conversation.item.created', item: { id: 'item_user', role: 'user' } },
  { type: 'response.output_audio.delta', response_id: RID, item_id: ITEM, delta: pcmBase64(240) },
  { type: 'response.audio.delta', response_id: RID, item_id: ITEM, delta: pcmBase64(7) },
  { type: 'response.output_audio_transcript.delta', response_id: RID, delta: 'Hello ' },
  { type: 'response.audio_transcript.delta', response_id: RID, delta: 'there.' },
  { type: 'response.output_text.delta', delta: 'text' },
  { type: 'response.text.delta', response_id: RID, delta: '' },
  { type: 'response.output_audio_transcript.done', response_id: RID, transcript: 'Hello there.' },
  { type: 'response.audio_transcript.done', transcript: 'Hi.' },
  {
    type: 'conversation.item.input_audio_transcription.completed',
    item_id: 'item_user',
    transcript: ' tell me a joke ',
  },
  { type: 'conversation.item.truncated', item_id: ITEM, content_index: 0, audio_end_ms: 10 },
  { type: 'response.done', response: { id: RID, status: 'completed' } },
  {
    type: 'response.done',
    response: {
      id: RID,
      status: 'failed',
      status_details: { error: { type: 'server_error', code: 'rate_limit_exceeded', message: 'slow down' } },
    },
  },
  {
    type: 'error',
    error: {
      type: 'invalid_request_error',
      code: 'response_cancel_not_active',
      message: 'no response',
      event_id: 'evt_budlink_3',
    },
  },
  { type: 'error', error: { type: 'server_error', message: 'boom' } },
  { type: 'input_audio_buffer.committed', item_id: 'item_user' },
  { type: 'rate_limits.updated', rate_limits: [] },
  { type: 'response.created', response: { id: RID, status: 'in_progress' } },
  { type: 'response.output_text.delta', response_id: RID, delta: 'x'.repeat(16001) },
];

const MUTATION: JsonMutation = {
  keys: [
    'type',
    'response_id',
    'item_id',
    'delta',
    'transcript',
    'response',
    'id',
    'status',
    'item',
    'role',
    'error',
    'code',
    'message',
    'event_id',
    'session',
    'rate',
  ],
  strings: [
    ...new Set(EVENTS.map((e) => e.type as string)),
    RID,
    ITEM,
    'assistant',
    'failed',
    'invalid_api_key',
    'authentication_error',
    'rate_limit_exceeded',
    'AAA=',
    'AA==',
    '****',
    pcmBase64(1),
  ],
  numbers: [0, -1, 1, 0.5, 1e-300, 8000, 24000, 384001, 1e300],
};

/** One mutated server event, as text; most keep their type, so the edits reach the type's handler. */
function mutatedEvent(r: Rand): string {
  const base = pick(r, EVENTS);
  const ev = mutateJson(r, base, MUTATION);
  if (r() < 0.85 && typeof ev === 'object' && ev !== null && !Array.isArray(ev))
    (ev as Record<string, unknown>).type = base.type;
  const text = jsonText(r, ev);
  if (r() < 0.05) {
    const b = mutateBytes(r, utf8(text), {
      corpus: EVENTS.map((e) => utf8(JSON.stringify(e))),
      maxLength: 4096,
    });
    return Buffer.from(b).toString('utf8');
  }
  return text;
}

/** Idle timeout of the adapter under fuzz: how long a turn may wait for an event. */
const IDLE_MS = 150;

/** The events of a turn have the documented shape. */
function checkEvents(events: VoiceEvent[]): void {
  events.forEach((e, i) => {
    if (e.kind === 'audio') {
      if (!(e.pcm instanceof Int16Array)) throw new Error('audio event without Int16Array samples');
      if (!Number.isInteger(e.sampleRate) || e.sampleRate < 1000 || e.sampleRate > 384000)
        throw new Error(`audio event at ${String(e.sampleRate)} Hz`);
    } else if (e.kind === 'transcript') {
      if (typeof e.text !== 'string' || (e.role !== 'user' && e.role !== 'assistant'))
        throw new Error(`transcript event ${JSON.stringify(e)}`);
    } else if (e.kind !== 'done' || i !== events.length - 1)
      throw new Error(`event ${JSON.stringify(e)} at ${String(i)}`);
  });
}

export const realtimeTarget: AsyncTarget = {
  name: 'realtime_events',
  sources: [
    {
      file: 'host/src/voice/realtime.ts',
      functions: ['onEvent', 'fromBase64', 'kindForErrorEvent', 'rawToString'],
    },
  ],
  async run(cases: number, seed: number): Promise<RunStats> {
    const r = rng(seed);
    const fake = await new FakeRealtimeServer({ generation: 'ga' }).start();
    const svc = new RealtimeVoiceService(
      voiceConfigFromEnv({
        BUDLINK_VOICE: 'realtime',
        OPENAI_BASE_URL: fake.baseUrl,
        BUDLINK_TIMEOUT_MS: '2000',
        BUDLINK_IDLE_TIMEOUT_MS: String(IDLE_MS),
      }),
    );
    const stray: unknown[] = [];
    const onStray = (e: unknown): void => void stray.push(e);
    process.on('uncaughtException', onStray);
    process.on('unhandledRejection', onStray);
    const audio = new Int16Array(2400).map((_, i) => Math.round(4000 * Math.sin(i / 7)));
    const stats: RunStats = { target: this.name, cases: 0, accepted: 0, refused: 0, maxCaseMs: 0, ms: 0 };
    const start = performance.now();
    try {
      while (stats.cases < cases) {
        const k = Math.min(cases - stats.cases, 1 + below(r, 6));
        const messages = [JSON.stringify({ type: 'response.created', response: { id: RID } })];
        for (let i = 0; i < k; i++) messages.push(mutatedEvent(r));
        messages.push(JSON.stringify({ type: 'response.done', response: { id: RID, status: 'completed' } }));
        fake.faults.push({ kind: 'raw', messages });
        const t0 = performance.now();
        try {
          const request = { deviceId: 'bud-fuzz', audio, sampleRate: 24000 };
          const { events, error } = await collect(svc.respond(request), 20 * IDLE_MS);
          checkEvents(events);
          stats[error ? 'refused' : 'accepted'] += k;
          if (r() < 0.1)
            await svc.truncate('bud-fuzz', below(r, 2000)).catch((e: unknown) => {
              if (!(e instanceof VoiceError)) throw e;
            });
          if (stray.length > 0) throw stray[0];
        } catch (e) {
          throw new FuzzFailure(this.name, seed, stats.cases, JSON.stringify(messages), e);
        }
        stats.maxCaseMs = Math.max(stats.maxCaseMs, performance.now() - t0);
        stats.cases += k;
      }
    } finally {
      process.off('uncaughtException', onStray);
      process.off('unhandledRejection', onStray);
      await svc.close();
      await fake.stop();
    }
    stats.ms = performance.now() - start;
    return stats;
  },
};
