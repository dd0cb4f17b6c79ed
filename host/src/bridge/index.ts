/**
 * The bridge: N earbuds, one link, one voice service (bridge.ts), and its wake verifiers. Simulated
 * earbuds are simenv.ts, imported on their own (they load the firmware simulator).
 */
export * from './bridge';
export {
  energyWakeVerifier,
  verifierByName,
  type EnergyVerifierOptions,
  type VerifierName,
} from './verifiers';
