// CEL conditions over verified attestations, as the verifyAttestations rule uses them: compiled once
// per policy load, evaluated under a cost budget on the statements the verifier verified.
export {
  ConditionBudget,
  InvalidCondition,
  compileConditions,
  conditionName,
  failedCondition,
  judgeStatement,
} from './attestation-conditions';
export type {
  AttestationOutcome,
  CompiledCondition,
  ConditionImage,
  ConditionOutcome,
  ConditionSource,
} from './attestation-conditions';
export * from './condition-budgets';
