import { resolve, join } from 'node:path';
import { InvalidConfigError } from '../config';
import {
  DEFAULT_IN_CLUSTER_SERVICE,
  InClusterService,
  inClusterMutatingWebhookConfiguration,
  inClusterValidatingWebhookConfiguration,
  serviceDnsNames,
  tlsSecret,
  tlsSecretName,
} from './in-cluster-manifests';
import { inClusterSetupReadme } from './in-cluster-setup-readme';
import { DEFAULT_SETUP_DIRECTORY, DEFAULT_VALIDITY_DAYS } from './setup-files';
import { PRIVATE_MODE, PUBLIC_MODE, refuseToOverwrite, writeSetupOutput } from './setup-output';

export interface InClusterSetupOptions {
  /** The bouncer's namespace; default kube-image-bouncer, as deploy/kubernetes has it. */
  readonly namespace?: string;
  /** The bouncer's Service; default kube-image-bouncer. The Secret is `<service>-tls`. */
  readonly service?: string;
  readonly outDir?: string;
  readonly validityDays?: number;
  readonly force?: boolean;
}

/** The files `setup --in-cluster` writes, by what they are. */
export const IN_CLUSTER_FILE_NAMES = {
  caCertificate: 'ca.crt',
  caKey: 'ca.key',
  tlsSecret: 'tls-secret.yaml',
  validatingWebhookConfiguration: 'validating-webhook-configuration.yaml',
  mutatingWebhookConfiguration: 'mutating-webhook-configuration.yaml',
  readme: 'README.md',
} as const;

export type InClusterSetupFile = keyof typeof IN_CLUSTER_FILE_NAMES;
/** Files holding a private key: the CA's, and the Secret's (the server's). */
const PRIVATE_FILES: ReadonlySet<InClusterSetupFile> = new Set(['caKey', 'tlsSecret']);

export interface InClusterSetupResult {
  readonly directory: string;
  readonly files: Readonly<Record<InClusterSetupFile, string>>;
  readonly target: InClusterService;
  /** The Secret's name, as the Deployment mounts it. */
  readonly secretName: string;
}

// RFC 1123 label, as Kubernetes validates namespace and Service names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * An in-cluster install without cert-manager: a CA, the bouncer's certificate for its Service name
 * in a `kubernetes.io/tls` Secret manifest, and the ValidatingWebhookConfiguration with that CA as
 * its caBundle, applied as the last stage once the bouncer is Ready. No kube-apiserver files: the
 * apiserver reaches an in-cluster webhook through the Service, with no configuration of its own.
 */
export async function writeInClusterSetupFiles(
  options: InClusterSetupOptions,
): Promise<InClusterSetupResult> {
  const target: InClusterService = {
    namespace: options.namespace ?? DEFAULT_IN_CLUSTER_SERVICE.namespace,
    service: options.service ?? DEFAULT_IN_CLUSTER_SERVICE.service,
  };
  const validityDays = options.validityDays ?? DEFAULT_VALIDITY_DAYS;
  const problems: string[] = [];
  for (const [flag, value] of [
    ['--namespace', target.namespace],
    ['--service', target.service],
  ])
    if (!DNS_LABEL.test(value))
      problems.push(`${flag} must be a DNS label (lower case, RFC 1123) (got ${JSON.stringify(value)})`);
  if (!Number.isInteger(validityDays) || validityDays < 1)
    problems.push(`--days must be a positive integer (got ${JSON.stringify(validityDays)})`);
  if (problems.length > 0) throw new InvalidConfigError(problems);

  const directory = resolve(options.outDir ?? DEFAULT_SETUP_DIRECTORY);
  refuseToOverwrite(directory, Object.values(IN_CLUSTER_FILE_NAMES), options.force);
  const { createCertificateAuthority, issueCertificate } = await import('../tls/certificate-issuer');
  const ca = await createCertificateAuthority({ commonName: 'kube-image-bouncer CA', validityDays });
  const dnsNames = serviceDnsNames(target);
  const server = await issueCertificate(ca, {
    commonName: dnsNames[0],
    usages: ['server'],
    dnsNames,
    validityDays,
  });
  const files = Object.fromEntries(
    Object.entries(IN_CLUSTER_FILE_NAMES).map(([file, name]) => [file, join(directory, name)]),
  ) as Record<InClusterSetupFile, string>;
  const contents: Record<InClusterSetupFile, string> = {
    caCertificate: ca.certificatePem,
    caKey: ca.privateKeyPem,
    tlsSecret: tlsSecret(target, {
      certificate: server.certificatePem,
      privateKey: server.privateKeyPem,
      ca: ca.certificatePem,
    }),
    validatingWebhookConfiguration: inClusterValidatingWebhookConfiguration(target, ca.certificatePem),
    mutatingWebhookConfiguration: inClusterMutatingWebhookConfiguration(target, ca.certificatePem),
    readme: inClusterSetupReadme({
      target,
      secretName: tlsSecretName(target),
      dnsNames,
      notAfter: ca.notAfter,
    }),
  };
  writeSetupOutput(
    directory,
    (Object.entries(files) as [InClusterSetupFile, string][]).map(([file, path]) => ({
      path,
      contents: contents[file],
      mode: PRIVATE_FILES.has(file) ? PRIVATE_MODE : PUBLIC_MODE,
    })),
  );
  return { directory, files, target, secretName: tlsSecretName(target) };
}
