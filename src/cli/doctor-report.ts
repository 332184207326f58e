import { CompiledImagePolicy } from '../policy/policy-file/compiled-image-policy';
import { alignColumns } from './aligned-columns';
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

/** The default output: the bouncer's webhooks, each path's proof, the lint's warnings, as `kubectl get` aligns them. */
export function doctorTable(report: DoctorReport): string {
  const lines = [
    `cluster ${report.cluster.context} (${report.cluster.server}), canaries in namespace ${report.namespace}, policy ${report.policy.name} (revision ${report.policy.revision})`,
    '',
    ...(report.webhooks.length === 0
      ? ['no webhook configuration in the API points at the bouncer']
      : alignColumns([
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
    ...alignColumns([
      ['PATH', 'REQUEST', 'IMAGE', 'RESULT', 'DETAIL'],
      ...report.proofs.map((p) => [p.path, p.request, p.image, p.result, p.detail]),
    ]),
    ...(report.findings.length === 0
      ? []
      : [
          '',
          ...alignColumns([
            ['WEBHOOK', 'CHECK', 'WARNING'],
            ...report.findings.map((f) => [f.webhook, f.check, f.message]),
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
