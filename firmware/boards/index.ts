/**
 * Board profiles (`@budlink/firmware/boards`): the profiles (profiles.ts) and the link-rate arithmetic
 * on them (rates.ts). Re-exports only.
 */
export {
  BOARDS,
  getBoard,
  type BoardProfile,
  type Chip,
  type MicProfile,
  type MicSource,
  type PacingProfile,
  type SpeakerProfile,
} from './profiles';
export {
  CONNECTION_INTERVAL_MS,
  LINK_EFFICIENCY,
  TX_QUEUE,
  drainPerSecond,
  linkBytesPerSecond,
  pacedFramesPerSecond,
} from './rates';
