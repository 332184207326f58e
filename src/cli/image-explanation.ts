import {
  ImageReference,
  InvalidImageReferenceError,
  familiarString,
  formatReference,
  parseDockerReference,
  parseNormalizedReference,
} from '../image-reference';
import { PolicyExplanation, RuleSkip, RuleTrace } from '../policy/image-policy.service';
import {
  ReviewOutcome,
  decisionWarnings,
  describeViolation,
  reviewOutcome,
  violationsWith,
} from '../policy/policy-decision';
import { alignColumns } from './aligned-columns';

/** `explain -o json`: every key is always present (null when it does not apply), so scripts can rely on it. */
export interface ImageExplanationJson {
  readonly image: string;
  readonly reference:
    | {
        readonly valid: true;
        readonly domain: string;
        readonly path: string;
        readonly tag: string | null;
        readonly digest: string | null;
        readonly normalized: string;
        readonly familiar: string;
        readonly pulledAs: string;
      }
    | { readonly valid: false; readonly error: string };
  readonly namespace: string | null;
  readonly policy: { readonly name: string; readonly source: string; readonly revision: string };
  readonly rules: readonly {
    readonly name: string;
    readonly check: string;
    readonly enforcement: string;
    readonly namespaces: readonly string[] | null;
    readonly applies: boolean;
    readonly skipped: string | null;
    readonly verdict: 'pass' | 'violation' | 'skipped';
    readonly problem: string | null;
  }[];
  readonly decision: {
    readonly allowed: boolean;
    readonly exemptNamespace: string | null;
    readonly violations: readonly string[];
    readonly warnings: readonly string[];
  };
}

type ParsedImage = { reference: ImageReference } | { error: InvalidImageReferenceError };

/** The same parser the engine uses; explain shows its reading even where the engine skips parsing. */
function parse(image: string): ParsedImage {
  try {
    return { reference: parseNormalizedReference(image) };
  } catch (error) {
    if (error instanceof InvalidImageReferenceError) return { error };
    throw error;
  }
}

function skipReason(skipped: RuleSkip): string {
  switch (skipped.because) {
    case 'exempt-namespace':
      return `namespace exempt by spec.exemptNamespaces ${skipped.pattern}`;
    case 'exempt-image':
      return `image exempt by spec.exemptImages ${skipped.pattern}`;
    case 'rule-exempt-image':
      return `image exempt by the rule's exemptImages ${skipped.pattern}`;
    case 'out-of-scope':
      return `applies only in namespaces ${skipped.namespaces.join(', ')}`;
    case 'invalid-reference':
      return 'image is not a valid reference';
    case 'exception':
      return `image excepted by spec.exceptions ticket ${skipped.ticket} until ${skipped.expires.toISOString()}`;
    case 'needs-registry':
      return 'needs the registry (run online)';
  }
}

function pulledAs(image: string, reference: ImageReference): string {
  const pulled = formatReference(parseDockerReference(image));
  if (reference.tag === undefined && reference.digest === undefined)
    return `${pulled} (no tag or digest: the runtime pulls latest)`;
  if (reference.tag !== undefined && reference.digest !== undefined)
    return `${pulled} (the digest pins it; the tag is not used)`;
  return pulled;
}

function referenceLines(image: string, parsed: ParsedImage): string[][] {
  if ('error' in parsed) return [['reference', `invalid: ${parsed.error.message}`]];
  const { reference } = parsed;
  // The classic misreading: `localhost:5000/app` has no tag; `:5000` is the registry's port.
  const port = /:\d+$/.exec(reference.domain)?.[0];
  const untagged =
    port && image.startsWith(reference.domain) ? `(none; "${port}" is the registry's port)` : '(none)';
  return [
    ['domain', reference.domain],
    ['path', reference.path],
    ['tag', reference.tag ?? untagged],
    ['digest', reference.digest ?? '(none)'],
    ['normalized', formatReference(reference)],
    ['familiar', familiarString(reference)],
    ['pulled as', pulledAs(image, reference)],
  ];
}

function ruleVerdict({ skipped, violation }: RuleTrace): string {
  if (skipped) return `skipped: ${skipReason(skipped)}`;
  return violation ? `violated: ${violation.problem}` : 'passed';
}

const OUTCOME_TEXT: Record<ReviewOutcome, string> = {
  deny: 'deny',
  warn: 'allow, with a warning',
  allow: 'allow',
};

function decisionLines(explanation: PolicyExplanation): string[] {
  const { decision } = explanation;
  if (decision.exemptNamespace)
    return [
      `decision   allow: namespace ${explanation.namespace} is exempt (spec.exemptNamespaces ${decision.exemptNamespace}), no rule is checked`,
    ];
  const denials = violationsWith(decision, 'enforce').map(describeViolation);
  const warnings = decisionWarnings(decision);
  const outcome = OUTCOME_TEXT[reviewOutcome(decision)];
  return [
    `decision   ${outcome}`,
    ...denials.map((text) => `  denied:  ${text}`),
    ...warnings.map((text) => `  warning: ${text}`),
  ];
}

/** `kube-image-bouncer explain IMAGE`: the reference as parsed, each rule's part, and the decision. */
export function explanationText(image: string, explanation: PolicyExplanation): string {
  const { policy } = explanation;
  const rules = explanation.images[0].rules;
  const lines = [
    ...alignColumns([['image', image], ...referenceLines(image, parse(image))]),
    '',
    ...alignColumns([
      ['policy', `${policy.name} (${policy.source}, revision ${policy.revision})`],
      ['namespace', explanation.namespace ?? '(none: every rule applies)'],
    ]),
    '',
    ...alignColumns([
      ['RULE', 'CHECK', 'ENFORCEMENT', 'VERDICT'],
      ...rules.map((traced) => [
        traced.rule.name,
        traced.rule.rule.key,
        traced.rule.enforcement,
        ruleVerdict(traced),
      ]),
    ]),
    ...(rules.length === 0 ? ['(the policy has no rules)'] : []),
    '',
    ...decisionLines(explanation),
  ];
  return `${lines.join('\n')}\n`;
}

export function explanationJson(image: string, explanation: PolicyExplanation): ImageExplanationJson {
  const parsed = parse(image);
  const { policy, decision } = explanation;
  return {
    image,
    reference:
      'error' in parsed
        ? { valid: false, error: parsed.error.message }
        : {
            valid: true,
            domain: parsed.reference.domain,
            path: parsed.reference.path,
            tag: parsed.reference.tag ?? null,
            digest: parsed.reference.digest ?? null,
            normalized: formatReference(parsed.reference),
            familiar: familiarString(parsed.reference),
            pulledAs: formatReference(parseDockerReference(image)),
          },
    namespace: explanation.namespace ?? null,
    policy: { name: policy.name, source: policy.source, revision: policy.revision },
    rules: explanation.images[0].rules.map(({ rule, skipped, violation }) => ({
      name: rule.name,
      check: rule.rule.key,
      enforcement: rule.enforcement,
      namespaces: rule.namespaces?.map((glob) => glob.source) ?? null,
      applies: skipped === undefined,
      skipped: skipped ? skipReason(skipped) : null,
      verdict: skipped ? 'skipped' : violation ? 'violation' : 'pass',
      problem: violation?.problem ?? null,
    })),
    decision: {
      allowed: decision.allowed,
      exemptNamespace: decision.exemptNamespace ?? null,
      violations: violationsWith(decision, 'enforce').map(describeViolation),
      warnings: decisionWarnings(decision),
    },
  };
}
