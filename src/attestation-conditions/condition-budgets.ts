// What evaluating conditions may cost, whatever a signer put in a predicate. Kubernetes bounds CEL
// in ValidatingAdmissionPolicy by a runtime cost, and so do we, counted in the same units: one per
// comprehension iteration and per function call, plus a tenth of the length of each string, bytes,
// list or map a call (or a comprehension's range) is given (cel-go's StringTraversalCostFactor).
// The meter lives in cel-environment.ts; the compiler weaves it into every comprehension.
//
// Kubernetes allows 1,000,000 units per expression and 10,000,000 per request, "roughly 0.1 second"
// and "roughly 1 second" in cel-go:
// https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/apiserver/pkg/apis/cel/config.go
// A unit costs about ten times as long in this interpreter (about 1 µs on the bench machine), and
// a review is answered on the event loop every other review waits on, so the budgets here keep
// Kubernetes' per-request second rather than its units: a whole review's conditions stop at about
// a second of work, and one condition at a quarter of it. A condition over a list costs 3 to 6
// units per element, so SBOMs of tens of thousands of packages are still judged whole.

/** Cost units one condition may spend on one attestation. */
export const MAX_COST_PER_CONDITION = 250_000;
/**
 * Cost units all conditions of one review may spend together. Past it every condition left is an
 * error, which never admits.
 */
export const MAX_COST_PER_REVIEW = 1_000_000;
/** Characters in one expression: a condition is a line or a few, never a program. */
export const MAX_EXPRESSION_LENGTH = 5_000;
/** Conditions per rule. */
export const MAX_CONDITIONS_PER_RULE = 32;
/**
 * How deep a predicate may nest to be given to CEL. Predicates written by SLSA generators, scanners
 * and SBOM tools nest a dozen levels; the JSON parser itself takes any depth, CEL's value
 * conversion and equality recurse.
 */
export const MAX_PREDICATE_DEPTH = 64;
/**
 * Values (objects, lists and scalars) in one statement given to CEL: an 8 MiB attestation (the
 * largest the registry client reads) of small values has about a million.
 */
export const MAX_PREDICATE_VALUES = 1_000_000;
