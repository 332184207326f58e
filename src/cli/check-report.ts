import { CompiledImagePolicy } from '../policy/policy-file/compiled-image-policy';
import { describeViolation, displayImage } from '../policy/policy-decision';
import { alignColumns } from './aligned-columns';
import { ManifestCheck, ManifestFinding, SkippedObject, kindLabel } from './manifest-check';
import { ManifestInput } from './manifest-source';

/** What `check` read and what the engine decided, ready to print in any format. */
export interface CheckReport {
  readonly policy: CompiledImagePolicy;
  readonly input: ManifestInput;
  readonly check: ManifestCheck;
}

const PLACE_LABEL = {
  containers: '',
  initContainers: ' (init)',
  ephemeralContainers: ' (ephemeral)',
  volumes: ' (image volume)',
};

export const documentLabel = (finding: ManifestFinding): string =>
  `${finding.object.document.index}${finding.object.item === undefined ? '' : `.items[${finding.object.item}]`}`;

export const resourceLabel = ({ object }: ManifestFinding): string =>
  object.name ? `${object.kind}/${object.name}` : object.kind;

/** `file:line`, and for `helm template` output the chart template, since stdin has no file to open. */
const location = ({ object, line }: ManifestFinding): string =>
  `${object.document.file}:${line}${object.document.helmSource ? ` (${object.document.helmSource})` : ''}`;

/** The finding's own words, plus the break-glass ticket that lets it through anyway, or why not. */
const message = (finding: ManifestFinding): string =>
  finding.violation.problem +
  (finding.breakGlass ? ` (allowed by break-glass ticket ${finding.breakGlass})` : '') +
  (finding.breakGlassRefused ? ` (not let through: ${finding.breakGlassRefused})` : '');

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

export function summaryLine({ policy, input, check }: CheckReport): string {
  return (
    `checked ${plural(check.podSpecs, 'pod spec')} in ${plural(input.documents.length, 'document')} ` +
    `from ${plural(input.files.length, 'file')} against policy ${policy.name} (revision ${policy.revision}): ` +
    `${check.denied} denied, ${check.warned} allowed with warnings, ${check.allowed} allowed`
  );
}

/** `ConfigMap (2), networking.k8s.io/Ingress (1)`: what was not checked, by kind, in first-seen order. */
export function skippedKinds(skipped: readonly SkippedObject[]): { kind: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const { object } of skipped) counts.set(kindLabel(object), (counts.get(kindLabel(object)) ?? 0) + 1);
  return [...counts].map(([kind, count]) => ({ kind, count }));
}

/** The line naming the objects `check` did not look into, so that "0 denied" is never a silent pass. */
export function skippedLine({ check }: CheckReport): string | undefined {
  if (check.skipped.length === 0) return undefined;
  const kinds = skippedKinds(check.skipped).map(({ kind, count }) => `${kind} (${count})`);
  return `skipped ${plural(check.skipped.length, 'object')} with no pod spec at a place the webhook knows: ${kinds.join(', ')}`;
}

/**
 * What the webhook would have asked a registry and this offline check did not: it never passes
 * silently over a signature rule. Undefined when nothing was skipped.
 */
export function registrySkippedLine({ check }: CheckReport): string | undefined {
  const { rules, pinning } = check.registrySkipped;
  const parts = [
    ...rules.map(({ rule, check: key, images }) => `rule ${rule} (${key}) for ${plural(images, 'image')}`),
    ...(pinning > 0 ? [`digest pinning for ${plural(pinning, 'image')}`] : []),
  ];
  return parts.length === 0
    ? undefined
    : `skipped what needs the registry (run with --online to do it as the webhook does): ${parts.join('; ')}`;
}

/** The default output: one aligned row per finding, as `kubectl get` prints, then the summary. */
export function checkTable(report: CheckReport): string {
  const { findings } = report.check;
  const rows = findings.map((finding) => [
    location(finding),
    documentLabel(finding),
    finding.object.namespace,
    resourceLabel(finding),
    `${finding.place.name}${PLACE_LABEL[finding.place.list]}`,
    displayImage(finding.verdict),
    finding.violation.rule,
    finding.violation.enforcement,
    message(finding),
  ]);
  const table =
    rows.length === 0
      ? []
      : [
          ...alignColumns([
            [
              'LOCATION',
              'DOC',
              'NAMESPACE',
              'RESOURCE',
              'CONTAINER',
              'IMAGE',
              'RULE',
              'ENFORCEMENT',
              'MESSAGE',
            ],
            ...rows,
          ]),
          '',
        ];
  const notes = [skippedLine(report), registrySkippedLine(report)].filter((line) => line !== undefined);
  return `${[...table, summaryLine(report), ...notes].join('\n')}\n`;
}

/** `-o json`: a stable document; every key is always present, null when it does not apply. */
export function checkJson({ policy, input, check }: CheckReport): unknown {
  return {
    policy: { name: policy.name, source: policy.source, revision: policy.revision },
    summary: {
      files: input.files.length,
      documents: input.documents.length,
      podSpecs: check.podSpecs,
      denied: check.denied,
      allowedWithWarnings: check.warned,
      allowed: check.allowed,
      skipped: check.skipped.length,
    },
    registrySkipped: check.registrySkipped,
    findings: check.findings.map((finding) => ({
      file: finding.object.document.file,
      line: finding.line,
      column: finding.column,
      document: finding.object.document.index,
      item: finding.object.item ?? null,
      helmSource: finding.object.document.helmSource ?? null,
      apiVersion: finding.object.apiVersion,
      kind: finding.object.kind,
      namespace: finding.object.namespace,
      name: finding.object.name,
      container: finding.place.name,
      containerList: finding.place.list,
      image: finding.verdict.subject.image,
      rule: finding.violation.rule,
      enforcement: finding.violation.enforcement,
      message: finding.violation.problem,
      description: describeViolation(finding),
      breakGlass: finding.breakGlass ?? null,
      breakGlassRefused: finding.breakGlassRefused ?? null,
    })),
    skipped: check.skipped.map(({ object, line }) => ({
      file: object.document.file,
      line,
      document: object.document.index,
      item: object.item ?? null,
      apiVersion: object.apiVersion,
      kind: object.kind,
      namespace: object.namespace,
      name: object.name,
    })),
  };
}
