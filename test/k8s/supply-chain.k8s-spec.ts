import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Cosign } from '../registry/support/cosign';
import { Crane, LocalRegistry, startRegistry } from '../registry/support/local-registry';
import { KubectlResult } from './support/control-plane';
import { eventually } from './support/eventually';
import { ImageAdmissionCluster } from './support/image-admission-cluster';
import { WEBHOOK_NAME } from './support/validating-webhook';

const K8S_VERSION = readFileSync(join(__dirname, 'k8s-version'), 'utf8').trim();
const IMAGE = 'jsonpath={.spec.containers[0].image}';

/**
 * Scenario 10 and 11: digest pinning and signature checks with a real registry behind a real
 * kube-apiserver. The MutatingWebhookConfiguration is the one `kube-image-bouncer setup` wrote;
 * images come from Debian's docker-registry on loopback, pushed by crane and signed by cosign.
 */
describe(`digests and signatures on a real kube-apiserver ${K8S_VERSION}`, () => {
  let cluster: ImageAdmissionCluster;
  let registry: LocalRegistry;
  let appDigest: string;
  let signedDigest: string;
  let unsignedDigest: string;
  const kubectl = (args: readonly string[]): Promise<KubectlResult> => cluster.kubectl(args);
  const repo = (name: string): string => `${registry.host}/demo/${name}`;

  beforeAll(async () => {
    registry = await startRegistry();
    const crane = new Crane();
    appDigest = await crane.push(`${registry.host}/demo/app:v1`, 'app v1');
    signedDigest = await crane.push(`${registry.host}/demo/signed:v1`, 'signed v1');
    unsignedDigest = await crane.push(`${registry.host}/demo/unsigned:v1`, 'unsigned v1');
    const cosign = new Cosign();
    const publicKey = await cosign.generateKeyPair('ci');
    await cosign.sign(`${registry.host}/demo/signed@${signedDigest}`, 'ci');

    cluster = await ImageAdmissionCluster.start();
    const policyDir = mkdtempSync(join(tmpdir(), 'k8s-supply-chain-'));
    copyFileSync(publicKey, join(policyDir, 'cosign.pub'));
    const policyFile = join(policyDir, 'policy.yaml');
    writeFileSync(
      policyFile,
      `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: supply-chain}
spec:
  registries:
    - {host: "${registry.host}", insecure: true}
  pinDigests: true
  rules:
    - {name: no-latest, disallowedTags: [latest]}
    - {name: pinned, requireDigest: true, namespaces: [pinning]}
    - name: signed-by-ci
      namespaces: [signatures, signatures-ipw]
      verifySignatures: {keys: [cosign.pub]}
`,
    );
    await cluster.bouncer.restart({ policyFile });

    const created = await kubectl(['create', '-f', cluster.setup.files.mutatingWebhookConfiguration]);
    if (created.code !== 0)
      throw new Error(`could not create the MutatingWebhookConfiguration: ${created.stderr}`);
    for (const [ns, version] of [
      ['pinning', 'v1'],
      ['signatures', 'v1'],
      ['signatures-ipw', undefined],
    ] as const)
      await cluster.namespace(ns, version);
    // A new webhook configuration takes effect once the apiserver's informer has it.
    await eventually('the mutating webhook to pin a dry-run pod', async () => {
      const probe = await kubectl([
        'run',
        'probe',
        `--image=${repo('app')}:v1`,
        '-n',
        'pinning',
        '--dry-run=server',
        '-o',
        IMAGE,
      ]);
      if (!probe.stdout.includes('@sha256:'))
        throw new Error(`not pinned yet: ${probe.stdout}${probe.stderr}`);
    });
  }, 600_000);

  afterAll(async () => {
    await cluster?.stop();
    await registry?.stop();
  }, 120_000);

  it('uses the MutatingWebhookConfiguration setup wrote: /mutate, pods, IfNeeded', () => {
    const configuration = parse(readFileSync(cluster.setup.files.mutatingWebhookConfiguration, 'utf8')) as {
      webhooks: {
        clientConfig: { url: string };
        reinvocationPolicy: string;
        rules: { resources: string[] }[];
      }[];
    };
    expect(configuration.webhooks[0]).toMatchObject({
      clientConfig: { url: `https://${cluster.bouncer.hostPort}/mutate` },
      reinvocationPolicy: 'IfNeeded',
      rules: [{ resources: ['pods', 'pods/ephemeralcontainers'] }],
    });
  });

  describe('10. digest pinning', () => {
    it('runs a pod whose image kubectl reads back as tag@sha256', async () => {
      expect(await kubectl(['run', 'web', `--image=${repo('app')}:v1`, '-n', 'pinning'])).toEqual({
        code: 0,
        stdout: 'pod/web created\n',
        stderr: '',
      });
      expect((await kubectl(['get', 'pod', 'web', '-n', 'pinning', '-o', IMAGE])).stdout).toBe(
        `${repo('app')}:v1@${appDigest}`,
      );
    });

    it('refuses, under requireDigest, a pod whose image could not be resolved, naming it, after the warning of /mutate', async () => {
      const gone = `${repo('app')}:v404`;
      expect(await kubectl(['run', 'gone', `--image=${gone}`, '-n', 'pinning'])).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `Warning: container "gone" (containers): image ${gone} was not pinned to a digest: not found\n` +
          `Error from server (Forbidden): pods "gone" is forbidden: image policy webhook backend denied one or more images: ` +
          `Images not pinned by a digest are not allowed: ${gone} (rule pinned)\n`,
      });
    });
  });

  describe('11. signatures, through both review types', () => {
    const unsigned = (): string => `${repo('unsigned')}:v1@${unsignedDigest}`;

    it('creates a pod with a cosign-signed image, in both namespaces', async () => {
      for (const ns of ['signatures', 'signatures-ipw']) {
        expect(await kubectl(['run', 'signed', `--image=${repo('signed')}:v1`, '-n', ns])).toEqual({
          code: 0,
          stdout: 'pod/signed created\n',
          stderr: '',
        });
        expect((await kubectl(['get', 'pod', 'signed', '-n', ns, '-o', IMAGE])).stdout).toBe(
          `${repo('signed')}:v1@${signedDigest}`,
        );
      }
    });

    it('refuses an unsigned one through ImagePolicyWebhook and through the validating webhook, with the same reason', async () => {
      const viaImagePolicyWebhook = await kubectl([
        'run',
        'unsigned',
        `--image=${repo('unsigned')}:v1`,
        '-n',
        'signatures-ipw',
      ]);
      expect(viaImagePolicyWebhook).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `Error from server (Forbidden): pods "unsigned" is forbidden: image policy webhook backend denied one or more images: ` +
          `Images without a verified signature are not allowed: ${unsigned()} (no signature) (rule signed-by-ci)\n`,
      });
      const validatingOnly = await cluster.startApiServer('apiserver-validating-only-signatures', {
        withoutImagePolicyWebhook: true,
      });
      try {
        await eventually('the mutating webhook on the second apiserver', async () => {
          const probe = await validatingOnly.kubectl([
            'run',
            'probe',
            `--image=${repo('signed')}:v1`,
            '-n',
            'signatures',
            '--dry-run=server',
            '-o',
            IMAGE,
          ]);
          if (!probe.stdout.includes('@sha256:'))
            throw new Error(`not pinned yet: ${probe.stdout}${probe.stderr}`);
        });
        const viaValidatingWebhook = await validatingOnly.kubectl([
          'run',
          'unsigned',
          `--image=${repo('unsigned')}:v1`,
          '-n',
          'signatures',
        ]);
        expect(viaValidatingWebhook).toEqual({
          code: 1,
          stdout: '',
          stderr:
            `Error from server (Forbidden): admission webhook "${WEBHOOK_NAME.v1}" denied the request: ` +
            `container "unsigned" (containers): image ${unsigned()} has no verified signature: no signature (rule signed-by-ci)\n`,
        });
      } finally {
        await cluster.stopApiServer(validatingOnly);
      }
    });
  });
});
