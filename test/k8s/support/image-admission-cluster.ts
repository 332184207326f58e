import { BouncerProcess, freePort, runBouncer } from '../../support/bouncer-process';
import { AdmissionVariant, BouncerSetup } from './bouncer-setup';
import { ApiServer, ControlPlane, KubectlOptions, KubectlResult } from './control-plane';
import { recordPid } from './local-process';
import {
  ADMISSION_REVIEW_VERSIONS,
  AdmissionReviewVersion,
  REVIEW_VERSION_LABEL,
  registerValidatingWebhooks,
  waitForValidatingWebhook,
} from './validating-webhook';

export interface BouncerOptions {
  /** `--policy FILE`; without it the built-in policy (deny `latest`) applies. */
  readonly policyFile?: string;
}

/** What the bouncer's `/readyz` says about its policy (see src/health/readiness.indicators.ts). */
export interface PolicyReadiness {
  readonly name: string;
  readonly source: string;
  readonly revision: string;
  readonly rules: readonly string[];
  readonly lastReloadRefused?: { readonly at: string; readonly message: string };
}

/**
 * The bouncer as a real process, started with the `serve` command setup's README gives (mutual TLS, with
 * `--client-ca`), kept on loopback, restartable on the same ports.
 */
export class Bouncer {
  private process?: BouncerProcess;

  constructor(
    private readonly runDir: string,
    private readonly setup: BouncerSetup,
    readonly port: number,
    private readonly healthPort: number,
  ) {}

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start({ policyFile }: BouncerOptions = {}): Promise<void> {
    const bouncer = runBouncer([
      ...this.setup.serveArgs,
      ...['--host', '127.0.0.1', '--health-port', String(this.healthPort)],
      ...(policyFile ? ['--policy', policyFile] : []),
    ]);
    this.process = bouncer;
    recordPid(this.runDir, 'kube-image-bouncer', bouncer.child.pid);
    await bouncer.waitFor('kube-image-bouncer serving', 30_000);
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    this.process = undefined;
  }

  async restart(options: BouncerOptions = {}): Promise<void> {
    await this.stop();
    await this.start(options);
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /** The audit line of every review this process answered (src/audit/review-audit.service.ts). */
  reviews(): { endpoint: string; decision: string; images: string[] }[] {
    return (this.process?.output() ?? '')
      .split('\n')
      .filter((line) => line.includes('"context":"ReviewAudit"'))
      .map((line) => JSON.parse(line) as { endpoint: string; decision: string; images: string[] });
  }

  /** The policy in force, from `/readyz` on the plain-HTTP health port. */
  async policy(): Promise<PolicyReadiness> {
    const response = await fetch(`http://127.0.0.1:${this.healthPort}/readyz`);
    const body = (await response.json()) as { info?: { policy?: PolicyReadiness } };
    if (!body.info?.policy) throw new Error(`/readyz answered ${response.status}: ${JSON.stringify(body)}`);
    return body.info.policy;
  }
}

/**
 * One control plane for every scenario: etcd, a kube-apiserver with ImagePolicyWebhook and
 * ValidatingAdmissionWebhook both pointing at one bouncer through the files `kube-image-bouncer setup` wrote,
 * the controller-manager, and setup's ValidatingWebhookConfiguration registered for namespaces labelled with an
 * AdmissionReview version.
 */
export class ImageAdmissionCluster {
  private constructor(
    readonly plane: ControlPlane,
    readonly setup: BouncerSetup,
    readonly bouncer: Bouncer,
  ) {}

  static async start(): Promise<ImageAdmissionCluster> {
    const plane = await ControlPlane.start();
    let bouncer: Bouncer | undefined;
    try {
      const port = await freePort();
      const setup = await BouncerSetup.generate(plane.dir, port);
      bouncer = new Bouncer(plane.dir, setup, port, await freePort());
      await bouncer.start();
      const cluster = new ImageAdmissionCluster(plane, setup, bouncer);
      await plane.startApiServer('kube-apiserver', setup.admission('kube-apiserver'));
      await plane.startControllerManager();
      await registerValidatingWebhooks(plane.apiServer, setup.files.validatingWebhookConfiguration);
      await cluster.waitForValidatingWebhooks(plane.apiServer);
      return cluster;
    } catch (error) {
      await bouncer?.stop();
      await plane.stop();
      throw error;
    }
  }

  get apiServer(): ApiServer {
    return this.plane.apiServer;
  }

  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult> {
    return this.plane.kubectl(args, options);
  }

  /**
   * Another kube-apiserver on the same etcd, so it sees the same namespaces, pods and webhook configuration, but
   * with its own departure from setup's admission configuration. Stop it with `stopApiServer`.
   */
  async startApiServer(name: string, variant: AdmissionVariant): Promise<ApiServer> {
    const apiServer = await this.plane.startApiServer(name, this.setup.admission(name, variant));
    await this.waitForValidatingWebhooks(apiServer);
    return apiServer;
  }

  stopApiServer(apiServer: ApiServer): Promise<void> {
    return this.plane.stopApiServer(apiServer);
  }

  /**
   * Creates a namespace and waits for its `default` ServiceAccount. With `reviewVersion`, the validating webhook
   * for that AdmissionReview version applies in it; without, only ImagePolicyWebhook does.
   */
  async namespace(name: string, reviewVersion?: AdmissionReviewVersion): Promise<string> {
    const labels = reviewVersion ? { [REVIEW_VERSION_LABEL]: reviewVersion } : {};
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    const created = await this.kubectl(['create', '-f', '-'], { stdin: manifest });
    if (created.code !== 0) throw new Error(`could not create namespace ${name}: ${created.stderr}`);
    await this.plane.waitForServiceAccount(name);
    return name;
  }

  async stop(): Promise<void> {
    await this.bouncer.stop();
    await this.plane.stop();
  }

  private async waitForValidatingWebhooks(apiServer: ApiServer): Promise<void> {
    for (const version of ADMISSION_REVIEW_VERSIONS) {
      const namespace = `webhook-probe-${version}`;
      if (apiServer === this.plane.apiServer) await this.namespace(namespace, version);
      await waitForValidatingWebhook(apiServer, version, namespace);
    }
  }
}
