/**
 * @budlink/host: the bridge between Budlink earbuds and LLM voice services.
 * See host/README.md for the CLI, configuration and environment variables.
 */
export * from './ble/link';
export { InProcessLink } from './ble/in-process-link';
export { NodeBleLink } from './ble/node-ble-link';
export {
  persistentConnection,
  reconnecting,
  backoffDelay,
  LinkLost,
  type BackoffPolicy,
} from './ble/reconnect';
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
  startEspruinoSimEnv,
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
