import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BouncerProcess, freePort, runBouncer } from './support/bouncer-process';
import { runCli } from './support/cli-run';
import { TestPki, createTestPki } from './support/test-pki';

const MANIFESTS = 'test/fixtures/manifests';

interface AdmissionReviewBody {
  apiVersion: string;
  kind: string;
  request: { uid: string; kind: object; resource: object; namespace: string; name: string; object: unknown };
}

/** The JSON documents of a stream of pretty-printed ones, as review prints them. */
const documents = (stdout: string): unknown[] =>
  stdout
    .split(/\n(?=\{)/)
    .filter((part) => part.trim() !== '')
    .map((part) => JSON.parse(part) as unknown);

describe('kube-image-bouncer review', () => {
  describe('prints what the apiserver would send', () => {
    it('an AdmissionReview of a Pod running the images, with a uid that is the same every run', () => {
      const run = runCli(['review', 'nginx:1.25', 'registry.example.com/shop/app:1.4', '-n', 'shop']);
      expect(run).toMatchObject({ status: 0, stderr: '' });
      const [review] = documents(run.stdout) as AdmissionReviewBody[];
      expect(review).toEqual({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
          kind: { group: '', version: 'v1', kind: 'Pod' },
          resource: { group: '', version: 'v1', resource: 'pods' },
          requestKind: { group: '', version: 'v1', kind: 'Pod' },
          requestResource: { group: '', version: 'v1', resource: 'pods' },
          name: 'review',
          namespace: 'shop',
          operation: 'CREATE',
          userInfo: { username: 'kube-image-bouncer-review', groups: ['system:authenticated'] },
          object: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'review', namespace: 'shop' },
            spec: {
              containers: [
                { name: 'nginx', image: 'nginx:1.25' },
                { name: 'app', image: 'registry.example.com/shop/app:1.4' },
              ],
            },
          },
          oldObject: null,
          dryRun: false,
          options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
        },
      });
      expect(runCli(['review', 'nginx:1.25', 'registry.example.com/shop/app:1.4', '-n', 'shop']).stdout).toBe(
        run.stdout,
      );
    });

    it('one review per object of a manifest with a pod spec, naming on stderr the objects it leaves out', () => {
      const run = runCli([
        'review',
        '-f',
        `${MANIFESTS}/app`,
        '--admission-review-version',
        'admission.k8s.io/v1beta1',
      ]);
      expect(run.status).toBe(0);
      const reviews = documents(run.stdout) as AdmissionReviewBody[];
      const v1beta1 = 'admission.k8s.io/v1beta1';
      expect(
        reviews.map(({ apiVersion, request }) => [apiVersion, request.kind, request.namespace, request.name]),
      ).toEqual([
        [v1beta1, { group: 'apps', version: 'v1', kind: 'StatefulSet' }, 'shop', 'db'],
        [v1beta1, { group: 'batch', version: 'v1', kind: 'CronJob' }, 'reporting', 'nightly-report'],
        [v1beta1, { group: '', version: 'v1', kind: 'Pod' }, 'default', 'cache'],
        [v1beta1, { group: '', version: 'v1', kind: 'ReplicationController' }, 'default', 'nginx-versioned'],
        [v1beta1, { group: 'apps', version: 'v1', kind: 'Deployment' }, 'shop', 'storefront'],
      ]);
      expect(new Set(reviews.map(({ request }) => request.uid)).size).toBe(reviews.length);
      const leftOut =
        'kube-image-bouncer: not reviewed, no pod spec (the webhook allows it unread): test/fixtures/manifests/app';
      expect(run.stderr).toBe(
        [
          `${leftOut}/list.yaml:16 Service/cache`,
          `${leftOut}/multi-doc.yaml:2 Namespace/shop`,
          `${leftOut}/multi-doc.yaml:35 Service/storefront`,
          `${leftOut}/multi-doc.yaml:46 ConfigMap/storefront-config`,
          '',
        ].join('\n'),
      );
    });

    it("an ImageReview of a manifest's pod: containers, then initContainers, in the object's namespace", () => {
      const run = runCli(['review', '-f', `${MANIFESTS}/app/cronjob.yaml`, '--kind', 'ImageReview']);
      expect(documents(run.stdout)).toEqual([
        {
          apiVersion: 'imagepolicy.k8s.io/v1alpha1',
          kind: 'ImageReview',
          spec: {
            containers: [
              {
                image:
                  'registry.example.com/tools/report@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
              },
              { image: 'registry.example.com/tools/migrate:latest' },
            ],
            namespace: 'reporting',
          },
        },
      ]);
    });

    it('refuses to review nothing, and what is not a URL', () => {
      expect(runCli(['review'])).toEqual({
        status: 2,
        stdout: '',
        stderr: 'kube-image-bouncer: review needs IMAGE... or -f FILE, DIRECTORY or - (stdin)\n',
      });
      expect(
        runCli(['review', '-f', `${MANIFESTS}/app/list.yaml`, '-f', '-'], {
          input: 'kind: ConfigMap\napiVersion: v1\n',
        }).status,
      ).toBe(0);
      expect(runCli(['review', 'nginx', '--send', 'http://127.0.0.1:1323/validate'])).toMatchObject({
        status: 2,
        stderr:
          'kube-image-bouncer: --send must be an https URL: reviews are served over TLS only (got "http://127.0.0.1:1323/validate")\n',
      });
    });
  });

  describe('--send, to a bouncer with mutual TLS', () => {
    let pki: TestPki;
    let bouncer: BouncerProcess;
    let url: string;
    let tls: string[];

    beforeAll(async () => {
      pki = await createTestPki();
      writeFileSync(join(pki.dir, 'client.crt'), pki.client.certificatePem);
      writeFileSync(join(pki.dir, 'client.key'), pki.client.privateKeyPem);
      const port = await freePort();
      bouncer = runBouncer([
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--workers',
        '1',
        '--cert',
        pki.paths.serverCert,
        '--key',
        pki.paths.serverKey,
        '--client-ca',
        pki.paths.caCert,
      ]);
      await bouncer.waitFor('kube-image-bouncer serving');
      url = `https://127.0.0.1:${port}`;
      tls = [
        '--cacert',
        pki.paths.caCert,
        '--cert',
        join(pki.dir, 'client.crt'),
        '--key',
        join(pki.dir, 'client.key'),
      ];
    });
    afterAll(() => bouncer.stop());

    it('prints the answer and says allowed or denied, exiting 1 on a denial', () => {
      const denied = runCli(['review', 'nginx', 'nginx:1.25', '--send', `${url}/validate`, ...tls]);
      expect(denied.status).toBe(1);
      expect(denied.stderr).toBe(
        'Pod/review in default: denied: container "nginx" (containers): image nginx uses the latest tag (rule no-latest)\n',
      );
      const [answer] = documents(denied.stdout) as { response: { uid: string; allowed: boolean } }[];
      const [sent] = documents(runCli(['review', 'nginx', 'nginx:1.25']).stdout) as AdmissionReviewBody[];
      expect(answer.response).toMatchObject({ uid: sent.request.uid, allowed: false });

      expect(
        runCli(['review', '-f', `${MANIFESTS}/app/clean.json`, '--send', `${url}/validate`, ...tls]),
      ).toMatchObject({
        status: 0,
        stderr: 'StatefulSet/db in shop: allowed\n',
      });
    });

    it('sends an ImageReview to /image_policy, as ImagePolicyWebhook would', () => {
      const run = runCli(['review', 'nginx', '--send', `${url}/image_policy`, ...tls]);
      expect(run.status).toBe(1);
      expect(documents(run.stdout)).toEqual([
        expect.objectContaining({ kind: 'ImageReview', status: expect.objectContaining({ allowed: false }) }),
      ]);
      expect(run.stderr).toBe(
        'Pod/review in default: denied: Images using latest tag are not allowed: nginx (rule no-latest)\n',
      );
    });

    it('exits 2 when the bouncer cannot be trusted or refuses the client', () => {
      expect(
        runCli(['review', 'nginx', '--send', `${url}/validate`, '--cacert', pki.paths.caCert]),
      ).toMatchObject({
        status: 2,
        stdout: '',
        stderr: expect.stringMatching(
          `^kube-image-bouncer: cannot send the review of Pod/review in default to ${url}/validate: `,
        ),
      });
      expect(
        runCli(['review', 'nginx', '--send', `${url}/validate`, '--cert', pki.paths.caCert]),
      ).toMatchObject({
        status: 2,
        stderr: 'kube-image-bouncer: --cert and --key must be given together\n',
      });
    });
  });
});
