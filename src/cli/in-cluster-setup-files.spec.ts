import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { InvalidConfigError } from '../config/resolve-bouncer-config';
import {
  IN_CLUSTER_FILE_NAMES,
  InClusterSetupResult,
  writeInClusterSetupFiles,
} from './in-cluster-setup-files';

/** The kit's stage-2 webhook configuration, which cert-manager's cainjector completes. */
const KIT_WEBHOOK_CONFIGURATION = join(
  __dirname,
  '..',
  '..',
  'deploy',
  'kubernetes',
  'cert-manager',
  'webhooks',
  'validating-webhook-configuration.yaml',
);
/** Stage 2b, digest pinning, only when the policy pins. */
const KIT_MUTATING_WEBHOOK_CONFIGURATION = join(
  __dirname,
  '..',
  '..',
  'deploy',
  'kubernetes',
  'cert-manager',
  'pinning',
  'mutating-webhook-configuration.yaml',
);

interface Secret {
  apiVersion: string;
  kind: string;
  type: string;
  metadata: { name: string; namespace: string };
  data: Record<string, string>;
}
interface WebhookConfiguration {
  metadata: { name: string; annotations?: Record<string, string> };
  webhooks: ({ clientConfig: { caBundle?: string; service: unknown } } & Record<string, unknown>)[];
}
const yamlOf = <T>(path: string): T => parse(readFileSync(path, 'utf8')) as T;
const decoded = (base64: string): string => Buffer.from(base64, 'base64').toString();
const mode = (path: string): number => statSync(path).mode & 0o777;

describe(writeInClusterSetupFiles.name, () => {
  const directory = (): string => join(mkdtempSync(join(tmpdir(), 'in-cluster-setup-')), 'out');

  describe('with the defaults of deploy/kubernetes', () => {
    let result: InClusterSetupResult;
    beforeAll(async () => {
      result = await writeInClusterSetupFiles({ outDir: directory(), validityDays: 30 });
    });

    it('writes the CA, the Secret manifest, the webhook configuration and a README, and nothing else', () => {
      expect(readdirSync(result.directory).sort()).toEqual(Object.values(IN_CLUSTER_FILE_NAMES).sort());
      expect(result).toMatchObject({
        target: { namespace: 'kube-image-bouncer', service: 'kube-image-bouncer' },
        secretName: 'kube-image-bouncer-tls',
      });
    });

    it('keeps the files that hold private keys mode 0600', () => {
      expect(mode(result.files.caKey)).toBe(0o600);
      expect(mode(result.files.tlsSecret)).toBe(0o600);
      expect(mode(result.files.caCertificate)).toBe(0o644);
    });

    it("writes the Deployment's TLS Secret: a certificate for the Service's names, its key, and the CA", () => {
      const secret = yamlOf<Secret>(result.files.tlsSecret);
      expect(secret).toMatchObject({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name: 'kube-image-bouncer-tls', namespace: 'kube-image-bouncer' },
      });
      expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
      const ca = new X509Certificate(decoded(secret.data['ca.crt']));
      const server = new X509Certificate(decoded(secret.data['tls.crt']));
      expect(decoded(secret.data['ca.crt'])).toBe(readFileSync(result.files.caCertificate, 'utf8'));
      expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true);
      expect(server.subjectAltName).toBe(
        'DNS:kube-image-bouncer.kube-image-bouncer.svc, DNS:kube-image-bouncer.kube-image-bouncer.svc.cluster.local',
      );
      expect(server.checkPrivateKey(createPrivateKey(decoded(secret.data['tls.key'])))).toBe(true);
    });

    it("writes deploy/kubernetes' webhook configuration with the CA as its caBundle in place of cert-manager", () => {
      const generated = yamlOf<WebhookConfiguration>(result.files.validatingWebhookConfiguration);
      const shipped = yamlOf<WebhookConfiguration>(KIT_WEBHOOK_CONFIGURATION);
      expect(shipped.metadata.annotations).toEqual({
        'cert-manager.io/inject-ca-from': 'kube-image-bouncer/kube-image-bouncer',
      });
      expect(generated.metadata.annotations).toBeUndefined();
      expect(generated.webhooks[0].clientConfig.caBundle).toBe(
        readFileSync(result.files.caCertificate).toString('base64'),
      );
      const withoutCa = ({ metadata: { annotations: _, ...metadata }, webhooks }: WebhookConfiguration) => ({
        metadata,
        webhooks: webhooks.map(({ clientConfig: { caBundle: __, ...clientConfig }, ...webhook }) => ({
          ...webhook,
          clientConfig,
        })),
      });
      expect(withoutCa(generated)).toEqual(withoutCa(shipped));
    });

    it("writes deploy/kubernetes' mutating webhook configuration with the CA as its caBundle in place of cert-manager", () => {
      const generated = yamlOf<WebhookConfiguration>(result.files.mutatingWebhookConfiguration);
      const shipped = yamlOf<WebhookConfiguration>(KIT_MUTATING_WEBHOOK_CONFIGURATION);
      expect(generated.webhooks[0].clientConfig.caBundle).toBe(
        readFileSync(result.files.caCertificate).toString('base64'),
      );
      const withoutCa = ({ metadata: { annotations: _, ...metadata }, webhooks }: WebhookConfiguration) => ({
        metadata,
        webhooks: webhooks.map(({ clientConfig: { caBundle: __, ...clientConfig }, ...webhook }) => ({
          ...webhook,
          clientConfig,
        })),
      });
      expect(withoutCa(generated)).toEqual(withoutCa(shipped));
    });

    it('writes a README that installs in stages, the webhook last', () => {
      const readme = readFileSync(result.files.readme, 'utf8');
      const order = [
        'kubectl apply -k deploy/kubernetes/base',
        'kubectl apply -f tls-secret.yaml',
        'kubectl -n kube-image-bouncer rollout status deployment/kube-image-bouncer --timeout=5m',
        'kubectl apply -f validating-webhook-configuration.yaml',
      ].map((command) => readme.indexOf(command));
      expect(order.every((at) => at >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
    });
  });

  it('follows another namespace and Service into every name', async () => {
    const { files } = await writeInClusterSetupFiles({
      namespace: 'policy',
      service: 'bouncer',
      outDir: directory(),
    });
    const secret = yamlOf<Secret>(files.tlsSecret);
    expect(secret.metadata).toMatchObject({ name: 'bouncer-tls', namespace: 'policy' });
    expect(new X509Certificate(decoded(secret.data['tls.crt'])).subjectAltName).toBe(
      'DNS:bouncer.policy.svc, DNS:bouncer.policy.svc.cluster.local',
    );
    const { webhooks } = yamlOf<WebhookConfiguration>(files.validatingWebhookConfiguration);
    expect(webhooks[0].clientConfig.service).toEqual({
      name: 'bouncer',
      namespace: 'policy',
      path: '/validate',
      port: 443,
    });
    expect(webhooks[0].namespaceSelector).toEqual({
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'policy'] },
        { key: 'kube-image-bouncer.io/exempt', operator: 'NotIn', values: ['true'] },
      ],
    });
  });

  it('refuses names Kubernetes would refuse', async () => {
    await expect(
      writeInClusterSetupFiles({ namespace: 'Policy', service: 'a.b', outDir: directory() }),
    ).rejects.toThrow(
      new InvalidConfigError([
        '--namespace must be a DNS label (lower case, RFC 1123) (got "Policy")',
        '--service must be a DNS label (lower case, RFC 1123) (got "a.b")',
      ]),
    );
  });
});
