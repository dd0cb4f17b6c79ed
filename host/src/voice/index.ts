/**
 * Voice services: createVoiceService(config) picks the adapter named by config.adapter.
 */
import type { VoiceConfig } from './config';
import { LoopbackVoiceService } from './loopback';
import { RealtimeVoiceService } from './realtime';
import { RestVoiceService, type RestVoiceDeps } from './rest';
import type { VoiceService } from './types';

export * from './types';
export * from './config';
export { Secret, redact } from './secret';
export { LoopbackVoiceService, type LoopbackOptions } from './loopback';
export { RestVoiceService, type RestVoiceDeps, type ChatMessage } from './rest';
export { RealtimeVoiceService, REALTIME_RATE } from './realtime';
export { SseParser, type SseEvent } from './sse';
export { createHttpTransport, type HttpTransport, type HttpTransportOptions } from './transport';
export { SentenceSplitter, speakable } from './sentences';

export interface VoiceServiceDeps {
  rest?: RestVoiceDeps;
}

export function createVoiceService(config: VoiceConfig, deps: VoiceServiceDeps = {}): VoiceService {
  switch (config.adapter) {
    case 'loopback':
      return new LoopbackVoiceService();
    case 'rest':
      return new RestVoiceService(config, deps.rest);
    case 'realtime':
      return new RealtimeVoiceService(config);
  }
}
