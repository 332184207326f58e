import { CompiledImagePolicy, describeViolation, displayImage, imagePlace } from '../policy';
import { alignColumns } from './aligned-columns';
import {
  ManifestCheck,
  ManifestException,
  ManifestFinding,
  SkippedObject,
  kindLabel,
} from './manifest-check';
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

/** A finding or an excepted image: something reported at an image of a pod spec. */
type ReportedImage = ManifestFinding | ManifestException;

export const documentLabel = (finding: ReportedImage): string =>
  `${finding.object.document.index}${finding.object.item === undefined ? '' : `.items[${finding.object.item}]`}`;

export const resourceLabel = ({ object }: ReportedImage): string =>
  object.name ? `${object.kind}/${object.name}` : object.kind;

/** `CHG-7 until 2026-12-31T00:00:00.000Z`: the exception that let an image through. */
export const exceptionLabel = ({ ticket, expires }: ManifestException): string =>
  `${ticket} until ${expires.toISOString()}`;

/** `container "app" (containers): image legacy/app let through by spec.exceptions CHG-7 until …`. */
export const describeException = (exception: ManifestException): string =>
  `${imagePlace(exception.verdict.subject)}image ${exception.verdict.subject.image} let through by spec.exceptions ${exceptionLabel(exception)}`;

/** `file:line`, and for `helm template` output the chart template, since stdin has no file to open. */
const location = ({ object, line }: ReportedImage): string =>
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
    `${check.denied} denied, ${check.warned} allowed with warnings, ${check.allowed} allowed` +
    (check.excepted.length > 0
      ? `; ${plural(check.excepted.length, 'image')} let through by spec.exceptions`
      : '')
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

/** Whether an offline check passed over anything the webhook would have asked a registry. */
export const skippedRegistryWork = ({ check }: Pick<CheckReport, 'check'>): boolean =>
  check.registrySkipped.rules.length > 0 || check.registrySkipped.pinning > 0;

/**
 * What the webhook would have asked a registry and this offline check did not: it never passes
 * silently over a signature rule. Images /mutate would pin are judged as pinned, and said so.
 * Undefined when nothing was skipped.
 */
export function registrySkippedLine(report: CheckReport, failsTheRun = false): string | undefined {
  const { rules, pinning } = report.check.registrySkipped;
  const parts = [
    ...rules.map(({ rule, check: key, images }) => `rule ${rule} (${key}) for ${plural(images, 'image')}`),
    ...(pinning > 0
      ? [`digest pinning for ${plural(pinning, 'image')} (judged as pinned, as /mutate would pin them)`]
      : []),
  ];
  return parts.length === 0
    ? undefined
    : `skipped what needs the registry (run with --online to do it as the webhook does): ${parts.join('; ')}` +
        (failsTheRun ? '\nthis fails the run (--fail-on skipped)' : '');
}

/** The default output: one aligned row per finding and per excepted image, as `kubectl get` prints, then the summary. */
export function checkTable(report: CheckReport, failOnSkipped = false): string {
  const common = (reported: ReportedImage): string[] => [
    location(reported),
    documentLabel(reported),
    reported.object.namespace,
    resourceLabel(reported),
    `${reported.place.name}${PLACE_LABEL[reported.place.list]}`,
    displayImage(reported.verdict),
  ];
  const rows = report.check.reviews.flatMap((review) =>
    [
      ...review.findings.map((finding) => ({
        at: finding,
        cells: [...common(finding), finding.violation.rule, finding.violation.enforcement, message(finding)],
      })),
      // No rule ran on it: the exception let it through all of them, until it lapses.
      ...review.excepted.map((exception) => ({
        at: exception,
        cells: [
          ...common(exception),
          '-',
          'excepted',
          `let through by spec.exceptions ${exceptionLabel(exception)}`,
        ],
      })),
    ]
      .sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column)
      .map(({ cells }) => cells),
  );
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
  const notes = [
    skippedLine(report),
    registrySkippedLine(report, failOnSkipped && skippedRegistryWork(report)),
  ].filter((line) => line !== undefined);
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
      excepted: check.excepted.length,
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
    excepted: check.excepted.map((exception) => ({
      file: exception.object.document.file,
      line: exception.line,
      column: exception.column,
      document: exception.object.document.index,
      item: exception.object.item ?? null,
      helmSource: exception.object.document.helmSource ?? null,
      apiVersion: exception.object.apiVersion,
      kind: exception.object.kind,
      namespace: exception.object.namespace,
      name: exception.object.name,
      container: exception.place.name,
      containerList: exception.place.list,
      image: exception.verdict.subject.image,
      ticket: exception.ticket,
      expires: exception.expires.toISOString(),
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
