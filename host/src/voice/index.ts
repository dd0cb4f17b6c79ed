/**
 * Voice services: createVoiceService(config) picks the adapter named by config.adapter.
 */
import type { VoiceConfig } from './config';
import { LoopbackVoiceService } from './loopback';
import type { VoiceService } from './types';
import { VoiceError } from './types';

export * from './types';
export * from './config';
export { Secret, redact } from './secret';
export { LoopbackVoiceService, type LoopbackOptions } from './loopback';

export function createVoiceService(config: VoiceConfig): VoiceService {
  switch (config.adapter) {
    case 'loopback':
      return new LoopbackVoiceService();
    case 'rest':
    case 'realtime':
      throw new VoiceError('config', `voice adapter '${config.adapter}' is not available yet`);
  }
}
