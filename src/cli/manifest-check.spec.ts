import { Logger } from '@nestjs/common';
import { ImagePolicyCompiler } from '../policy/policy-file/image-policy.compiler';
import { IMAGE_RULE_TYPES } from '../policy/rules';
import { CommandInputError } from './command-input.error';
import { ManifestCheck, checkManifests } from './manifest-check';
import { readManifests } from './manifest-source';
import { engineFor } from '../testing/policy-engine';

const POLICY = `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
spec:
  breakGlass: true
  rules:
    - {name: no-latest, disallowedTags: [latest]}
    - {name: trusted, allowedRepositories: ["registry.example.com/**"], enforcement: warn}
    - {name: digests, requireDigest: true, enforcement: audit}
    - {name: pinned-in-prod, requireDigest: true, namespaces: [prod]}
`;

describe(checkManifests.name, () => {
  const policy = new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule())).compile(
    POLICY,
    'p.yaml',
  );
  const engine = engineFor(policy);
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  const check = (yaml: string, namespace = 'default'): Promise<ManifestCheck> =>
    checkManifests(engine, readManifests(['-'], () => yaml).documents, namespace);
  /** Each finding as `Kind/name@namespace container image rule:enforcement line`. */
  const findings = (result: ManifestCheck): string[] =>
    result.findings.map(
      (f) =>
        `${f.object.kind}/${f.object.name}@${f.object.namespace} ${f.place.list}[${f.place.index}] ${f.verdict.subject.image} ${f.violation.rule}:${f.violation.enforcement} ${f.line}`,
    );
  const pod = (name: string, image: string, extra = ''): string =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n${extra}spec:\n  containers:\n    - name: c\n      image: ${image}\n`;

  it("takes each object's namespace, else the one given, and applies namespaced rules by it", async () => {
    const result = await check(
      `${pod('a', 'registry.example.com/a:1', '  namespace: prod\n')}---\n${pod('b', 'registry.example.com/b:1')}`,
      'prod',
    );
    expect(findings(result)).toEqual([
      'Pod/a@prod containers[0] registry.example.com/a:1 pinned-in-prod:enforce 9',
      'Pod/b@prod containers[0] registry.example.com/b:1 pinned-in-prod:enforce 18',
    ]);
    expect(findings(await check(pod('b', 'registry.example.com/b:1'), 'dev'))).toEqual([]);
  });

  it('reports enforced and warn-mode violations, never audit-mode ones, and counts decisions per pod spec', async () => {
    const result = await check(
      [
        pod('denied', 'nginx'),
        pod('warned', 'ghcr.io/x/y:1'),
        pod('allowed', 'registry.example.com/z:1'),
      ].join('---\n'),
    );
    expect(findings(result)).toEqual([
      'Pod/denied@default containers[0] nginx no-latest:enforce 8',
      'Pod/denied@default containers[0] nginx trusted:warn 8',
      'Pod/warned@default containers[0] ghcr.io/x/y:1 trusted:warn 17',
    ]);
    expect(result).toMatchObject({ podSpecs: 3, denied: 1, warned: 1, allowed: 1 });
  });

  it('finds pod specs in List items, init and ephemeral containers, at their lines, in file order', async () => {
    const list = `apiVersion: v1
kind: List
items:
  - apiVersion: batch/v1
    kind: Job
    metadata: {name: migrate}
    spec:
      template:
        spec:
          containers:
            - {name: main, image: "registry.example.com/m:1"}
          initContainers:
            - {name: first, image: "registry.example.com/i:1"}
            - {name: second, image: "registry.example.com/i"}
          ephemeralContainers:
            - {name: debug, image: "registry.example.com/d"}
`;
    const result = await check(list);
    expect(findings(result)).toEqual([
      'Job/migrate@default initContainers[1] registry.example.com/i no-latest:enforce 14',
      'Job/migrate@default ephemeralContainers[0] registry.example.com/d no-latest:enforce 16',
    ]);
    expect(result.findings[0].object.item).toBe(0);
  });

  it('reads kinds by API group, as the webhook does, and skips what is not a Kubernetes object', async () => {
    const deployment = (apiVersion: string): string =>
      `apiVersion: ${apiVersion}\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: nginx}]\n`;
    const result = await check(
      [
        deployment('apps/v1'),
        deployment('extensions/v1beta1'),
        deployment('example.com/v1'),
        'just a string\n',
        'kind: Pod\n',
      ].join('---\n'),
    );
    expect(findings(result).map((f) => f.split(' ')[0])).toEqual([
      'Deployment/d@default',
      'Deployment/d@default',
    ]);
    expect(result.podSpecs).toBe(1);
  });

  it('lets an active break-glass ticket through, as the webhook would, and says so', async () => {
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    const result = await check(
      pod(
        'hotfix',
        'registry.example.com/a',
        `  annotations:\n    break-glass.image-policy.k8s.io/INC-1: "${inAnHour}"\n`,
      ),
    );
    expect(result).toMatchObject({ denied: 0, warned: 1 });
    expect(result.findings[0].breakGlass).toBe(`INC-1 until ${inAnHour}`);
  });

  it('denies a pod spec whose break-glass ticket expires further ahead than the policy allows, as the webhook would', async () => {
    const result = await check(
      pod(
        'hotfix',
        'registry.example.com/a',
        '  annotations:\n    break-glass.image-policy.k8s.io/INC-1: "2999-01-01T00:00:00Z"\n',
      ),
    );
    expect(result).toMatchObject({ denied: 1, warned: 0 });
    expect(result.findings[0].breakGlass).toBeUndefined();
  });

  it('refuses a pod spec Kubernetes would not accept, naming the file and line', async () => {
    const broken = `kind: Namespace\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: {name: c}\n`;
    await expect(check(broken)).rejects.toThrow(CommandInputError);
    await expect(check(broken)).rejects.toThrow('<stdin>:3: Pod/p.spec.containers must be an array');
  });
});
