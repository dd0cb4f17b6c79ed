/**
 * What the bridge asks of a Doubao realtime dialogue, and how it reads the answers' errors: the audio
 * formats and packet size, the StartSession payload, and the documented error codes as VoiceError
 * kinds. The frame codec is doubao-protocol.ts; the adapter doubao.ts.
 */
import type { VoiceConfig } from './config';
import type { VoiceErrorKind } from './types';

/** The documented input format: 16 kHz mono s16le. */
export const DOUBAO_INPUT_RATE = 16000;
/** The output rate StartSession asks for (pcm_s16le). */
export const DOUBAO_OUTPUT_RATE = 24000;
/** 20 ms of input per TaskRequest (640 bytes), the packet size the documentation recommends. */
export const PACKET_BYTES = (DOUBAO_INPUT_RATE / 50) * 2;

/**
 * The documentation's error codes (section 5): 4xxxxxxx concern the request, 5xxxxxxx the service
 * ("客户端在遇到服务端 5xx 错误时，可以统一触发重连逻辑"); 45000003 is the session released after ten
 * minutes without dialogue. ExceededConcurrentDurationLimit (listed under 55000001) names a limit.
 */
export function kindForDoubaoError(code: number | undefined, message: string): VoiceErrorKind {
  if (/ExceededConcurrent/i.test(message)) return 'rate-limited';
  if (code === 45000003) return 'timeout';
  if (code !== undefined && Math.floor(code / 10_000_000) === 4) return 'bad-request';
  return 'server';
}

/** The StartSession payload: pcm_s16le out, push_to_talk in, the model, prompt and speaker. */
export function startSessionPayload(c: VoiceConfig): Record<string, unknown> {
  const d = c.doubao;
  // O2.0 (1.2.1.x) takes system_role; SC2.0 (2.2.0.0) a character_manifest instead.
  const persona = d.model.startsWith('2.')
    ? { character_manifest: c.systemPrompt }
    : { system_role: c.systemPrompt };
  return {
    tts: {
      speaker: d.speaker,
      audio_config: { channel: 1, format: 'pcm_s16le', sample_rate: DOUBAO_OUTPUT_RATE },
    },
    dialog: {
      ...persona,
      extra: { input_mod: 'push_to_talk', model: d.model, enable_conversation_truncate: true },
    },
  };
}
