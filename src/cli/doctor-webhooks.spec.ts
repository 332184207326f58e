import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_POLICY_SOURCE, DEFAULT_POLICY_YAML } from '../policy/policy-file/default-policy';
import { ImagePolicyCompiler } from '../policy/policy-file/image-policy.compiler';
import { IMAGE_RULE_TYPES } from '../policy/rules';
import {
  RegisteredWebhook,
  lintWebhooks,
  pointsAtBouncer,
  readWebhooks,
  ruleCovers,
  selects,
  whyNotCalled,
} from './doctor-webhooks';

const KIT = join(__dirname, '..', '..', 'deploy', 'vm', 'apiserver');
const kit = (file: string, kind: 'validating' | 'mutating') =>
  readWebhooks(kind, [parse(readFileSync(join(KIT, file), 'utf8'))]);
const POD = { group: '', resource: 'pods', operation: 'CREATE' } as const;
const EPHEMERAL = { group: '', resource: 'pods/ephemeralcontainers', operation: 'UPDATE' } as const;

describe('doctor-webhooks', () => {
  const policy = new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule())).compile(
    DEFAULT_POLICY_YAML,
    DEFAULT_POLICY_SOURCE,
  );
  const namespaces = [
    { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } },
    { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  ];

  it("finds no fault in deploy/vm's validating and mutating webhooks but kube-system's exemption", () => {
    const webhooks = [
      ...kit('validating-webhook-configuration.yaml', 'validating'),
      ...kit('mutating-webhook-configuration.yaml', 'mutating'),
      ...kit('image-volume-webhook-configuration.yaml', 'validating'),
    ];
    expect(lintWebhooks(webhooks, policy, namespaces).map((f) => `${f.webhook} ${f.check}`)).toEqual([
      'images.kube-image-bouncer.io namespaceSelector',
      'digests.kube-image-bouncer.io namespaceSelector',
    ]);
  });

  it('names each setting that lets requests through', () => {
    const [webhook] = kit('validating-webhook-configuration.yaml', 'validating');
    const faulty: RegisteredWebhook = {
      ...webhook,
      failurePolicy: 'Ignore',
      timeoutSeconds: 3,
      sideEffects: 'Some',
      admissionReviewVersions: ['v2'],
      matchConditions: [{ name: 'not-ci', expression: "request.userInfo.username != 'ci'" }],
      rules: webhook.rules.map((rule) => ({
        ...rule,
        resources: rule.resources.filter((r) => r !== 'pods/ephemeralcontainers'),
      })),
    };
    expect(lintWebhooks([faulty], policy, namespaces).map((f) => f.message)).toEqual([
      'failurePolicy Ignore: when the bouncer cannot answer, the API admits the request',
      "timeoutSeconds 3 is not above the policy's registryTimeoutSeconds (3): the apiserver gives up before the bouncer's registry budget is spent",
      'sideEffects Some: dry runs are refused without calling the bouncer; use None',
      'admissionReviewVersions [v2] names neither v1 nor v1beta1, which the bouncer speaks',
      'matchConditions not-ci may keep requests from the bouncer',
      'the namespaceSelector exempts 1 namespace the policy does not: kube-system',
      'not sent CREATE pods/ephemeralcontainers, UPDATE pods/ephemeralcontainers, which the bouncer judges',
    ]);
  });

  it('says why a webhook is not called: a missing rule, a namespace or an object selector', () => {
    const [webhook] = kit('validating-webhook-configuration.yaml', 'validating');
    const labels = (name: string) => ({ 'kubernetes.io/metadata.name': name });
    expect(whyNotCalled(webhook, POD, 'team', labels('team'), {})).toBeUndefined();
    expect(whyNotCalled(webhook, POD, 'kube-system', labels('kube-system'), {})).toBe(
      'the namespaceSelector of images.kube-image-bouncer.io exempts namespace kube-system',
    );
    const noEphemeral = { ...webhook, rules: webhook.rules.map((r) => ({ ...r, resources: ['pods'] })) };
    expect(whyNotCalled(noEphemeral, EPHEMERAL, 'team', labels('team'), {})).toBe(
      'no rule of images.kube-image-bouncer.io covers UPDATE pods/ephemeralcontainers',
    );
    const optOut = {
      ...webhook,
      objectSelector: {
        matchLabels: {},
        matchExpressions: [{ key: 'skip', operator: 'DoesNotExist', values: [] }],
      },
    };
    expect(whyNotCalled(optOut, POD, 'team', labels('team'), { skip: 'yes' })).toBe(
      'the objectSelector of images.kube-image-bouncer.io exempts the canary',
    );
  });

  it('reads rule wildcards as the API does', () => {
    const rule = (resources: string[]) => ({
      apiGroups: ['*'],
      apiVersions: ['*'],
      operations: ['*'],
      resources,
    });
    expect(ruleCovers(rule(['*']), POD)).toBe(true);
    expect(ruleCovers(rule(['*']), EPHEMERAL)).toBe(false);
    expect(ruleCovers(rule(['*/*']), EPHEMERAL)).toBe(true);
    expect(ruleCovers(rule(['pods/*']), EPHEMERAL)).toBe(true);
    expect(ruleCovers(rule(['pods']), EPHEMERAL)).toBe(false);
    expect(ruleCovers({ ...rule(['pods']), operations: ['UPDATE'] }, POD)).toBe(false);
  });

  it('evaluates label selectors, and an unknown operator selects nothing', () => {
    const selector = (operator: string, values: string[] = []) => ({
      matchLabels: {},
      matchExpressions: [{ key: 'k', operator, values }],
    });
    expect(selects(selector('In', ['a']), { k: 'a' })).toBe(true);
    expect(selects(selector('In', ['a']), {})).toBe(false);
    expect(selects(selector('NotIn', ['a']), {})).toBe(true);
    expect(selects(selector('Exists'), { k: '' })).toBe(true);
    expect(selects(selector('DoesNotExist'), { k: '' })).toBe(false);
    expect(selects(selector('Gt', ['1']), { k: '2' })).toBe(false);
    expect(selects({ matchLabels: { a: 'b' }, matchExpressions: [] }, { a: 'c' })).toBe(false);
  });

  it("knows the bouncer's webhooks by name, label, Service or URL, and reads fields of the wrong shape as absent", () => {
    const [ours] = readWebhooks('validating', [
      {
        metadata: { name: 'x' },
        webhooks: [
          {
            name: 'other.example.com',
            clientConfig: { service: { namespace: 'kib', name: 'bouncer' } },
            rules: 'no',
            failurePolicy: 7,
          },
        ],
      },
    ]);
    expect(ours).toMatchObject({
      rules: [],
      failurePolicy: 'Fail',
      timeoutSeconds: 10,
      target: 'service kib/bouncer:443',
    });
    expect(pointsAtBouncer(ours, {})).toBe(false);
    expect(pointsAtBouncer(ours, { service: 'kib/bouncer' })).toBe(true);
    expect(
      pointsAtBouncer(
        { ...ours, target: 'https://10.0.0.5:1323/validate' },
        { url: 'https://10.0.0.5:1323' },
      ),
    ).toBe(true);
    expect(pointsAtBouncer({ ...ours, labels: { 'app.kubernetes.io/name': 'kube-image-bouncer' } }, {})).toBe(
      true,
    );
  });
});
