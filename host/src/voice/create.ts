/** createVoiceService(config): the adapter named by config.adapter. */
import type { VoiceConfig } from './config';
import { DoubaoVoiceService } from './doubao';
import { LocalVoiceService } from './local';
import { LoopbackVoiceService } from './loopback';
import { RealtimeVoiceService } from './realtime';
import { RestVoiceService, type RestVoiceDeps } from './rest';
import type { VoiceService } from './types';

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
    case 'doubao':
      return new DoubaoVoiceService(config);
    case 'local':
      return new LocalVoiceService();
  }
}
