import { CompiledImagePolicy } from '../policy';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { packageVersion } from '../version';
import { alignColumns } from './aligned-columns';
import { attributes, escape } from './check-junit';
import { SARIF_SCHEMA } from './check-sarif';
import { PathProof } from './doctor-proof';
import { RegisteredWebhook, WebhookFinding } from './doctor-webhooks';

/** What doctor found, ready to print in any format. */
export interface DoctorReport {
  readonly policy: CompiledImagePolicy;
  /** The kubeconfig context and its server. */
  readonly cluster: { readonly context: string; readonly server: string };
  readonly namespace: string;
  readonly webhooks: readonly RegisteredWebhook[];
  readonly findings: readonly WebhookFinding[];
  readonly proofs: readonly PathProof[];
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

export const doctorFailed = (report: Pick<DoctorReport, 'proofs'>): boolean =>
  report.proofs.some((proof) => proof.failed);

export function doctorSummary({ proofs, findings }: DoctorReport): string {
  const count = (result: PathProof['result']) => proofs.filter((proof) => proof.result === result).length;
  const allowed = proofs.find((proof) => proof.path === 'allowed Pod');
  return (
    `${count('enforced')} enforced, ${count('bypassed')} bypassed, ${count('not checked')} not checked` +
    (allowed
      ? `; the allowed canary was ${allowed.result}`
      : '; no allowed canary (give one with --allowed-image)') +
    `; ${plural(findings.length, 'warning')} about the registration`
  );
}

/**
 * Text as a terminal shows it, never as it obeys it: control characters (an escape sequence in a
 * Status message another webhook wrote, say) are written out as `\u001b`.
 */
const printable = (text: string): string =>
  // eslint-disable-next-line no-control-regex
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Columns aligned as `kubectl get` aligns them, every cell printable. */
const table = (rows: readonly (readonly string[])[]): string[] =>
  alignColumns(rows.map((row) => row.map(printable)));

/** The default output: the bouncer's webhooks, each path's proof, the lint's warnings, as `kubectl get` aligns them. */
export function doctorTable(report: DoctorReport): string {
  const lines = [
    printable(
      `cluster ${report.cluster.context} (${report.cluster.server}), canaries in namespace ${report.namespace}, policy ${report.policy.name} (revision ${report.policy.revision})`,
    ),
    '',
    ...(report.webhooks.length === 0
      ? ['no webhook configuration in the API points at the bouncer']
      : table([
          ['WEBHOOK', 'CONFIGURATION', 'KIND', 'FAILURE POLICY', 'TIMEOUT', 'CALLS'],
          ...report.webhooks.map((w) => [
            w.name,
            w.configuration,
            w.kind,
            w.failurePolicy,
            `${w.timeoutSeconds}s`,
            w.target,
          ]),
        ])),
    '',
    ...table([
      ['PATH', 'REQUEST', 'IMAGE', 'RESULT', 'DETAIL'],
      ...report.proofs.map((p) => [p.path, p.request, p.image, p.result, p.detail]),
    ]),
    ...(report.findings.length === 0
      ? []
      : [
          '',
          ...table([
            ['WEBHOOK', 'CONFIGURATION', 'CHECK', 'WARNING'],
            ...report.findings.map((f) => [f.webhook, f.configuration, f.check, f.message]),
          ]),
        ]),
    '',
    doctorSummary(report),
  ];
  return `${lines.join('\n')}\n`;
}

/** `-o json`: a stable document; every key is always present. */
export function doctorJson(report: DoctorReport): unknown {
  const { policy } = report;
  return {
    policy: { name: policy.name, source: policy.source, revision: policy.revision },
    cluster: report.cluster,
    namespace: report.namespace,
    enforced: !doctorFailed(report),
    webhooks: report.webhooks.map((w) => ({
      name: w.name,
      configuration: w.configuration,
      kind: w.kind,
      failurePolicy: w.failurePolicy,
      timeoutSeconds: w.timeoutSeconds,
      calls: w.target,
    })),
    paths: report.proofs.map((p) => ({
      path: p.path,
      request: p.request,
      image: p.image,
      result: p.result,
      detail: p.detail,
      failed: p.failed,
    })),
    warnings: report.findings,
  };
}

/**
 * `-o junit`: one test case per admission path, failed when it is bypassed (or the allowed canary
 * refused), skipped when it could not be checked; the registration's warnings are the suite's output.
 * The same writer's escaping as `check -o junit`.
 */
export function doctorJunit(report: DoctorReport): string {
  const failures = report.proofs.filter((p) => p.failed).length;
  const skipped = report.proofs.filter((p) => p.result === 'not checked').length;
  const counts = { tests: report.proofs.length, failures, errors: 0, skipped };
  const cases = report.proofs.map((proof) => {
    const open = `    <testcase${attributes({ classname: `doctor.${report.namespace}`, name: `${proof.path} (${proof.request}, ${proof.image})` })}>`;
    const body = proof.failed
      ? `      <failure${attributes({ message: `${proof.path}: ${proof.result}`, type: proof.result })}>${escape(proof.detail)}</failure>`
      : proof.result === 'not checked'
        ? `      <skipped${attributes({ message: proof.detail })}/>`
        : `      <system-out>${escape(proof.detail)}</system-out>`;
    return [open, body, '    </testcase>'].join('\n');
  });
  const warnings = report.findings.map(
    (f) => `warning: ${f.webhook} (${f.configuration}) ${f.check}: ${f.message}`,
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attributes({ name: 'kube-image-bouncer doctor', ...counts })}>`,
    `  <testsuite${attributes({ name: `${report.cluster.context} ${report.namespace}`, ...counts })}>`,
    '    <properties>',
    `      <property${attributes({ name: 'policy', value: report.policy.name })}/>`,
    `      <property${attributes({ name: 'policy-revision', value: report.policy.revision })}/>`,
    `      <property${attributes({ name: 'server', value: report.cluster.server })}/>`,
    '    </properties>',
    ...cases,
    ...(warnings.length > 0 ? [`    <system-out>${escape(warnings.join('\n'))}</system-out>`] : []),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

const DOCTOR_RULES: ReportingDescriptor[] = [
  {
    id: 'bypassed',
    shortDescription: { text: 'an admission path lets through an image the policy refuses' },
    defaultConfiguration: { level: 'error' },
  },
  {
    id: 'refused-allowed',
    shortDescription: { text: 'an image the policy allows is refused: the webhook refuses everything' },
    defaultConfiguration: { level: 'error' },
  },
  {
    id: 'not-checked',
    shortDescription: { text: 'an admission path could not be checked' },
    defaultConfiguration: { level: 'note' },
  },
  {
    id: 'registration',
    shortDescription: { text: 'a webhook setting that lets requests through, or risks it' },
    defaultConfiguration: { level: 'warning' },
  },
];

/**
 * `-o sarif`: SARIF 2.1.0 with `check`'s schema and tool. Results have no file to point at: each is
 * placed at a logical location, the admission path or the webhook.
 */
export function doctorSarif(report: DoctorReport): Log {
  const result = (ruleId: string, level: Result.level, text: string, where: string): Result => ({
    ruleId,
    ruleIndex: DOCTOR_RULES.findIndex((rule) => rule.id === ruleId),
    level,
    message: { text },
    locations: [{ logicalLocations: [{ fullyQualifiedName: where, kind: 'resource' }] }],
  });
  const results: Result[] = [
    ...report.proofs.flatMap((p) =>
      p.failed
        ? [
            result(
              p.result === 'refused' ? 'refused-allowed' : 'bypassed',
              'error',
              `${p.path} (${p.request}, ${p.image}) in namespace ${report.namespace}: ${p.detail}`,
              `${report.namespace}/${p.path}`,
            ),
          ]
        : p.result === 'not checked'
          ? [
              result(
                'not-checked',
                'note',
                `${p.path} (${p.request}): ${p.detail}`,
                `${report.namespace}/${p.path}`,
              ),
            ]
          : [],
    ),
    ...report.findings.map((f) =>
      result(
        'registration',
        'warning',
        `${f.webhook} (${f.configuration}): ${f.message}`,
        `${f.configuration}/${f.webhook}`,
      ),
    ),
  ];
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
            rules: DOCTOR_RULES,
          },
        },
        results,
        properties: {
          cluster: report.cluster,
          namespace: report.namespace,
          policy: {
            name: report.policy.name,
            source: report.policy.source,
            revision: report.policy.revision,
          },
        },
      },
    ],
  };
}
