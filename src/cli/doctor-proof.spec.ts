import { ApiResponse, KubernetesApiClient } from '../kubernetes-api';
import { withPolicyEngine } from '../policy/policy-engine';
import { CANARY_LABEL, PathProof, pickCanaries, proveEnforcement } from './doctor-proof';
import { doctorJunit, doctorSarif, doctorTable } from './doctor-report';
import { readWebhooks } from './doctor-webhooks';

const DENIAL = (message: string): ApiResponse => ({ status: 403, body: { kind: 'Status', message } });
const KIT_WEBHOOK = readWebhooks('validating', [
  {
    metadata: { name: 'kube-image-bouncer' },
    webhooks: [
      {
        name: 'images.kube-image-bouncer.io',
        clientConfig: { url: 'https://10.0.0.5:1323/validate' },
        rules: [
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] },
          {
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['deployments'],
          },
        ],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
      },
    ],
  },
]);

/** The API as a function of what is sent: each canary's request is recorded. */
function fakeApi(answer: (method: string, path: string, body: unknown) => ApiResponse) {
  const sent: { method: string; path: string; body: unknown }[] = [];
  const client = {
    createDryRun: (path: string, body: unknown) => {
      sent.push({ method: 'POST', path, body });
      return Promise.resolve(answer('POST', path, body));
    },
    patchDryRun: (path: string, body: unknown) => {
      sent.push({ method: 'PATCH', path, body });
      return Promise.resolve(answer('PATCH', path, body));
    },
  } as unknown as KubernetesApiClient;
  return { client, sent };
}

const byPath = (proofs: readonly PathProof[]) =>
  Object.fromEntries(proofs.map((p) => [p.path, [p.result, p.detail]]));

describe(proveEnforcement.name, () => {
  const images = { denied: 'registry.k8s.io/pause:latest', allowed: 'registry.k8s.io/pause:3.10' };
  const context = { namespace: 'team', namespaceLabels: {}, webhooks: KIT_WEBHOOK, ephemeralTarget: 'web' };

  it('picks from the built-in policy a latest tag to refuse and a versioned tag to allow', async () => {
    expect(await withPolicyEngine(undefined, (engine) => pickCanaries(engine, 'team', {}))).toEqual(images);
    await expect(
      withPolicyEngine(undefined, (engine) => pickCanaries(engine, 'team', { image: 'nginx:1.25' })),
    ).rejects.toThrow(
      '--image nginx:1.25: the policy allows it in namespace team, so refusing it proves nothing',
    );
  });

  it('sends every canary as a labelled dry run with a generated name, and reads who refused each', async () => {
    const { client, sent } = fakeApi((method, path, body) => {
      const image = JSON.stringify(body).includes('pause:latest');
      if (path.endsWith('/cronjobs')) return { status: 201, body: {} };
      if (path.endsWith('/ephemeralcontainers'))
        return DENIAL('pods "web" is forbidden: User "ci" cannot patch resource "pods/ephemeralcontainers"');
      return image
        ? DENIAL(
            'admission webhook "images.kube-image-bouncer.io" denied the request: container "canary" (containers): image registry.k8s.io/pause:latest uses the latest tag (rule no-latest)',
          )
        : { status: 201, body: {} };
    });
    const proofs = await proveEnforcement(client, images, context);
    expect(byPath(proofs)).toEqual({
      Pod: ['enforced', 'refused by webhook images.kube-image-bouncer.io'],
      Deployment: ['enforced', 'refused by webhook images.kube-image-bouncer.io'],
      CronJob: ['bypassed', 'no rule of images.kube-image-bouncer.io covers CREATE batch/cronjobs'],
      'ephemeral container': [
        'not checked',
        'pods "web" is forbidden: User "ci" cannot patch resource "pods/ephemeralcontainers"',
      ],
      'image volume': ['enforced', 'refused by webhook images.kube-image-bouncer.io'],
      'allowed Pod': ['admitted', 'the policy allows it and the API admitted it'],
    });
    expect(proofs.filter((p) => p.failed).map((p) => p.path)).toEqual(['CronJob']);
    for (const { body } of sent.filter((s) => s.method === 'POST'))
      expect(body).toMatchObject({
        metadata: {
          generateName: 'kube-image-bouncer-doctor-',
          namespace: 'team',
          labels: { [CANARY_LABEL]: 'true' },
        },
      });
    expect(sent.map((s) => `${s.method} ${s.path}`)).toEqual([
      'POST /api/v1/namespaces/team/pods',
      'POST /apis/apps/v1/namespaces/team/deployments',
      'POST /apis/batch/v1/namespaces/team/cronjobs',
      'PATCH /api/v1/namespaces/team/pods/web/ephemeralcontainers',
      'POST /api/v1/namespaces/team/pods',
      'POST /api/v1/namespaces/team/pods',
    ]);
  });

  it('catches a webhook that refuses everything, and one that fails open or closed', async () => {
    const failed =
      'Internal error occurred: failed calling webhook "images.kube-image-bouncer.io": failed to call webhook: Post "https://10.0.0.5:1323/validate?timeout=5s": dial tcp 10.0.0.5:1323: connect: connection refused';
    const closed = await proveEnforcement(
      fakeApi(() => ({ status: 500, body: { message: failed } })).client,
      images,
      context,
    );
    expect(byPath(closed).Pod).toEqual([
      'enforced',
      `refused by webhook images.kube-image-bouncer.io failing closed (the bouncer did not answer): ${failed}`,
    ]);
    expect(byPath(closed)['allowed Pod']).toEqual([
      'refused',
      `refused an image the policy allows: ${failed}`,
    ]);
    const ignoring = readWebhooks('validating', [
      {
        metadata: { name: 'k' },
        webhooks: [{ ...KIT_WEBHOOK[0], rules: KIT_WEBHOOK[0].rules, failurePolicy: 'Ignore' }],
      },
    ]);
    const open = await proveEnforcement(fakeApi(() => ({ status: 201, body: {} })).client, images, {
      ...context,
      webhooks: ignoring,
    });
    expect(byPath(open).Pod).toEqual([
      'bypassed',
      'failurePolicy Ignore on images.kube-image-bouncer.io: the call failed or the bouncer admitted it, and the API let it through',
    ]);
    const none = await proveEnforcement(fakeApi(() => ({ status: 201, body: {} })).client, images, {
      ...context,
      webhooks: [],
    });
    expect(byPath(none).Deployment).toEqual([
      'bypassed',
      'no webhook configuration in the API points at the bouncer',
    ]);
  });

  it("proves nothing of the bouncer from another webhook's refusal, or another webhook failing closed", async () => {
    const kyverno =
      'admission webhook "validate.kyverno.svc-fail" denied the request: disallow-latest-tag: an image tag is required';
    const broken =
      'Internal error occurred: failed calling webhook "vault.hashicorp.com": failed to call webhook: connection refused';
    const denied = (message: string) => (_m: string, _p: string, body: unknown) =>
      JSON.stringify(body).includes(images.denied) ? DENIAL(message) : { status: 201, body: {} };

    const byKyverno = await proveEnforcement(fakeApi(denied(kyverno)).client, images, context);
    const byBroken = await proveEnforcement(fakeApi(denied(broken)).client, images, context);

    for (const proofs of [byKyverno, byBroken])
      for (const path of ['Pod', 'Deployment', 'CronJob', 'ephemeral container', 'image volume'])
        expect(byPath(proofs)[path]).toEqual(['not checked', expect.stringContaining('not the bouncer')]);
  });

  it('prints each format from the same report', async () => {
    const { client } = fakeApi(() => ({ status: 201, body: {} }));
    const proofs = await proveEnforcement(client, images, { ...context, webhooks: [] });
    const report = await withPolicyEngine(undefined, (engine) => ({
      policy: engine.policy,
      cluster: { context: 'prod', server: 'https://10.0.0.1:6443' },
      namespace: 'team',
      webhooks: [],
      findings: [],
      proofs,
    }));
    expect(doctorTable(report)).toContain(
      'Pod                  CREATE pods                      registry.k8s.io/pause:latest  bypassed  no webhook configuration in the API points at the bouncer',
    );
    expect(doctorTable(report).trimEnd().split('\n').at(-1)).toBe(
      '0 enforced, 5 bypassed, 0 not checked; the allowed canary was admitted; 0 warnings about the registration',
    );
    expect(doctorJunit(report)).toContain(
      '<testsuites name="kube-image-bouncer doctor" tests="6" failures="5" errors="0" skipped="0">',
    );
    expect(doctorSarif(report).runs[0].results?.map((r) => r.ruleId)).toEqual(Array(5).fill('bypassed'));
  });

  it('prints no terminal control sequence an apiserver or another webhook put in its answer', async () => {
    const hostile =
      'admission webhook "evil.example" denied the request: \u001b]0;owned\u0007\u001b[2J\u009b31m';
    const { client } = fakeApi(() => DENIAL(hostile));
    const proofs = await proveEnforcement(client, images, context);
    const report = await withPolicyEngine(undefined, (engine) => ({
      policy: engine.policy,
      cluster: { context: 'prod\u001b[8m', server: 'https://10.0.0.1:6443' },
      namespace: 'team',
      webhooks: KIT_WEBHOOK,
      findings: [{ webhook: 'w', configuration: 'c', check: 'access', message: hostile }],
      proofs,
    }));

    const table = doctorTable(report);

    expect(table).toContain('evil.example');
    // eslint-disable-next-line no-control-regex
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});
