/**
 * Voice services: createVoiceService(config) picks the adapter named by config.adapter.
 */
export * from './types';
export * from './config';
export { Secret, redact } from './secret';
export { LoopbackVoiceService, type LoopbackOptions } from './loopback';
export { LocalVoiceService, type LocalVoiceOptions } from './local';
export { RestVoiceService, type RestVoiceDeps, type ChatMessage } from './rest';
export { RealtimeVoiceService, REALTIME_RATE } from './realtime';
export { DoubaoVoiceService } from './doubao';
export {
  DOUBAO_INPUT_RATE,
  DOUBAO_OUTPUT_RATE,
  kindForDoubaoError,
  startSessionPayload,
} from './doubao-session';
export { SseOverflow, SseParser, type SseEvent } from './sse';
export { createHttpTransport, type HttpTransport, type HttpTransportOptions } from './transport';
export { SentenceSplitter, speakable } from './sentences';
export { createVoiceService, type VoiceServiceDeps } from './create';
