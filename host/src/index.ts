/**
 * @budlink/host: the bridge between Budlink earbuds and LLM voice services.
 * See host/README.md for the CLI, configuration and environment variables.
 */
export {
  LinkError,
  InProcessLink,
  NodeBleLink,
  persistentConnection,
  reconnecting,
  backoffDelay,
  LinkLost,
  type Link,
  type Connection,
  type DiscoveredDevice,
  type ScanOptions,
  type DisconnectReason,
  type LinkErrorKind,
  type BackoffPolicy,
} from '@budlink/link';
export * from './pipeline/index';
export {
  Bridge,
  stageGap,
  type BridgeEvent,
  type BridgeOptions,
  type BridgeSessionOptions,
  type DeviceStatus,
} from './bridge/index';
export {
  startSimEnv,
  dbusAvailable,
  type SimEnv,
  type SimEnvOptions,
  type SimTransport,
} from './bridge/simenv';
export {
  loadConfig,
  ConfigError,
  DEFAULT_CONFIG,
  CONFIG_FILE_NAME,
  ENV_KEYS,
  type BudlinkConfig,
  type LoadedConfig,
  type LoadOptions,
  type SessionConfig,
  type LinkKind,
} from './config/index';
export {
  createVoiceService,
  type VoiceService,
  type VoiceEvent,
  type VoiceRequest,
  VoiceError,
  type VoiceConfig,
} from './voice/index';
export { main as cliMain } from './cli/main';
export { LINK_DEFAULTS, RECONNECT_DEFAULTS, SESSION_DEFAULTS, SIM_DEFAULTS } from './defaults';
