import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { BOUNCER_BIN, BouncerProcess, freePort, runBouncer } from './support/bouncer-process';
import { runCli } from './support/cli-run';
import { WORKLOAD_KINDS, admissionReview, imageReview, web } from './support/reviews';

interface Kubeconfig {
  clusters?: { cluster: { server: string; 'certificate-authority': string } }[];
  users: { name: string; user: { 'client-certificate': string; 'client-key': string } }[];
}
interface WebhookConfiguration {
  webhooks: { clientConfig: { url: string; caBundle: string } }[];
}
const yamlOf = <T>(path: string): T => parse(readFileSync(path, 'utf8')) as T;

/**
 * What `setup` writes must work as written: the bouncer starts with the certificates, and a client
 * that reads the apiserver's files the way the kube-apiserver does gets its reviews answered.
 */
describe('kube-image-bouncer setup', () => {
  const parent = mkdtempSync(join(tmpdir(), 'bouncer-setup-'));
  const out = join(parent, 'out');
  let port: number;
  let bouncer: BouncerProcess | undefined;

  beforeAll(async () => {
    port = await freePort();
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  it('writes the files and says what each is for', () => {
    const run = runCli(
      ['setup', '--host', '127.0.0.1', '--port', String(port), '--out', 'out', '--apiserver-dir', out],
      { cwd: parent },
    );
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout: `wrote 13 files to out for a bouncer at https://127.0.0.1:${port} (private keys mode 0600):
  ca.crt                                   CA certificate: the bouncer and the kube-apiserver trust it
  ca.key                                   CA private key: keep it offline, it's only for issuing new certificates
  server.crt                               the bouncer's server certificate
  server.key                               the bouncer's private key
  apiserver-client.crt                     the kube-apiserver's client certificate
  apiserver-client.key                     the kube-apiserver's private key
  kubeconfig.yaml                          kube-apiserver: kubeconfig for ImagePolicyWebhook
  webhook-kubeconfig.yaml                  kube-apiserver: client certificate for the validating webhook
  admission-config.yaml                    kube-apiserver: --admission-control-config-file
  validating-webhook-configuration.yaml    kubectl apply -f: the ValidatingWebhookConfiguration
  mutating-webhook-configuration.yaml      kubectl apply -f, when the policy pins digests: the MutatingWebhookConfiguration
  image-volume-webhook-configuration.yaml  kubectl apply -f, with ImagePolicyWebhook alone: pods that mount image volumes
  README.md                                where each file goes, and the exact commands and flags
next: read out/README.md
`,
    });
  });

  it('gives a serve command that starts the bouncer with mutual TLS', async () => {
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    const command = /^kube-image-bouncer (serve .*)$/m.exec(readme)![1];
    bouncer = runBouncer([...command.split(' '), '--host', '127.0.0.1']);
    await bouncer.waitFor('kube-image-bouncer serving');
  });

  it('lets ImagePolicyWebhook reach it exactly as kubeconfig.yaml says', async () => {
    const kubeconfig = yamlOf<Kubeconfig>(join(out, 'kubeconfig.yaml'));
    const { server, 'certificate-authority': ca } = kubeconfig.clusters![0].cluster;
    const { 'client-certificate': cert, 'client-key': key } = kubeconfig.users[0].user;
    expect(server).toBe(`https://127.0.0.1:${port}/image_policy`);

    const review = (image: string) =>
      request(server)
        .post('')
        .ca(readFileSync(ca))
        .cert(readFileSync(cert))
        .key(readFileSync(key))
        .send(imageReview([image]))
        .expect(200);
    expect((await review('nginx')).body.status).toMatchObject({ allowed: false });
    expect((await review('nginx:1.25')).body.status).toMatchObject({ allowed: true });
  });

  it('lets the validating webhook reach it as the webhook configuration and its kubeconfig say', async () => {
    const { url, caBundle } = yamlOf<WebhookConfiguration>(join(out, 'validating-webhook-configuration.yaml'))
      .webhooks[0].clientConfig;
    const { users } = yamlOf<Kubeconfig>(join(out, 'webhook-kubeconfig.yaml'));
    // The apiserver picks the user named after the URL's host and port.
    const user = users.find(({ name }) => name === new URL(url).host)!.user;
    const deployment = WORKLOAD_KINDS.find((k) => k.kind === 'Deployment')!;

    const response = await request(url)
      .post('')
      .ca(Buffer.from(caBundle, 'base64'))
      .cert(readFileSync(user['client-certificate']))
      .key(readFileSync(user['client-key']))
      .send(admissionReview({ kind: deployment, object: deployment.wrap({ ...web('nginx') }) }))
      .expect(200);
    expect(response.body.response).toMatchObject({ allowed: false });
  });

  it('refuses a client without the generated client certificate', async () => {
    await expect(
      request(`https://127.0.0.1:${port}`)
        .post('/image_policy')
        .ca(readFileSync(join(out, 'ca.crt')))
        .send(imageReview(['nginx'])),
    ).rejects.toThrow(/certificate|alert|socket hang up|ECONNRESET|EPIPE/i);
  });

  it('refuses to overwrite what it wrote, exiting 2 and naming the files', () => {
    const before = readFileSync(join(out, 'ca.key'), 'utf8');
    const run = runCli(['setup', '--host', '127.0.0.1', '--out', 'out'], { cwd: parent });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `kube-image-bouncer: refusing to overwrite 13 files in ${out}; pass --force to replace them:\n` +
        [
          'ca.crt',
          'ca.key',
          'server.crt',
          'server.key',
          'apiserver-client.crt',
          'apiserver-client.key',
          'kubeconfig.yaml',
          'webhook-kubeconfig.yaml',
          'admission-config.yaml',
          'validating-webhook-configuration.yaml',
          'mutating-webhook-configuration.yaml',
          'image-volume-webhook-configuration.yaml',
          'README.md',
        ]
          .map((name) => `  ${name}\n`)
          .join(''),
    );
    expect(readFileSync(join(out, 'ca.key'), 'utf8')).toBe(before);
  });

  it('exits 2 on a bad option', () => {
    expect(
      runCli(['setup', '--host', 'bouncer.example.com', '--days', 'many'], { cwd: parent }),
    ).toMatchObject({
      status: 2,
      stderr:
        "error: option '--days <days>' argument 'many' is invalid. must be an integer from 1 to 36500.\n",
    });
    expect(runCli(['setup'], { cwd: parent })).toMatchObject({
      status: 2,
      stderr: "error: required option '--host <name>' not specified\n",
    });
  });

  it('writes the in-cluster files with --in-cluster, and refuses the options that have no place there', () => {
    expect(runCli(['setup', '--in-cluster', '--out', 'in-cluster'], { cwd: parent })).toEqual({
      status: 0,
      stderr: '',
      stdout: `wrote 6 files to in-cluster for the Service kube-image-bouncer.kube-image-bouncer.svc (files with private keys mode 0600):
  ca.crt                                 CA certificate: the caBundle the kube-apiserver trusts
  ca.key                                 CA private key: keep it offline, it's only for issuing new certificates
  tls-secret.yaml                        kubectl apply -f: the bouncer's TLS Secret (holds its private key)
  validating-webhook-configuration.yaml  kubectl apply -f, once the bouncer is Ready: the webhook
  mutating-webhook-configuration.yaml    kubectl apply -f, once Ready and when the policy pins digests: digest pinning
  README.md                              the install in stages, with the exact commands
next: read in-cluster/README.md
`,
    });
    expect(runCli(['setup', '--in-cluster', '--host', 'b.example'], { cwd: parent })).toMatchObject({
      status: 2,
      stderr: "error: option '--in-cluster' cannot be used with option '--host <name>'\n",
    });
    expect(runCli(['setup', '--host', 'b.example', '--namespace', 'x'], { cwd: parent })).toMatchObject({
      status: 2,
      stderr: "error: option '--namespace <name>' is only for --in-cluster\n",
    });
  });

  it('documents every option in --help', () => {
    const help = runCli(['setup', '--help']);
    expect(help.status).toBe(0);
    for (const option of [
      '--host <name>',
      '--ip <address>',
      '--port <port>',
      '--out <dir>',
      '--apiserver-dir <dir>',
      '--days <days>',
      '--force',
      '--group <gid>',
      '--in-cluster',
      '--namespace <name>',
      '--service <name>',
    ])
      expect(help.stdout).toContain(option);
  });
});

/**
 * The server runs as a user that did not run setup: uid 65532 in the container image, a fresh uid
 * under systemd's DynamicUser. `--group` is what lets it read its key. Only root can run a process
 * as another user, and only with a node that user may execute (not one under root's home, as the
 * Node 24 of scripts/node24.sh is) and a checkout that user may read (not one in a 0700 `mktemp -d`
 * folder), so elsewhere these are skipped; src/config/readable-file.spec.ts then checks the message
 * as the user it runs as.
 */
const SERVER = { uid: 65532, gid: 65532 };
const canRunAsServer =
  process.getuid?.() === 0 &&
  spawnSync(process.execPath, ['-e', 'require("fs").accessSync(process.argv[1], 4)', BOUNCER_BIN], SERVER)
    .status === 0;
(canRunAsServer ? describe : describe.skip)('a key for the user that runs the server (setup --group)', () => {
  jest.setTimeout(30_000);
  // Open to all, as /etc/kube-image-bouncer/tls is: only the key's own mode and group keep others out.
  const parent = mkdtempSync(join(tmpdir(), 'bouncer-setup-group-'));
  chmodSync(parent, 0o755);
  let bouncer: BouncerProcess | undefined;
  afterEach(async () => {
    await bouncer?.stop();
    bouncer = undefined;
  });
  const serveArgs = (out: string, port: number): string[] => [
    'serve',
    ...['--cert', join(out, 'server.crt'), '--key', join(out, 'server.key')],
    ...['--host', '127.0.0.1', '--port', String(port), '--workers', '1'],
  ];

  it('without --group, the server says the key is closed to it, with its mode and owner', async () => {
    const out = join(parent, 'owner-only');
    expect(runCli(['setup', '--host', '127.0.0.1', '--out', out]).status).toBe(0);
    const run = runCli(serveArgs(out, await freePort()), { as: SERVER });
    expect(run).toEqual({
      status: 2,
      stdout: '',
      stderr: `kube-image-bouncer: --key cannot read file "${join(out, 'server.key')}": permission denied, it is mode 0600, owner uid 0 gid 0 and this is uid 65532 (gid 65532)\n`,
    });
    // A missing key still gets the plain message, so the two are told apart.
    const missing = runCli(['serve', '--cert', join(out, 'server.crt'), '--key', join(out, 'nope.key')], {
      as: SERVER,
    });
    expect(missing.stderr).toBe(`kube-image-bouncer: --key cannot read file "${join(out, 'nope.key')}"\n`);
  });

  it('with --group 65532, the server running as uid and gid 65532 reads it and serves', async () => {
    const out = join(parent, 'group');
    const setup = runCli(['setup', '--host', '127.0.0.1', '--group', '65532', '--out', out]);
    expect(setup.stdout).toContain('(private keys mode 0600, but server.key 0640 for group 65532)');
    const port = await freePort();
    bouncer = runBouncer(serveArgs(out, port), {}, SERVER);
    await bouncer.waitFor('kube-image-bouncer serving');
    expect(statSync(join(out, 'ca.key')).mode & 0o777).toBe(0o600);
  });

  it('with the group as a supplementary one, as systemd gives it to a DynamicUser', () => {
    const out = join(parent, 'supplementary');
    expect(runCli(['setup', '--host', '127.0.0.1', '--group', '65532', '--out', out]).status).toBe(0);
    // A uid and primary group of its own, and 65532 among its groups, as SupplementaryGroups= does.
    const { status, stderr } = spawnSync(
      process.execPath,
      [
        '-e',
        `process.setgroups([65532]); process.setgid(61000); process.setuid(61000); require('node:fs').readFileSync(${JSON.stringify(join(out, 'server.key'))});`,
      ],
      { encoding: 'utf8' },
    );
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  });
});
