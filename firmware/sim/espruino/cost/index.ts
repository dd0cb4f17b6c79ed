/**
 * The cost measurements (`@budlink/sim/espruino/cost`): the vm's cost model against the real
 * interpreter (ratios.ts), with the programs both engines run, each engine's side and the fit.
 * Re-exports only.
 */
export { costRatios, ratioRange, type CostRatio } from './ratios';
export {
  JS_SNIPPETS,
  MACHINES,
  NATIVE_SNIPPETS,
  SPEECH,
  snippetProgram,
  type Machine,
  type Snippet,
} from './programs';
export { pretokenisedDeploy, realMachineCost, realScenarioCost, realSnippetCost } from './real';
export { vmMachineCost, vmScenarioCost, vmSnippetCost } from './vm';
export { fitModel, nnls, type Fit } from './fit';
