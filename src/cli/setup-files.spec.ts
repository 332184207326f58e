import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { InvalidConfigError } from '../config/resolve-bouncer-config';
import { CommandInputError } from './command-input.error';
import { SETUP_FILE_NAMES, SetupResult, writeSetupFiles } from './setup-files';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY_MS = 86_400_000;
const VM_WEBHOOK_CONFIGURATION = join(
  __dirname,
  '..',
  '..',
  'deploy',
  'vm',
  'apiserver',
  'validating-webhook-configuration.yaml',
);
const VM_MUTATING_WEBHOOK_CONFIGURATION = join(
  __dirname,
  '..',
  '..',
  'deploy',
  'vm',
  'apiserver',
  'mutating-webhook-configuration.yaml',
);

const VM_IMAGE_VOLUME_WEBHOOK_CONFIGURATION = join(
  __dirname,
  '..',
  '..',
  'deploy',
  'vm',
  'apiserver',
  'image-volume-webhook-configuration.yaml',
);

const certificate = (path: string): X509Certificate => new X509Certificate(readFileSync(path));
const yamlOf = <T = unknown>(path: string): T => parse(readFileSync(path, 'utf8')) as T;

/** The parts of the generated files these tests look into. */
interface Kubeconfig {
  clusters: { cluster: Record<string, string> }[];
  users: { name: string }[];
}
interface AdmissionConfiguration {
  plugins: { configuration: { imagePolicy: { kubeConfigFile: string } } }[];
}
interface WebhookConfiguration {
  webhooks: ({ clientConfig: unknown } & Record<string, unknown>)[];
}
const mode = (path: string): number => statSync(path).mode & 0o777;

describe(writeSetupFiles.name, () => {
  const directory = (): string => join(mkdtempSync(join(tmpdir(), 'setup-')), 'out');

  describe('for bouncer.example.com with an extra IP address', () => {
    let result: SetupResult;
    beforeAll(async () => {
      result = await writeSetupFiles({
        host: 'bouncer.example.com',
        ipAddresses: ['10.0.0.5'],
        outDir: directory(),
        validityDays: 30,
      });
    });

    it('writes every file, and nothing else, returning absolute paths', () => {
      expect(Object.values(result.files).every((path) => path.startsWith(`${result.directory}/`))).toBe(true);
      expect(readdirSync(result.directory).sort()).toEqual(Object.values(SETUP_FILE_NAMES).sort());
      expect(result.serverUrl).toBe('https://bouncer.example.com:1323');
    });

    it('makes a CA that signed a server certificate for the host and IP, and a client certificate', () => {
      const ca = certificate(result.files.caCertificate);
      const server = certificate(result.files.serverCertificate);
      const client = certificate(result.files.clientCertificate);
      expect(ca.ca).toBe(true);
      for (const leaf of [server, client]) {
        expect(leaf.ca).toBe(false);
        expect(leaf.checkIssued(ca)).toBe(true);
        expect(leaf.verify(ca.publicKey)).toBe(true);
      }
      expect(server.subjectAltName).toBe('DNS:bouncer.example.com, IP Address:10.0.0.5');
      expect(server.keyUsage).toEqual([SERVER_AUTH]);
      expect(client.subject).toBe('CN=kube-apiserver');
      expect(client.keyUsage).toEqual([CLIENT_AUTH]);
      expect(client.subjectAltName).toBeUndefined();
    });

    it('pairs each certificate with its key, valid for the days asked', () => {
      for (const [cert, key] of [
        [result.files.caCertificate, result.files.caKey],
        [result.files.serverCertificate, result.files.serverKey],
        [result.files.clientCertificate, result.files.clientKey],
      ]) {
        const parsed = certificate(cert);
        expect(parsed.checkPrivateKey(createPrivateKey(readFileSync(key)))).toBe(true);
        const days = (new Date(parsed.validTo).getTime() - Date.now()) / DAY_MS;
        expect(days).toBeGreaterThan(29.9);
        expect(days).toBeLessThanOrEqual(30);
      }
    });

    it('writes private keys mode 0600, and the rest readable', () => {
      for (const key of [result.files.caKey, result.files.serverKey, result.files.clientKey])
        expect(mode(key)).toBe(0o600);
      expect(mode(result.files.caCertificate) & 0o600).toBe(0o600);
    });

    it('writes the ImagePolicyWebhook kubeconfig, pointing at /etc/kubernetes/image-policy', () => {
      expect(yamlOf(result.files.imagePolicyKubeconfig)).toEqual({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'kube-image-bouncer',
            cluster: {
              'certificate-authority': '/etc/kubernetes/image-policy/ca.crt',
              server: 'https://bouncer.example.com:1323/image_policy',
            },
          },
        ],
        users: [
          {
            name: 'kube-apiserver',
            user: {
              'client-certificate': '/etc/kubernetes/image-policy/apiserver-client.crt',
              'client-key': '/etc/kubernetes/image-policy/apiserver-client.key',
            },
          },
        ],
        contexts: [
          { name: 'image-policy', context: { cluster: 'kube-image-bouncer', user: 'kube-apiserver' } },
        ],
        'current-context': 'image-policy',
      });
    });

    it("writes the validating webhook's kubeconfig, its user named after host and port", () => {
      expect(yamlOf(result.files.webhookKubeconfig)).toEqual({
        apiVersion: 'v1',
        kind: 'Config',
        users: [
          {
            name: 'bouncer.example.com:1323',
            user: {
              'client-certificate': '/etc/kubernetes/image-policy/apiserver-client.crt',
              'client-key': '/etc/kubernetes/image-policy/apiserver-client.key',
            },
          },
        ],
      });
    });

    it('writes the AdmissionConfiguration with both plugins, failing closed', () => {
      expect(yamlOf(result.files.admissionConfiguration)).toEqual({
        apiVersion: 'apiserver.config.k8s.io/v1',
        kind: 'AdmissionConfiguration',
        plugins: [
          {
            name: 'ImagePolicyWebhook',
            configuration: {
              imagePolicy: {
                kubeConfigFile: '/etc/kubernetes/image-policy/kubeconfig.yaml',
                allowTTL: 50,
                denyTTL: 50,
                retryBackoff: 500,
                defaultAllow: false,
              },
            },
          },
          {
            name: 'ValidatingAdmissionWebhook',
            configuration: {
              apiVersion: 'apiserver.config.k8s.io/v1',
              kind: 'WebhookAdmissionConfiguration',
              kubeConfigFile: '/etc/kubernetes/image-policy/webhook-kubeconfig.yaml',
            },
          },
          {
            name: 'MutatingAdmissionWebhook',
            configuration: {
              apiVersion: 'apiserver.config.k8s.io/v1',
              kind: 'WebhookAdmissionConfiguration',
              kubeConfigFile: '/etc/kubernetes/image-policy/webhook-kubeconfig.yaml',
            },
          },
        ],
      });
    });

    it('writes the ValidatingWebhookConfiguration of deploy/vm, with the URL and the CA filled in', () => {
      const generated = yamlOf<WebhookConfiguration>(result.files.validatingWebhookConfiguration);
      const shipped = yamlOf<WebhookConfiguration>(VM_WEBHOOK_CONFIGURATION);
      const [webhook] = generated.webhooks;
      expect(webhook.clientConfig).toEqual({
        url: 'https://bouncer.example.com:1323/validate',
        caBundle: readFileSync(result.files.caCertificate).toString('base64'),
      });
      const withoutClientConfig = (configuration: WebhookConfiguration) => ({
        ...configuration,
        webhooks: configuration.webhooks.map(({ clientConfig: _, ...rest }) => rest),
      });
      expect(withoutClientConfig(generated)).toEqual(withoutClientConfig(shipped));
    });

    it('writes the MutatingWebhookConfiguration of deploy/vm, with the URL and the CA filled in', () => {
      const generated = yamlOf<WebhookConfiguration>(result.files.mutatingWebhookConfiguration);
      const shipped = yamlOf<WebhookConfiguration>(VM_MUTATING_WEBHOOK_CONFIGURATION);
      expect(generated.webhooks[0].clientConfig).toEqual({
        url: 'https://bouncer.example.com:1323/mutate',
        caBundle: readFileSync(result.files.caCertificate).toString('base64'),
      });
      const withoutClientConfig = (configuration: WebhookConfiguration) => ({
        ...configuration,
        webhooks: configuration.webhooks.map(({ clientConfig: _, ...rest }) => rest),
      });
      expect(withoutClientConfig(generated)).toEqual(withoutClientConfig(shipped));
      expect(generated.webhooks[0]).toMatchObject({ reinvocationPolicy: 'IfNeeded' });
    });

    it('writes the image-volume webhook of deploy/vm: pods with an image volume, which ImagePolicyWebhook is not sent', () => {
      const generated = yamlOf<WebhookConfiguration>(result.files.imageVolumeWebhookConfiguration);
      const shipped = yamlOf<WebhookConfiguration>(VM_IMAGE_VOLUME_WEBHOOK_CONFIGURATION);
      expect(generated.webhooks[0].clientConfig).toEqual({
        url: 'https://bouncer.example.com:1323/validate',
        caBundle: readFileSync(result.files.caCertificate).toString('base64'),
      });
      const withoutClientConfig = (configuration: WebhookConfiguration) => ({
        ...configuration,
        webhooks: configuration.webhooks.map(({ clientConfig: _, ...rest }) => rest),
      });
      expect(withoutClientConfig(generated)).toEqual(withoutClientConfig(shipped));
      expect(generated.webhooks[0]).toMatchObject({
        rules: [{ apiGroups: [''], resources: ['pods'], operations: ['CREATE'] }],
        matchConditions: [
          {
            name: 'has-image-volumes',
            expression: 'has(object.spec.volumes) && object.spec.volumes.exists(v, has(v.image))',
          },
        ],
        failurePolicy: 'Fail',
      });
      // ImagePolicyWebhook spares no namespace, so neither may the volumes it is not sent.
      expect(generated.webhooks[0]).not.toHaveProperty('namespaceSelector');
    });

    it('writes a README with the serve command and the apiserver flags', () => {
      const readme = readFileSync(result.files.readme, 'utf8');
      const f = result.files;
      expect(readme).toContain(
        `kube-image-bouncer serve --cert ${f.serverCertificate} --key ${f.serverKey} --client-ca ${f.caCertificate} --port 1323\n`,
      );
      expect(readme).toContain(
        '--admission-control-config-file=/etc/kubernetes/image-policy/admission-config.yaml\n',
      );
      expect(readme).toContain('ImagePolicyWebhook,MutatingAdmissionWebhook,ValidatingAdmissionWebhook');
      expect(result.serveArgs).toEqual([
        'serve',
        '--cert',
        f.serverCertificate,
        '--key',
        f.serverKey,
        '--client-ca',
        f.caCertificate,
        '--port',
        '1323',
      ]);
    });
  });

  it("gives server.key, and only it, to the server's group, mode 0640, with --group", async () => {
    const asRoot = process.getuid?.() === 0;
    const gid = asRoot ? 65532 : process.getgid!();
    const result = await writeSetupFiles({ host: 'b.example', outDir: directory(), group: String(gid) });
    expect(result.serverKeyGid).toBe(gid);
    expect(statSync(result.files.serverKey)).toMatchObject({ gid, uid: process.getuid!() });
    expect(mode(result.files.serverKey)).toBe(0o640);
    for (const key of [result.files.caKey, result.files.clientKey]) {
      expect(mode(key)).toBe(0o600);
      expect(statSync(key).gid).toBe(process.getgid!());
    }
    expect(readFileSync(result.files.readme, 'utf8')).toContain(
      `\`server.key\` belongs to group ${gid}, mode 0640`,
    );
  });

  it('refuses a --group that names no group, writing nothing', async () => {
    const out = directory();
    await expect(
      writeSetupFiles({ host: 'b.example', outDir: out, group: 'no-such-group-here' }),
    ).rejects.toThrow('--group must be a group ID or a group name in /etc/group (got "no-such-group-here")');
    expect(() => readdirSync(out)).toThrow(/ENOENT/);
  });

  it('points the apiserver files at --apiserver-dir, resolved to an absolute path', async () => {
    const out = directory();
    const { files } = await writeSetupFiles({ host: 'b.example', outDir: out, apiserverDir: out });
    expect(
      yamlOf<AdmissionConfiguration>(files.admissionConfiguration).plugins[0].configuration.imagePolicy
        .kubeConfigFile,
    ).toBe(files.imagePolicyKubeconfig);
    expect(yamlOf<Kubeconfig>(files.imagePolicyKubeconfig).clusters[0].cluster['certificate-authority']).toBe(
      files.caCertificate,
    );
  });

  it('makes a host given as an IP address an IP SAN, bracketing IPv6 in URLs and user names', async () => {
    const { files, serverUrl } = await writeSetupFiles({
      host: 'fd00::5',
      ipAddresses: ['127.0.0.1'],
      port: 8443,
      outDir: directory(),
    });
    expect(certificate(files.serverCertificate).subjectAltName).toBe(
      'IP Address:FD00:0:0:0:0:0:0:5, IP Address:127.0.0.1',
    );
    expect(serverUrl).toBe('https://[fd00::5]:8443');
    expect(yamlOf<Kubeconfig>(files.webhookKubeconfig).users[0].name).toBe('[fd00::5]:8443');
  });

  it('refuses to overwrite, writing nothing, unless forced', async () => {
    const out = directory();
    const first = await writeSetupFiles({ host: 'b.example', outDir: out });
    const caBefore = readFileSync(first.files.caCertificate, 'utf8');
    writeFileSync(first.files.serverKey, 'mine', { mode: 0o644 });

    const refused = writeSetupFiles({ host: 'b.example', outDir: out });
    await expect(refused).rejects.toThrow(CommandInputError);
    await expect(refused).rejects.toThrow(
      `refusing to overwrite 13 files in ${out}; pass --force to replace them:\n  ca.crt\n  ca.key\n`,
    );
    expect(readFileSync(first.files.caCertificate, 'utf8')).toBe(caBefore);
    expect(readFileSync(first.files.serverKey, 'utf8')).toBe('mine');

    const forced = await writeSetupFiles({ host: 'b.example', outDir: out, force: true });
    expect(readFileSync(forced.files.caCertificate, 'utf8')).not.toBe(caBefore);
    // A replaced key gets mode 0600 even where the old file was world-readable.
    expect(mode(forced.files.serverKey)).toBe(0o600);
  });

  it('refuses when only some of the files exist, naming them', async () => {
    const out = directory();
    await writeSetupFiles({ host: 'b.example', outDir: out });
    const elsewhere = directory();
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'README.md'), 'notes');
    await expect(writeSetupFiles({ host: 'b.example', outDir: elsewhere })).rejects.toThrow(
      `refusing to overwrite a file in ${elsewhere}; pass --force to replace them:\n  README.md`,
    );
    expect(readdirSync(elsewhere)).toEqual(['README.md']);
  });

  it('with --static, writes the webhooks as KEP-5793 static manifests and names their directory', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kib-setup-static-'));
    const result = await writeSetupFiles({
      host: '10.0.0.5',
      outDir: out,
      staticDir: '/etc/kubernetes/static',
    });
    const manifest = (file: string) => parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const validating = manifest(result.staticFiles!.staticValidatingWebhookConfiguration);
    const written = manifest(result.files.validatingWebhookConfiguration);
    expect(result.staticFiles).toEqual({
      staticValidatingWebhookConfiguration: join(
        out,
        'static',
        'validating',
        'kube-image-bouncer.static.yaml',
      ),
      staticMutatingWebhookConfiguration: join(out, 'static', 'mutating', 'kube-image-bouncer.static.yaml'),
    });
    expect(validating).toEqual({
      ...written,
      metadata: { ...(written.metadata as object), name: 'kube-image-bouncer.static.k8s.io' },
    });
    expect(manifest(result.staticFiles!.staticMutatingWebhookConfiguration)).toMatchObject({
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'kube-image-bouncer.static.k8s.io' },
    });
    const admission = manifest(result.files.admissionConfiguration) as {
      plugins: { name: string; configuration: Record<string, unknown> }[];
    };
    expect(admission.plugins.map((plugin) => [plugin.name, plugin.configuration.staticManifestsDir])).toEqual(
      [
        ['ImagePolicyWebhook', undefined],
        ['ValidatingAdmissionWebhook', '/etc/kubernetes/static/validating'],
        ['MutatingAdmissionWebhook', undefined],
      ],
    );
  });

  it('without --static, writes no static manifest and names no directory', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kib-setup-static-'));
    const result = await writeSetupFiles({ host: '10.0.0.5', outDir: out });
    expect(result.staticFiles).toBeUndefined();
    expect(readdirSync(out)).not.toContain('static');
    expect(readFileSync(result.files.admissionConfiguration, 'utf8')).not.toContain('staticManifestsDir');
    expect(readFileSync(result.files.readme, 'utf8')).not.toContain('--static');
  });

  it('refuses options that cannot make a working setup', async () => {
    const refused = writeSetupFiles({
      host: 'Bouncer_1',
      ipAddresses: ['10.0.0'],
      port: 0,
      validityDays: 0,
      outDir: directory(),
    });
    await expect(refused).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(refused).rejects.toThrow(
      [
        'invalid configuration:',
        '  - --host must be a DNS name (lower case, RFC 1123) or an IP address (got "Bouncer_1")',
        '  - --ip must be an IP address (got "10.0.0")',
        '  - --port must be an integer between 1 and 65535 (got 0)',
        '  - --days must be a positive integer (got 0)',
      ].join('\n'),
    );
  });
});
