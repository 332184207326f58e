import {
  ImageReference,
  InvalidImageReferenceError,
  familiarString,
  formatReference,
  parseDockerReference,
  parseNormalizedReference,
} from '../image-reference';
import {
  type ImagePin,
  PolicyExplanation,
  RuleSkip,
  RuleTrace,
  type AttestationJudgement,
  ReviewOutcome,
  decisionWarnings,
  describeViolation,
  reviewOutcome,
  violationsWith,
} from '../policy';
import type { DigestResolution } from '../registry';
import type { VerificationResult } from '../verification';
import { conditionName } from '../attestation-conditions';
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
    /** For a rule that asked the registry: what it found, and whether the answer came from the cache. */
    readonly verification: {
      readonly verified: boolean;
      readonly reason: string | null;
      readonly digest: string | null;
      readonly cache: 'hit' | 'miss';
      readonly ms: number;
      readonly evidence: readonly {
        where: string;
        verifiedBy: string | null;
        problem: string | null;
        /** Each RFC 3161 timestamp it carried: when and by whom, or why it does not count. */
        timestamps: readonly string[];
      }[];
      /** Distinct trusted keys or identities with a verified signature, of the rule's threshold. */
      readonly signers: { readonly counted: number; readonly required: number } | null;
    } | null;
    /**
     * For a verifyAttestations rule with conditions: each verified attestation of its type, in the
     * order found, each condition's result on it, and which one admitted the image; null otherwise.
     */
    readonly attestations:
      | readonly {
          readonly where: string;
          readonly verifiedBy: string;
          readonly predicateType: string;
          readonly admitted: boolean;
          /** False when an attestation before it already admitted the image. */
          readonly evaluated: boolean;
          /** Why the statement could not be given to CEL at all (too large or deep). */
          readonly refused: string | null;
          readonly conditions: readonly {
            readonly expression: string;
            readonly message: string | null;
            readonly result: boolean | null;
            readonly error: string | null;
            readonly cost: number;
          }[];
        }[]
      | null;
  }[];
  /** What /mutate would do with the image, when the policy pins digests. */
  readonly pinning: {
    readonly pinned: string | null;
    readonly unchanged: string | null;
    readonly unresolved: string | null;
    readonly registry: string | null;
    readonly ms: number | null;
    readonly cache: 'hit' | 'miss' | null;
  } | null;
  /** Patterns that name the image's tag but did not let its digest through, and why. */
  readonly withheld: readonly string[];
  /** The tag's digest, when a rule needed it. */
  readonly resolution: {
    readonly registry: string;
    readonly digest: string | null;
    readonly failure: string | null;
    readonly ms: number;
    readonly cache: 'hit' | 'miss';
  } | null;
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
    case 'already-denied':
      return `rule ${skipped.rule} already denies the image, so its registry is not asked`;
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

function ruleVerdict({ skipped, violation, verification }: RuleTrace): string {
  if (skipped) return `skipped: ${skipReason(skipped)}`;
  const cached = verification
    ? ` (${verification.cache === 'hit' ? 'from the cache' : 'asked the registry'})`
    : '';
  return violation ? `violated: ${violation.problem}${cached}` : `passed${cached}`;
}

const resolutionText = (resolution: DigestResolution): string =>
  `${resolution.digest ?? `not resolved: ${resolution.failure?.reason} (${resolution.failure?.detail})`} ` +
  `(registry ${resolution.registry}, ${resolution.ms} ms, cache ${resolution.cache})`;

function pinningLines(pin: ImagePin | undefined): string[][] {
  if (!pin) return [];
  const { outcome } = pin;
  if ('pinned' in outcome)
    return [
      [
        'pinned as',
        `${outcome.pinned} by /mutate (registry ${outcome.resolution.registry}, ${outcome.resolution.ms} ms, cache ${outcome.resolution.cache}); the validating webhook judges this form, ImagePolicyWebhook (which cannot mutate) the image as written`,
      ],
    ];
  if ('unchanged' in outcome) return [['pinning', `left as written: ${outcome.unchanged}`]];
  return [['pinning', `not pinned: ${outcome.unresolved} (${outcome.detail})`]];
}

/**
 * For each rule that asked the registry: the digest it verified, each signature found (cosign's
 * and the Notary Project's) with each timestamp it carried, and how many distinct trusted signers
 * that makes of the rule's threshold.
 */
function verificationLines(rules: readonly RuleTrace[]): string[] {
  return rules.flatMap(({ rule, verification, attestations }) => {
    if (!verification) return [];
    const rows = alignColumns(
      verification.evidence.map(({ where, verifiedBy, problem }) => [
        `  ${where}`,
        verifiedBy && !problem
          ? `verified by ${verifiedBy}`
          : `${problem}${verifiedBy ? ` (signed by ${verifiedBy})` : ''}`,
      ]),
    );
    const evidence = rows.flatMap((row, index) => [
      row,
      ...(verification.evidence[index].timestamps ?? []).map((timestamp) => `      ${timestamp}`),
    ]);
    const { signers } = verification;
    return [
      '',
      `${rule.name}: digest ${verification.digest || '(unresolved)'}, ${verification.verified ? 'verified' : `not verified: ${verification.reason}`}, ${verification.ms} ms, cache ${verification.cache}`,
      ...(evidence.length === 0 ? ['  (nothing found)'] : evidence),
      ...(signers ? [`  trusted signers: ${signers.counted} of ${signers.required} required`] : []),
      ...(attestations ? ['', `${rule.name}: conditions`, ...attestationLines(attestations)] : []),
    ];
  });
}

const verificationJson = (verification: VerificationResult | undefined) =>
  verification
    ? {
        verified: verification.verified,
        reason: verification.reason ?? null,
        digest: verification.digest || null,
        cache: verification.cache,
        ms: verification.ms,
        evidence: verification.evidence.map(({ where, verifiedBy, problem, timestamps }) => ({
          where,
          verifiedBy: verifiedBy ?? null,
          problem: problem ?? null,
          timestamps: timestamps ?? [],
        })),
        signers: verification.signers ?? null,
      }
    : null;

function attestationJson(judged: AttestationJudgement) {
  const { where, verifiedBy, predicateType, admitted, outcome } = judged;
  return {
    where,
    verifiedBy,
    predicateType,
    admitted,
    evaluated: outcome !== undefined,
    refused: outcome?.refused ?? null,
    conditions: (outcome?.outcomes ?? []).map((o) => ({
      expression: o.condition.expression,
      message: o.condition.message ?? null,
      result: 'result' in o ? o.result : null,
      error: 'error' in o ? o.error : null,
      cost: o.cost,
    })),
  };
}

/** Each attestation a rule's conditions judged: which admitted the image, and each condition's result. */
function attestationLines(attestations: readonly AttestationJudgement[]): string[] {
  return attestations.flatMap(({ where, verifiedBy, admitted, outcome }) => {
    const head = `  ${where} by ${verifiedBy}: `;
    if (!outcome) return [`${head}not evaluated (an attestation before it admitted the image)`];
    if (outcome.refused) return [`${head}not given to CEL: ${outcome.refused}`];
    return [
      `${head}${admitted ? 'admitted the image' : 'does not satisfy the conditions'}`,
      ...alignColumns(
        outcome.outcomes.map((o) => [
          `    ${'error' in o ? 'error' : String(o.result)}`,
          `${conditionName(o.condition)}${'error' in o ? `: ${o.error}` : ''}`,
        ]),
      ),
    ];
  });
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
export function explanationText(image: string, explanation: PolicyExplanation, pin?: ImagePin): string {
  const { policy } = explanation;
  const rules = explanation.images[0].rules;
  const resolution = explanation.images[0].resolution;
  const lines = [
    ...alignColumns([
      ['image', image],
      ...referenceLines(image, parse(image)),
      ...pinningLines(pin),
      ...(resolution ? [['resolves to', resolutionText(resolution)]] : []),
    ]),
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
    ...verificationLines(rules),
    ...(explanation.images[0].withheld ?? []).flatMap((note, i) =>
      i === 0 ? ['', `not let through: ${note}`] : [`not let through: ${note}`],
    ),
    '',
    ...decisionLines(explanation),
  ];
  return `${lines.join('\n')}\n`;
}

export function explanationJson(
  image: string,
  explanation: PolicyExplanation,
  pin?: ImagePin,
): ImageExplanationJson {
  const parsed = parse(image);
  const resolution = explanation.images[0].resolution;
  const pinned = pin?.outcome;
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
    pinning: pinned
      ? {
          pinned: 'pinned' in pinned ? pinned.pinned : null,
          unchanged: 'unchanged' in pinned ? pinned.unchanged : null,
          unresolved: 'unresolved' in pinned ? pinned.unresolved : null,
          registry: 'resolution' in pinned ? pinned.resolution.registry : null,
          ms: 'resolution' in pinned ? pinned.resolution.ms : null,
          cache: 'resolution' in pinned ? pinned.resolution.cache : null,
        }
      : null,
    withheld: explanation.images[0].withheld ?? [],
    resolution: resolution
      ? {
          registry: resolution.registry,
          digest: resolution.digest ?? null,
          failure: resolution.failure ? `${resolution.failure.reason}: ${resolution.failure.detail}` : null,
          ms: resolution.ms,
          cache: resolution.cache,
        }
      : null,
    rules: explanation.images[0].rules.map(({ rule, skipped, violation, verification, attestations }) => ({
      name: rule.name,
      check: rule.rule.key,
      enforcement: rule.enforcement,
      namespaces: rule.namespaces?.map((glob) => glob.source) ?? null,
      applies: skipped === undefined,
      skipped: skipped ? skipReason(skipped) : null,
      verdict: skipped ? 'skipped' : violation ? 'violation' : 'pass',
      problem: violation?.problem ?? null,
      verification: verificationJson(verification),
      attestations: attestations?.map(attestationJson) ?? null,
    })),
    decision: {
      allowed: decision.allowed,
      exemptNamespace: decision.exemptNamespace ?? null,
      violations: violationsWith(decision, 'enforce').map(describeViolation),
      warnings: decisionWarnings(decision),
    },
  };
}
