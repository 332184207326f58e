import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiServer, KubectlResult } from './support/control-plane';
import { eventually } from './support/eventually';
import { ImageAdmissionCluster } from './support/image-admission-cluster';
import { ADMISSION_REVIEW_VERSIONS, WEBHOOK_NAME } from './support/validating-webhook';

const K8S_VERSION = readFileSync(join(__dirname, 'k8s-version'), 'utf8').trim();

/** The seed README's example, verbatim but for the namespace. */
const README_REPLICATION_CONTROLLERS = `
apiVersion: v1
kind: ReplicationController
metadata: {name: nginx-versioned}
spec:
  replicas: 1
  selector: {app: nginx-versioned}
  template:
    metadata: {labels: {app: nginx-versioned}}
    spec: {containers: [{name: nginx, image: "nginx:1.13.8"}]}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: nginx-latest}
spec:
  replicas: 1
  selector: {app: nginx-latest}
  template:
    metadata: {labels: {app: nginx-latest}}
    spec: {containers: [{name: nginx, image: nginx}]}
`;

const deployment = (image: string): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "${image}"}]}
`;

const cronJob = (image: string): string => `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly-report}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: "${image}"}]
`;

/** What kubectl prints when the apiserver refuses: exit status 1 and one line on stderr. */
const refused = (stderr: string): Pick<KubectlResult, 'code' | 'stderr'> => ({
  code: 1,
  stderr: `${stderr}\n`,
});
const outcome = ({ code, stderr }: KubectlResult): Pick<KubectlResult, 'code' | 'stderr'> => ({
  code,
  stderr,
});

/** How the apiserver shows the bouncer's ImageReview denial under the default policy (rule no-latest). */
const imagePolicyDenial = (images: string): string =>
  `image policy webhook backend denied one or more images: Images using latest tag are not allowed: ${images} (rule no-latest)`;
/** The bouncer's AdmissionReview denial message for one container under the default policy. */
const containerDenial = (container: string, list: string, image: string): string =>
  `container "${container}" (${list}): image ${image} uses the latest tag (rule no-latest)`;
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe(`kube-image-bouncer on a real kube-apiserver ${K8S_VERSION}`, () => {
  let cluster: ImageAdmissionCluster;
  const kubectl = (args: readonly string[], stdin?: string): Promise<KubectlResult> =>
    cluster.kubectl(args, { stdin });

  beforeAll(async () => {
    cluster = await ImageAdmissionCluster.start();
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  describe('1. ImagePolicyWebhook: the seed README', () => {
    // No admission-review-version label: the validating webhook leaves this namespace alone, so the
    // ReplicationControllers themselves are created and only their pods meet ImagePolicyWebhook.
    const ns = 'seed-readme';

    it('gives nginx-versioned its pod and nginx-latest none, with a FailedCreate event naming nginx', async () => {
      await cluster.namespace(ns);
      const created = await kubectl(['create', '-n', ns, '-f', '-'], README_REPLICATION_CONTROLLERS);
      expect(created).toEqual({
        code: 0,
        stdout: 'replicationcontroller/nginx-versioned created\nreplicationcontroller/nginx-latest created\n',
        stderr: '',
      });

      const describeLatest = await eventually('a FailedCreate event on rc/nginx-latest', async () => {
        const described = await kubectl(['describe', 'rc', 'nginx-latest', '-n', ns]);
        // An event line, not the ReplicaFailure condition, which can show FailedCreate before the event is recorded.
        expect(described.stdout).toMatch(/^\s+Warning\s+FailedCreate\s/m);
        return described.stdout;
      });
      expect(describeLatest).toMatch(
        new RegExp(
          String.raw`^\s+Warning\s+FailedCreate\s+.*\s+replication-controller\s+` +
            String.raw`Error creating: pods "nginx-latest-[a-z0-9]{5}" is forbidden: ` +
            `${escapeRegExp(imagePolicyDenial('nginx'))}$`,
          'm',
        ),
      );

      // `kubectl get rc`: NAME DESIRED CURRENT READY AGE. Pods stay Pending: there are no nodes.
      const table = await eventually('rc/nginx-versioned to have its replica', async () => {
        const rcs = await kubectl(['get', 'rc', '-n', ns, '--no-headers']);
        expect(rcs.stdout).toMatch(/^nginx-versioned\s+1\s+1\s+0\s/m);
        return rcs.stdout;
      });
      expect(table).toMatch(/^nginx-latest\s+1\s+0\s+0\s/m);
      const pods = await kubectl([
        'get',
        'pods',
        '-n',
        ns,
        '-o',
        'jsonpath={.items[*].spec.containers[*].image}',
      ]);
      expect(pods.stdout).toBe('nginx:1.13.8');
    });
  });

  describe('2. ImagePolicyWebhook: a bare pod', () => {
    const ns = 'bare-pods';
    beforeAll(() => cluster.namespace(ns));

    it('refuses nginx:latest at kubectl run with the full apiserver text', async () => {
      expect(outcome(await kubectl(['run', 'web', '--image=nginx:latest', '-n', ns]))).toEqual(
        refused(
          `Error from server (Forbidden): pods "web" is forbidden: ${imagePolicyDenial('nginx:latest')}`,
        ),
      );
      expect((await kubectl(['get', 'pod', 'web', '-n', ns])).stderr).toContain('pods "web" not found');
    });

    it('creates the pod with a pinned image', async () => {
      expect(await kubectl(['run', 'web', '--image=nginx:1.13.8', '-n', ns])).toEqual({
        code: 0,
        stdout: 'pod/web created\n',
        stderr: '',
      });
    });
  });

  describe('3. ImagePolicyWebhook: mutual TLS', () => {
    // A second kube-apiserver on the same etcd whose ImagePolicyWebhook kubeconfig has no client certificate;
    // the bouncer runs with --client-ca. The primary apiserver, with the certificate, is the control.
    const ns = 'mutual-tls';
    let withoutClientCertificate: ApiServer;

    beforeAll(async () => {
      await cluster.namespace(ns);
      withoutClientCertificate = await cluster.startApiServer('apiserver-without-client-certificate', {
        withoutClientCertificate: true,
      });
    }, 120_000);
    afterAll(async () => {
      if (withoutClientCertificate) await cluster.stopApiServer(withoutClientCertificate);
    }, 60_000);

    it('forbids every pod when the apiserver presents no client certificate (defaultAllow: false)', async () => {
      const url = `https://${cluster.bouncer.hostPort}/image_policy?timeout=30s`;
      for (const [name, image] of [
        ['pinned', 'nginx:1.13.8'],
        ['latest', 'nginx:latest'],
      ]) {
        const result = await withoutClientCertificate.kubectl(['run', name, `--image=${image}`, '-n', ns]);
        expect(outcome(result)).toEqual(
          refused(
            `Error from server (Forbidden): pods "${name}" is forbidden: Post "${url}": remote error: tls: certificate required`,
          ),
        );
      }
      expect((await kubectl(['get', 'pods', '-n', ns, '-o', 'name'])).stdout).toBe('');
    });

    it('admits the same pinned image through the apiserver that presents its certificate', async () => {
      expect(await kubectl(['run', 'with-certificate', '--image=nginx:1.13.8', '-n', ns])).toMatchObject({
        code: 0,
        stdout: 'pod/with-certificate created\n',
      });
    });
  });

  describe.each(ADMISSION_REVIEW_VERSIONS)(
    '4. ValidatingAdmissionWebhook with AdmissionReview %s',
    (version) => {
      const ns = `workloads-${version}`;
      const webhook = WEBHOOK_NAME[version];
      beforeAll(() => cluster.namespace(ns, version));

      it('refuses a Deployment and a CronJob using the latest tag at kubectl apply', async () => {
        expect(outcome(await kubectl(['apply', '-n', ns, '-f', '-'], deployment('nginx')))).toEqual(
          refused(
            `Error from server (Forbidden): error when creating "STDIN": admission webhook "${webhook}" denied the request: ` +
              containerDenial('web', 'containers', 'nginx'),
          ),
        );
        expect(outcome(await kubectl(['apply', '-n', ns, '-f', '-'], cronJob('busybox')))).toEqual(
          refused(
            `Error from server (Forbidden): error when creating "STDIN": admission webhook "${webhook}" denied the request: ` +
              containerDenial('report', 'containers', 'busybox'),
          ),
        );
        expect((await kubectl(['get', 'deployments,cronjobs', '-n', ns, '-o', 'name'])).stdout).toBe('');
      });

      it('creates them with pinned images', async () => {
        expect(await kubectl(['apply', '-n', ns, '-f', '-'], deployment('nginx:1.13.8'))).toEqual({
          code: 0,
          stdout: 'deployment.apps/web created\n',
          stderr: '',
        });
        expect(await kubectl(['apply', '-n', ns, '-f', '-'], cronJob('busybox:1.36'))).toEqual({
          code: 0,
          stdout: 'cronjob.batch/nightly-report created\n',
          stderr: '',
        });
      });
    },
  );

  describe('5. kubectl debug: ephemeral containers', () => {
    // The namespace has the v1 validating webhook as well. ImagePolicyWebhook runs first in the admission chain,
    // so the validating webhook's own refusal is shown through a kube-apiserver with ImagePolicyWebhook off.
    const ns = 'debugging';
    const debug = (image: string): string[] =>
      `debug target --image=${image} --container=debugger --attach=false -n ${ns}`.split(' ');
    const EPHEMERAL_CONTAINERS = 'jsonpath={range .spec.ephemeralContainers[*]}{.name}={.image};{end}';
    const ephemeralContainers = async (): Promise<string> =>
      (await kubectl(['get', 'pod', 'target', '-n', ns, '-o', EPHEMERAL_CONTAINERS])).stdout;

    beforeAll(async () => {
      await cluster.namespace(ns, 'v1');
      expect(await kubectl(['run', 'target', '--image=nginx:1.13.8', '-n', ns])).toEqual({
        code: 0,
        stdout: 'pod/target created\n',
        stderr: '',
      });
    }, 60_000);

    it('is refused by ImagePolicyWebhook (pods/ephemeralcontainers) for busybox', async () => {
      expect(outcome(await kubectl(debug('busybox')))).toEqual(
        refused(`Error from server (Forbidden): pods "target" is forbidden: ${imagePolicyDenial('busybox')}`),
      );
      expect(await ephemeralContainers()).toBe('');
    });

    it('is refused by the validating webhook (pods/ephemeralcontainers) for busybox', async () => {
      const validatingOnly = await cluster.startApiServer('apiserver-without-image-policy-webhook', {
        withoutImagePolicyWebhook: true,
      });
      try {
        expect(outcome(await validatingOnly.kubectl(debug('busybox')))).toEqual(
          refused(
            `Error from server (Forbidden): admission webhook "${WEBHOOK_NAME.v1}" denied the request: ` +
              containerDenial('debugger', 'ephemeralContainers', 'busybox'),
          ),
        );
      } finally {
        await cluster.stopApiServer(validatingOnly);
      }
      expect(await ephemeralContainers()).toBe('');
    });

    it('adds busybox:1.36 through both', async () => {
      expect(await kubectl(debug('busybox:1.36'))).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(await ephemeralContainers()).toBe('debugger=busybox:1.36;');
    });
  });

  describe('6. failing closed', () => {
    // Both plugins apply here. Errors are never cached by ImagePolicyWebhook, so the pod refused while the
    // bouncer is down is the very pod admitted after it is back.
    const ns = 'fail-closed';
    beforeAll(() => cluster.namespace(ns, 'v1'));
    afterAll(async () => {
      if (!cluster.bouncer.running) await cluster.bouncer.start();
    });

    it('refuses pods and Deployments while the bouncer is down, and admits them once it is back', async () => {
      const bouncer = `127.0.0.1:${cluster.bouncer.port}`;
      const dialError = `dial tcp ${bouncer}: connect: connection refused`;
      await cluster.bouncer.stop();

      expect(outcome(await kubectl(['run', 'web', '--image=nginx:1.13.8', '-n', ns]))).toEqual(
        refused(
          `Error from server (Forbidden): pods "web" is forbidden: ` +
            `Post "https://${bouncer}/image_policy?timeout=30s": ${dialError}`,
        ),
      );
      expect(outcome(await kubectl(['apply', '-n', ns, '-f', '-'], deployment('nginx:1.13.8')))).toEqual(
        refused(
          `Error from server (InternalError): error when creating "STDIN": Internal error occurred: ` +
            `failed calling webhook "${WEBHOOK_NAME.v1}": failed to call webhook: ` +
            `Post "https://${bouncer}/validate?timeout=5s": ${dialError}`,
        ),
      );

      await cluster.bouncer.start();
      expect(await kubectl(['run', 'web', '--image=nginx:1.13.8', '-n', ns])).toMatchObject({
        code: 0,
        stdout: 'pod/web created\n',
      });
      expect(await kubectl(['apply', '-n', ns, '-f', '-'], deployment('nginx:1.13.8'))).toMatchObject({
        code: 0,
        stdout: 'deployment.apps/web created\n',
      });
    });
  });
});
