import type { BridgeOptions } from '../bridge/index';
import { verifierByName } from '../bridge/verifiers';
import type { BudlinkConfig } from '../config/index';

/** The Bridge options a config sets (session timing, wake verifier, reconnect policy). */
export function bridgeOptions(
  config: BudlinkConfig,
): Pick<BridgeOptions, 'session' | 'reconnect' | 'verifier'> {
  const s = config.session;
  return {
    verifier: verifierByName(s.wakeVerifier),
    session: {
      keepAliveMs: s.keepAliveMs,
      keepAliveTimeoutMs: s.keepAliveTimeoutMs,
      helloTimeoutMs: s.helloTimeoutMs,
      nackIntervalMs: s.nackIntervalMs,
      ackEveryFrames: s.ackEveryFrames,
      playInitialWindow: s.playInitialWindow,
      maxUtteranceMs: s.maxUtteranceMs,
      maxUtterancesPerMinute: s.maxUtterancesPerMinute,
      timeouts: {
        utterance: s.utteranceTimeoutMs,
        verifying: s.verifyTimeoutMs,
        thinking: s.thinkingTimeoutMs,
        speaking: s.speakingTimeoutMs,
      },
    },
    reconnect: { ...config.reconnect, connectTimeoutMs: config.connectTimeoutMs },
  };
}
