import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../../src/tls/certificate-issuer';
import { freePort } from '../../support/bouncer-process';
import { WaitingIsPointless, eventually } from './eventually';
import { LocalProcess } from './local-process';

// From the source tree (jest), or from the bench's build of it in .bench-build/test/ (bench:apiserver).
const SUPPORT_DIR = __dirname.replace(/[/\\]\.bench-build(?=[/\\])/, '');
const K8S_DIR = join(SUPPORT_DIR, '..');

export interface KubectlOptions {
  /** Written to kubectl's stdin, for `-f -`. */
  readonly stdin?: string;
}

export interface KubectlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What the apiserver needs for its admission chain: see admission-configuration.ts. */
export interface AdmissionFlags {
  /** Added to the default plugins with `--enable-admission-plugins`; ValidatingAdmissionWebhook is on by default. */
  readonly enablePlugins: readonly string[];
  readonly configFile: string;
  /** Left out with `--disable-admission-plugins`: bench:apiserver's floor is an apiserver without the webhook plugins. */
  readonly disablePlugins?: readonly string[];
}

/**
 * The directory holding etcd, kube-apiserver, kube-controller-manager and kubectl: $KIB_K8S_BIN when the
 * runner (run-conformance.sh) has built them, or else build-control-plane.sh, which takes milliseconds when
 * they are cached and several minutes when they are not.
 */
export function controlPlaneBinaries(): string {
  const fromRunner = process.env.KIB_K8S_BIN;
  if (fromRunner) return fromRunner;
  const out = execFileSync('bash', [join(K8S_DIR, 'build-control-plane.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  return out.trim().split('\n').at(-1)!;
}

function readyz(port: number, caPem: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/readyz', ca: caPem, headers: { Authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.setTimeout(2_000, () => req.destroy(new Error('readyz timed out')));
    req.once('error', reject);
    req.end();
  });
}

/** One kube-apiserver on loopback, with an admin kubeconfig for kubectl. */
export class ApiServer {
  constructor(
    readonly name: string,
    readonly port: number,
    readonly kubeconfig: string,
    private readonly kubectlPath: string,
    private readonly child: LocalProcess,
  ) {}

  get logPath(): string {
    return this.child.logPath;
  }

  kubectl(args: readonly string[], { stdin }: KubectlOptions = {}): Promise<KubectlResult> {
    return new Promise((resolve, reject) => {
      // Discovery and HTTP caches in the run directory, not ~/.kube/cache: a later run on the same port must not
      // read this cluster's discovery, and the run leaves nothing behind.
      const cacheDir = join(dirname(this.kubeconfig), 'kubectl-cache');
      const argv = ['--kubeconfig', this.kubeconfig, '--cache-dir', cacheDir, ...args];
      const child = spawn(this.kubectlPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin ?? '');
    });
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}

/**
 * etcd, kube-apiserver and kube-controller-manager on free loopback ports, in a temporary directory with
 * generated certificates. The recipe is smoke-control-plane.sh's. More kube-apiservers can join the same etcd
 * with another admission configuration.
 *
 * Teardown order matters: kube-controller-manager, then the kube-apiservers, and etcd last; an apiserver whose
 * etcd is gone retries for minutes before it exits.
 */
export class ControlPlane {
  private readonly apiServers: ApiServer[] = [];
  private controllerManager?: LocalProcess;

  private constructor(
    readonly dir: string,
    private readonly bin: string,
    private readonly etcd: LocalProcess,
    private readonly etcdPort: number,
    private readonly token: string,
    private readonly clusterCaPem: string,
    private readonly reaper: ChildProcess,
  ) {}

  /**
   * Writes the cluster's certificates and keys, then starts etcd; next come `startApiServer` and
   * `startControllerManager`. If etcd does not come up, stops it.
   */
  static async start(): Promise<ControlPlane> {
    const bin = controlPlaneBinaries();
    const dir = mkdtempSync(join(tmpdir(), 'kib-k8s-'));
    // If this test process dies without tearing down, the reaper kills what it started (see orphan-reaper.sh).
    const reaper = spawn('bash', [join(SUPPORT_DIR, 'orphan-reaper.sh'), String(process.pid), dir], {
      detached: true,
      stdio: 'ignore',
    });
    reaper.unref();

    const clusterCa = await createCertificateAuthority({ commonName: 'conformance cluster CA' });
    const serving = await issueCertificate(clusterCa, {
      commonName: 'kube-apiserver',
      usages: ['server'],
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    const serviceAccountKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'cluster-ca.crt'), clusterCa.certificatePem);
    writeFileSync(join(dir, 'apiserver.crt'), serving.certificatePem);
    writeFileSync(join(dir, 'apiserver.key'), serving.privateKeyPem, { mode: 0o600 });
    writeFileSync(
      join(dir, 'service-account.key'),
      serviceAccountKey.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      { mode: 0o600 },
    );
    // --service-account-key-file reads public keys; it does not take a PKCS#8 private key.
    writeFileSync(
      join(dir, 'service-account.pub'),
      serviceAccountKey.publicKey.export({ type: 'spki', format: 'pem' }),
    );
    writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`, { mode: 0o600 });

    const [etcdPort, etcdPeerPort] = [await freePort(), await freePort()];
    const etcd = LocalProcess.start(dir, 'etcd', join(bin, 'etcd'), [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    const plane = new ControlPlane(dir, bin, etcd, etcdPort, token, clusterCa.certificatePem, reaper);
    try {
      await eventually('etcd to listen', () => plane.etcdHealthy(), { timeoutMs: 30_000 });
    } catch (error) {
      await plane.stop();
      throw error;
    }
    return plane;
  }

  /** The first apiserver started: the one the controller-manager and `kubectl` talk to. */
  get apiServer(): ApiServer {
    const primary = this.apiServers[0];
    if (!primary) throw new Error('no kube-apiserver started');
    return primary;
  }

  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult> {
    return this.apiServer.kubectl(args, options);
  }

  /** A kube-apiserver on this etcd with its own admission chain; waits for /readyz. */
  async startApiServer(name: string, admission: AdmissionFlags): Promise<ApiServer> {
    const port = await freePort();
    const certDir = join(this.dir, `${name}-certs`);
    mkdirSync(certDir);
    const file = (f: string): string => join(this.dir, f);
    const child = LocalProcess.start(this.dir, name, join(this.bin, 'kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${this.etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${certDir}`,
      `--tls-cert-file=${file('apiserver.crt')}`,
      `--tls-private-key-file=${file('apiserver.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${file('service-account.pub')}`,
      `--service-account-signing-key-file=${file('service-account.key')}`,
      `--token-auth-file=${file('tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--endpoint-reconciler-type=none',
      ...(admission.enablePlugins.length > 0
        ? [`--enable-admission-plugins=${admission.enablePlugins.join(',')}`]
        : []),
      ...(admission.disablePlugins?.length
        ? [`--disable-admission-plugins=${admission.disablePlugins.join(',')}`]
        : []),
      `--admission-control-config-file=${admission.configFile}`,
    ]);
    const kubeconfig = file(`${name}.kubeconfig`);
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name,
            cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority': file('cluster-ca.crt') },
          },
        ],
        users: [{ name: 'admin', user: { token: this.token } }],
        contexts: [{ name, context: { cluster: name, user: 'admin' } }],
        'current-context': name,
      }),
      { mode: 0o600 },
    );
    const apiServer = new ApiServer(name, port, kubeconfig, join(this.bin, 'kubectl'), child);
    this.apiServers.push(apiServer);
    await eventually(
      `${name} /readyz (log: ${child.logPath})`,
      async () => {
        if (!child.running) throw new WaitingIsPointless(`exited:\n${this.logTail(child.logPath)}`);
        const status = await readyz(port, this.clusterCaPem, this.token);
        if (status !== 200) throw new Error(`/readyz answered ${status}`);
      },
      { timeoutMs: 90_000 },
    );
    return apiServer;
  }

  /** Stops one of the extra apiservers started by `startApiServer`. */
  async stopApiServer(apiServer: ApiServer): Promise<void> {
    await apiServer.stop();
    this.apiServers.splice(this.apiServers.indexOf(apiServer), 1);
  }

  /** The controllers the scenarios need: ReplicationControllers create pods; ServiceAccount `default` exists. */
  async startControllerManager(): Promise<void> {
    this.controllerManager = LocalProcess.start(
      this.dir,
      'kube-controller-manager',
      join(this.bin, 'kube-controller-manager'),
      [
        `--kubeconfig=${this.apiServer.kubeconfig}`,
        '--controllers=replicationcontroller,serviceaccount,garbagecollector,namespace',
        '--leader-elect=false',
        '--secure-port=0',
      ],
    );
    await this.waitForServiceAccount('default');
  }

  /**
   * The ServiceAccount admission plugin runs before ImagePolicyWebhook and refuses every pod of a namespace
   * until the controller-manager has made its `default` ServiceAccount.
   */
  async waitForServiceAccount(namespace: string): Promise<void> {
    await eventually(`ServiceAccount ${namespace}/default`, async () => {
      const result = await this.kubectl(['get', 'serviceaccount', 'default', '-n', namespace, '-o', 'name']);
      if (result.code !== 0) throw new Error(result.stderr);
    });
  }

  /** Stops everything in the order that shuts down quickly, and removes the directory (KIB_K8S_KEEP=1 keeps it). */
  async stop(): Promise<void> {
    await this.controllerManager?.stop();
    for (const apiServer of this.apiServers.splice(0).reverse()) await apiServer.stop();
    await this.etcd.stop();
    if (process.env.KIB_K8S_KEEP === '1') {
      console.log(`control plane logs kept in ${this.dir}`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
    if (this.reaper.exitCode === null && this.reaper.pid !== undefined) this.reaper.kill('SIGTERM');
  }

  logTail(path: string, lines = 40): string {
    try {
      return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return `(no log at ${path})`;
    }
  }

  private async etcdHealthy(): Promise<void> {
    if (!this.etcd.running) throw new WaitingIsPointless(`etcd exited:\n${this.logTail(this.etcd.logPath)}`);
    const response = await fetch(`http://127.0.0.1:${this.etcdPort}/health`);
    if (!response.ok) throw new Error(`etcd /health answered ${response.status}`);
  }
}
