import { describeTicket } from './break-glass';
import { Enforcement } from './policy-file/image-policy.schema';
import { ImageUnderReview, ImageVerdict, PolicyDecision, RuleViolation } from './image-policy.types';

// How a decision is classified, said once: metrics, the audit line, `check`, `explain` and the
// review responses all read these rather than walking the violations themselves.

export interface LocatedViolation {
  readonly verdict: ImageVerdict;
  readonly violation: RuleViolation;
}

// Every review calls these several times (response, audit line, metrics), most often on verdicts
// with no violation at all: plain loops, allocating only what they return.

export function violationsWith(decision: PolicyDecision, enforcement: Enforcement): LocatedViolation[] {
  const found: LocatedViolation[] = [];
  for (const verdict of decision.verdicts)
    for (const violation of verdict.violations)
      if (violation.enforcement === enforcement) found.push({ verdict, violation });
  return found;
}

/** Each rule behind a violation of the given enforcement, once, in the order the review met them. */
export function rulesWith(decision: PolicyDecision, enforcement: Enforcement): string[] {
  const rules: string[] = [];
  for (const verdict of decision.verdicts)
    for (const { enforcement: given, rule } of verdict.violations)
      if (given === enforcement && !rules.includes(rule)) rules.push(rule);
  return rules;
}

/** What a review comes to: denied, allowed with something kubectl shows as a warning, or allowed. */
export type ReviewOutcome = 'deny' | 'warn' | 'allow';

/** A break-glass override counts as a warning: the user is told what it let through. */
export function reviewOutcome(decision: PolicyDecision): ReviewOutcome {
  if (!decision.allowed) return 'deny';
  return decision.breakGlass || hasViolationWith(decision, 'warn') ? 'warn' : 'allow';
}

function hasViolationWith(decision: PolicyDecision, enforcement: Enforcement): boolean {
  return decision.verdicts.some((verdict) => verdict.violations.some((v) => v.enforcement === enforcement));
}

/** An image as it appears in a message: as written, or quoted when it is not even a valid reference. */
export const displayImage = (verdict: ImageVerdict): string =>
  verdict.reference ? verdict.subject.image : JSON.stringify(verdict.subject.image);

/** Where the pod spec holds an image, as messages open: `container "web" (initContainers): `. */
export function imagePlace(subject: ImageUnderReview): string {
  if (subject.container) return `container "${subject.container.name}" (${subject.container.list}): `;
  if (subject.volume) return `image volume "${subject.volume.name}": `;
  return '';
}

/** `container "web" (initContainers): image nginx uses the latest tag (rule no-latest)`. */
export function describeViolation({ verdict, violation }: LocatedViolation): string {
  return `${imagePlace(verdict.subject)}image ${displayImage(verdict)} ${violation.problem} (rule ${violation.rule})`;
}

/** What kubectl shows on an allowed request: warn-mode violations, and any break-glass use. */
export function decisionWarnings(decision: PolicyDecision): string[] {
  if (!decision.breakGlass && !hasViolationWith(decision, 'warn')) return [];
  const warnings = violationsWith(decision, 'warn').map(describeViolation);
  if (decision.breakGlass) {
    const overridden = violationsWith(decision, 'enforce').map(describeViolation).join('; ');
    warnings.unshift(
      `allowed by break-glass ticket ${describeTicket(decision.breakGlass)}, despite: ${overridden}`,
    );
  }
  return warnings;
}

/** The spec.exceptions each image went through on: `{"nginx": "CHG-7 until 2026-12-31T00:00:00.000Z"}`. */
export function exceptionsUsed(decision: PolicyDecision): Record<string, string> {
  if (!decision.verdicts.some((v) => v.exception)) return {};
  return Object.fromEntries(
    decision.verdicts.flatMap((v) => (v.exception ? [[v.subject.image, describeTicket(v.exception)]] : [])),
  );
}

/** One image's part in a decision: `exempt`, `deny:no-latest`, `warn:trusted-sources` or `allow`. */
export function imageOutcome(verdict: ImageVerdict): string {
  if (verdict.exemptBy) return 'exempt';
  if (verdict.violations.length === 0) return 'allow';
  const rulesOf = (enforcement: Enforcement): string[] =>
    verdict.violations.filter((v) => v.enforcement === enforcement).map((v) => v.rule);
  const denied = rulesOf('enforce');
  if (denied.length > 0) return `deny:${denied.join(',')}`;
  const warned = rulesOf('warn');
  return warned.length > 0 ? `warn:${warned.join(',')}` : 'allow';
}

/**
 * The decision as audit annotations, identical for both review types. The apiserver prefixes each
 * key (`imagepolicywebhook.image-policy.k8s.io/<key>` for ImageReview, `<webhook name>/<key>` for
 * AdmissionReview), so keys must be valid label-name parts; per-image outcomes share one JSON value.
 */
export function decisionAuditAnnotations(decision: PolicyDecision): Record<string, string> {
  const images = Object.fromEntries(decision.verdicts.map((v) => [v.subject.image, imageOutcome(v)]));
  const annotations: Record<string, string> = {
    decision: decision.allowed ? 'allow' : 'deny',
    images: JSON.stringify(images),
    'policy-revision': decision.policy.revision,
  };
  if (decision.exemptNamespace) annotations['exempt-namespace'] = decision.exemptNamespace;
  const exceptions = exceptionsUsed(decision);
  if (Object.keys(exceptions).length > 0) annotations.exceptions = JSON.stringify(exceptions);
  if (decision.breakGlass) annotations['break-glass'] = describeTicket(decision.breakGlass);
  return annotations;
}
