/**
 * Voice services: createVoiceService(config) picks the adapter named by config.adapter.
 */
import type { VoiceConfig } from './config';
import { LoopbackVoiceService } from './loopback';
import { RestVoiceService, type RestVoiceDeps } from './rest';
import type { VoiceService } from './types';
import { VoiceError } from './types';

export * from './types';
export * from './config';
export { Secret, redact } from './secret';
export { LoopbackVoiceService, type LoopbackOptions } from './loopback';
export { RestVoiceService, type RestVoiceDeps, type ChatMessage } from './rest';
export { SseParser, type SseEvent } from './sse';
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
      throw new VoiceError('config', `voice adapter '${config.adapter}' is not available yet`);
  }
}
