import { createHash } from 'node:crypto';
import { isAbsolute, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArtifactLocation, Log, ReportingDescriptor, Result } from 'sarif';
import { INVALID_REFERENCE_RULE, RULE_FAILURE_RULE, Enforcement, describeViolation } from '../policy';
import { CheckReport, describeException, exceptionLabel, resourceLabel } from './check-report';
import { ManifestException, ManifestFinding } from './manifest-check';
import { STDIN } from './manifest-source';
import { packageVersion } from '../version';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

const LEVEL = { enforce: 'error', warn: 'warning', audit: 'note' } as const satisfies Record<
  Enforcement,
  Result.level
>;

const ENFORCEMENT_MEANING: Record<Enforcement, string> = {
  enforce: 'the webhook denies the pod',
  warn: 'the webhook admits the pod with a warning',
  audit: 'the webhook admits the pod and only logs',
};

const HELP =
  'Run `kube-image-bouncer explain IMAGE --namespace NAMESPACE --policy FILE` to see how the image is parsed and how each rule of the policy judges it.';

/** The descriptor of what spec.exceptions let through: not a rule of the policy, its exceptions. */
export const EXCEPTED_RULE = 'excepted';

/** Findings of the engine's own, which are not rules of any policy file. */
const ENGINE_RULES: Record<string, ReportingDescriptor> = {
  [EXCEPTED_RULE]: {
    id: EXCEPTED_RULE,
    shortDescription: { text: 'image let through by spec.exceptions' },
    fullDescription: {
      text: "An entry of the policy's spec.exceptions lets the image through every rule until it expires; the result is suppressed, with the ticket and expiry as its justification.",
    },
    help: { text: HELP },
    defaultConfiguration: { level: 'note' },
  },
  [INVALID_REFERENCE_RULE]: {
    id: INVALID_REFERENCE_RULE,
    shortDescription: { text: 'image is not a valid reference' },
    fullDescription: {
      text: 'The image is not a valid image reference (distribution/reference grammar); the webhook always denies it.',
    },
    help: { text: HELP },
    defaultConfiguration: { level: 'error' },
  },
  [RULE_FAILURE_RULE]: {
    id: RULE_FAILURE_RULE,
    shortDescription: { text: 'a policy rule failed on the image' },
    fullDescription: {
      text: 'A policy rule threw while checking the image; the webhook denies rather than allows.',
    },
    help: { text: HELP },
    defaultConfiguration: { level: 'error' },
  },
};

/**
 * Repository-relative paths as GitHub code scanning needs them to place an alert on a file; an
 * absolute path becomes a file: URI, and stdin, which has no file, a bare `stdin`.
 */
function artifactLocation(file: string): ArtifactLocation {
  if (file === STDIN) return { uri: 'stdin' };
  if (isAbsolute(file)) return { uri: pathToFileURL(file).href };
  return { uri: normalize(file).split(sep).map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
}

/** Stable across runs while the finding stands, even when lines move, so alerts are not duplicated. */
function fingerprint({ object, place, verdict }: ManifestFinding | ManifestException, rule: string): string {
  const identity = [object.document.file, object.kind, object.namespace, object.name, place.list];
  identity.push(place.name, verdict.subject.image, rule);
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

const locationsOf = ({ object, line, column }: ManifestFinding | ManifestException): Result['locations'] => [
  {
    physicalLocation: {
      artifactLocation: artifactLocation(object.document.file),
      region: { startLine: line, startColumn: column },
    },
  },
];

/**
 * `-o sarif`: SARIF 2.1.0, as GitHub code scanning reads it. One reporting descriptor per policy
 * rule (plus the engine's own), one result per finding: `error` for an enforced rule, `warning` for
 * a warn-mode one or one break-glass lets through.
 * https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
 */
export function checkSarif(report: CheckReport): Log {
  const { policy, check } = report;
  const rules: ReportingDescriptor[] = [
    ...policy.rules.map((rule) => {
      const scope = rule.namespaces
        ? ` in namespaces ${rule.namespaces.map((g) => g.source).join(', ')}`
        : '';
      return {
        id: rule.name,
        shortDescription: { text: `${rule.rule.key} (${rule.enforcement})` },
        fullDescription: {
          text: `Rule ${rule.name} of image policy ${policy.name} checks ${rule.rule.key}${scope}; on a violation ${ENFORCEMENT_MEANING[rule.enforcement]}.`,
        },
        help: { text: HELP },
        defaultConfiguration: { level: LEVEL[rule.enforcement] },
        properties: {
          tags: ['kubernetes', 'container-image'],
          check: rule.rule.key,
          enforcement: rule.enforcement,
        },
      };
    }),
    ENGINE_RULES[INVALID_REFERENCE_RULE],
  ];
  for (const { violation } of check.findings)
    if (!rules.some((rule) => rule.id === violation.rule) && ENGINE_RULES[violation.rule])
      rules.push(ENGINE_RULES[violation.rule]);
  if (check.excepted.length > 0) rules.push(ENGINE_RULES[EXCEPTED_RULE]);

  const results: Result[] = check.findings.map((finding) => ({
    ruleId: finding.violation.rule,
    ruleIndex: rules.findIndex((rule) => rule.id === finding.violation.rule),
    level: finding.breakGlass ? 'warning' : LEVEL[finding.violation.enforcement],
    message: {
      text:
        `${resourceLabel(finding)} in namespace ${finding.object.namespace}: ${describeViolation(finding)}` +
        (finding.breakGlass ? `; allowed by break-glass ticket ${finding.breakGlass}` : '') +
        (finding.breakGlassRefused ? `; not let through: ${finding.breakGlassRefused}` : ''),
    },
    locations: locationsOf(finding),
    partialFingerprints: { 'kubeImageBouncerFinding/v1': fingerprint(finding, finding.violation.rule) },
  }));
  // Suppressed, as an accepted risk with its justification: code scanning shows it as dismissed.
  for (const exception of check.excepted)
    results.push({
      ruleId: EXCEPTED_RULE,
      ruleIndex: rules.findIndex((rule) => rule.id === EXCEPTED_RULE),
      level: 'note',
      message: {
        text: `${resourceLabel(exception)} in namespace ${exception.object.namespace}: ${describeException(exception)}`,
      },
      locations: locationsOf(exception),
      partialFingerprints: { 'kubeImageBouncerFinding/v1': fingerprint(exception, EXCEPTED_RULE) },
      suppressions: [
        {
          kind: 'external',
          status: 'accepted',
          justification: `spec.exceptions ${exceptionLabel(exception)}`,
        },
      ],
    });

  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'kube-image-bouncer',
            version: packageVersion(),
            semanticVersion: packageVersion(),
            rules,
          },
        },
        results,
        properties: { policy: { name: policy.name, source: policy.source, revision: policy.revision } },
      },
    ],
  };
}
