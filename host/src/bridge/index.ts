/**
 * The bridge: N earbuds, one link, one voice service (bridge.ts), and its wake verifiers. Simulated
 * earbuds behind a link are simenv.ts, imported on their own (their caller starts the earbuds).
 */
export * from './bridge';
export {
  energyWakeVerifier,
  verifierByName,
  type EnergyVerifierOptions,
  type VerifierName,
} from './verifiers';
