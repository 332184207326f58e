import { BouncerProcess, freePort, runBouncer } from '../../support/bouncer-process';
import {
  AdmissionSettings,
  WebhookPki,
  writeAdmissionConfiguration,
  writeWebhookPki,
} from './admission-configuration';
import { ApiServer, ControlPlane, KubectlOptions, KubectlResult } from './control-plane';
import { recordPid } from './local-process';
import {
  ADMISSION_REVIEW_VERSIONS,
  AdmissionReviewVersion,
  REVIEW_VERSION_LABEL,
  registerValidatingWebhooks,
  waitForValidatingWebhook,
} from './validating-webhook';

/**
 * ImagePolicyWebhook cache lifetimes, in seconds. Short, so that a scenario can wait out a cached answer;
 * the scenarios themselves avoid depending on the cache by never repeating a spec they need judged afresh.
 */
export const ALLOW_TTL = 2;
export const DENY_TTL = 2;

/** The bouncer as a real process, with mutual TLS required (`--client-ca`), restartable on the same ports. */
export class Bouncer {
  private process?: BouncerProcess;

  constructor(
    private readonly runDir: string,
    private readonly pki: WebhookPki,
    readonly port: number,
    private readonly healthPort: number,
  ) {}

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const { server, caFile } = this.pki;
    const bouncer = runBouncer([
      'serve',
      ...['--cert', server.certificate, '--key', server.key, '--client-ca', caFile],
      ...['--port', String(this.port), '--host', '127.0.0.1', '--health-port', String(this.healthPort)],
    ]);
    this.process = bouncer;
    recordPid(this.runDir, 'kube-image-bouncer', bouncer.child.pid);
    await bouncer.waitFor('kube-image-bouncer serving', 30_000);
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    this.process = undefined;
  }

  get running(): boolean {
    return this.process !== undefined;
  }
}

/**
 * One control plane for every scenario: etcd, a kube-apiserver with ImagePolicyWebhook and
 * ValidatingAdmissionWebhook both pointing at one bouncer (the README's setup), the controller-manager, and the
 * shipped ValidatingWebhookConfiguration registered for namespaces labelled with an AdmissionReview version.
 */
export class ImageAdmissionCluster {
  private constructor(
    readonly plane: ControlPlane,
    readonly pki: WebhookPki,
    readonly bouncer: Bouncer,
  ) {}

  static async start(): Promise<ImageAdmissionCluster> {
    const plane = await ControlPlane.start();
    let bouncer: Bouncer | undefined;
    try {
      const pki = await writeWebhookPki(plane.dir);
      bouncer = new Bouncer(plane.dir, pki, await freePort(), await freePort());
      await bouncer.start();
      const cluster = new ImageAdmissionCluster(plane, pki, bouncer);
      const admission = writeAdmissionConfiguration(plane.dir, 'kube-apiserver', cluster.readmeAdmission());
      await plane.startApiServer('kube-apiserver', admission);
      await plane.startControllerManager();
      await registerValidatingWebhooks(plane.apiServer, {
        url: `https://${bouncer.hostPort}/validate`,
        caPem: pki.caPem,
      });
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
   * The README's admission configuration: both plugins, the apiserver's client certificate for each, fail
   * closed (`defaultAllow: false` here, `failurePolicy: Fail` in the ValidatingWebhookConfiguration).
   */
  readmeAdmission(): AdmissionSettings {
    return {
      imagePolicy: {
        server: `https://${this.bouncer.hostPort}/image_policy`,
        caFile: this.pki.caFile,
        clientCertificate: this.pki.apiserverClient,
        allowTTL: ALLOW_TTL,
        denyTTL: DENY_TTL,
        retryBackoff: 500,
        defaultAllow: false,
      },
      validatingWebhookClient: { hostPort: this.bouncer.hostPort, certificate: this.pki.apiserverClient },
    };
  }

  /**
   * Another kube-apiserver on the same etcd, so it sees the same namespaces, pods and webhook configuration, but
   * with its own admission configuration: `customize(readmeAdmission())`. Stop it with `stopApiServer`.
   */
  async startApiServer(
    name: string,
    customize: (readme: AdmissionSettings) => AdmissionSettings,
  ): Promise<ApiServer> {
    const admission = writeAdmissionConfiguration(this.plane.dir, name, customize(this.readmeAdmission()));
    const apiServer = await this.plane.startApiServer(name, admission);
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
