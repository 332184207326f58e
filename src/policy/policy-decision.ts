import { Enforcement } from './policy-file/image-policy.schema';
import { ImageVerdict, PolicyDecision, RuleViolation } from './image-policy.types';

export interface LocatedViolation {
  readonly verdict: ImageVerdict;
  readonly violation: RuleViolation;
}

export function violationsWith(decision: PolicyDecision, enforcement: Enforcement): LocatedViolation[] {
  return decision.verdicts.flatMap((verdict) =>
    verdict.violations
      .filter((v) => v.enforcement === enforcement)
      .map((violation) => ({ verdict, violation })),
  );
}

/** An image as it appears in a message: as written, or quoted when it is not even a valid reference. */
export const displayImage = (verdict: ImageVerdict): string =>
  verdict.reference ? verdict.subject.image : JSON.stringify(verdict.subject.image);

/** `container "web" (initContainers): image nginx uses the latest tag (rule no-latest)`. */
export function describeViolation({ verdict, violation }: LocatedViolation): string {
  const container = verdict.subject.container;
  const where = container ? `container "${container.name}" (${container.list}): ` : '';
  return `${where}image ${displayImage(verdict)} ${violation.problem} (rule ${violation.rule})`;
}

/** What kubectl shows on an allowed request: warn-mode violations, and any break-glass use. */
export function decisionWarnings(decision: PolicyDecision): string[] {
  const warnings = violationsWith(decision, 'warn').map(describeViolation);
  if (decision.breakGlass) {
    const overridden = violationsWith(decision, 'enforce').map(describeViolation).join('; ');
    warnings.unshift(
      `allowed by break-glass ticket ${decision.breakGlass.ticket} until ${decision.breakGlass.expires.toISOString()}, despite: ${overridden}`,
    );
  }
  return warnings;
}

function imageOutcome(verdict: ImageVerdict): string {
  if (verdict.exemptBy) return 'exempt';
  const rulesWith = (enforcement: Enforcement): string[] =>
    verdict.violations.filter((v) => v.enforcement === enforcement).map((v) => v.rule);
  const denied = rulesWith('enforce');
  if (denied.length > 0) return `deny:${denied.join(',')}`;
  const warned = rulesWith('warn');
  return warned.length > 0 ? `warn:${warned.join(',')}` : 'allow';
}

/**
 * The decision as audit annotations, identical for both review types. The apiserver prefixes each
 * key (`imagepolicywebhook.image-policy.k8s.io/<key>` for ImageReview, `<webhook name>/<key>` for
 * AdmissionReview), so keys must be valid label-name parts; per-image outcomes share one JSON value.
 */
export function decisionAuditAnnotations(decision: PolicyDecision): Record<string, string> {
  const images = Object.fromEntries(decision.verdicts.map((v) => [v.subject.image, imageOutcome(v)]));
  return {
    decision: decision.allowed ? 'allow' : 'deny',
    images: JSON.stringify(images),
    'policy-revision': decision.policy.revision,
    ...(decision.exemptNamespace ? { 'exempt-namespace': decision.exemptNamespace } : {}),
    ...(decision.breakGlass
      ? { 'break-glass': `${decision.breakGlass.ticket} until ${decision.breakGlass.expires.toISOString()}` }
      : {}),
  };
}
