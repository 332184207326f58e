import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runCli } from './support/cli-run';

// The SHA-256 of the empty string: a well-formed digest that looks like the real thing.
const DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const EXAMPLE_POLICY = 'examples/image-policy.yaml';
const EXAMPLE_REVISION = createHash('sha256').update(readFileSync(EXAMPLE_POLICY)).digest('hex').slice(0, 12);

describe('kube-image-bouncer explain', () => {
  it.each([
    [
      'nginx',
      `image       nginx
domain      docker.io
path        library/nginx
tag         (none)
digest      (none)
normalized  docker.io/library/nginx
familiar    nginx
pulled as   docker.io/library/nginx:latest (no tag or digest: the runtime pulls latest)

policy     default (built-in default policy, revision 3e42b1e38d1b)
namespace  default

RULE       CHECK           ENFORCEMENT  VERDICT
no-latest  disallowedTags  enforce      violated: uses the latest tag

decision   deny
  denied:  image nginx uses the latest tag (rule no-latest)
`,
    ],
    [
      'localhost:5000/app',
      `image       localhost:5000/app
domain      localhost:5000
path        app
tag         (none; ":5000" is the registry's port)
digest      (none)
normalized  localhost:5000/app
familiar    localhost:5000/app
pulled as   localhost:5000/app:latest (no tag or digest: the runtime pulls latest)

policy     default (built-in default policy, revision 3e42b1e38d1b)
namespace  default

RULE       CHECK           ENFORCEMENT  VERDICT
no-latest  disallowedTags  enforce      violated: uses the latest tag

decision   deny
  denied:  image localhost:5000/app uses the latest tag (rule no-latest)
`,
    ],
    [
      `registry.example.com/app@${DIGEST}`,
      `image       registry.example.com/app@${DIGEST}
domain      registry.example.com
path        app
tag         (none)
digest      ${DIGEST}
normalized  registry.example.com/app@${DIGEST}
familiar    registry.example.com/app@${DIGEST}
pulled as   registry.example.com/app@${DIGEST}

policy     default (built-in default policy, revision 3e42b1e38d1b)
namespace  default

RULE       CHECK           ENFORCEMENT  VERDICT
no-latest  disallowedTags  enforce      passed

decision   allow
`,
    ],
  ])('explains %s under the built-in policy', (image, expected) => {
    expect(runCli(['explain', image])).toEqual({ status: 0, stdout: expected, stderr: '' });
  });

  it('explains under the example policy: every rule, its scope and exemptions, and the decision', () => {
    const run = runCli(['explain', 'busybox:1.36', '--namespace', 'prod-eu', '--policy', EXAMPLE_POLICY]);
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout: `image       busybox:1.36
domain      docker.io
path        library/busybox
tag         1.36
digest      (none)
normalized  docker.io/library/busybox:1.36
familiar    busybox:1.36
pulled as   docker.io/library/busybox:1.36

policy     example (examples/image-policy.yaml, revision ${EXAMPLE_REVISION})
namespace  prod-eu

RULE             CHECK                ENFORCEMENT  VERDICT
no-latest        disallowedTags       enforce      passed
trusted-sources  allowedRepositories  warn         violated: is not from an allowed repository
no-unknown-hub   deniedRepositories   enforce      passed
pinned-in-prod   requireDigest        enforce      skipped: image exempt by the rule's exemptImages docker.io/library/busybox

decision   allow, with a warning
  warning: image busybox:1.36 is not from an allowed repository (rule trusted-sources)
`,
    });
  });

  it.each([
    ['nginx', 'default', 'deny'],
    ['localhost:5000/app', 'default', 'deny'],
    [`registry.example.com/app@${DIGEST}`, 'prod-eu', 'allow'],
  ])('explains %s in %s under the example policy', (image, namespace, decision) => {
    const run = runCli(['explain', image, '-n', namespace, '--policy', EXAMPLE_POLICY]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`\ndecision   ${decision}\n`);
  });

  it('says an exempt namespace decides alone', () => {
    const run = runCli(['explain', 'randomuser/miner', '-n', 'kube-system', '--policy', EXAMPLE_POLICY]);
    expect(run.stdout).toContain(
      'no-latest        disallowedTags       enforce      skipped: namespace exempt by spec.exemptNamespaces kube-system\n',
    );
    expect(run.stdout).toMatch(
      /\ndecision {3}allow: namespace kube-system is exempt \(spec\.exemptNamespaces kube-system\), no rule is checked\n$/,
    );
  });

  it('shows why an invalid reference is refused', () => {
    const run = runCli(['explain', 'Nginx:1.0']);
    expect(run.stdout).toContain(
      'reference  invalid: invalid reference format: repository name (library/Nginx) must be lowercase\n',
    );
    expect(run.stdout).toContain(
      'no-latest  disallowedTags  enforce      skipped: image is not a valid reference\n',
    );
  });

  it('prints a stable JSON document with -o json', () => {
    const run = runCli(['explain', 'localhost:5000/app', '-o', 'json']);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      image: 'localhost:5000/app',
      reference: {
        valid: true,
        domain: 'localhost:5000',
        path: 'app',
        tag: null,
        digest: null,
        normalized: 'localhost:5000/app',
        familiar: 'localhost:5000/app',
        pulledAs: 'localhost:5000/app:latest',
      },
      namespace: 'default',
      policy: { name: 'default', source: 'built-in default policy', revision: '3e42b1e38d1b' },
      pinning: null,
      withheld: [],
      resolution: null,
      rules: [
        {
          name: 'no-latest',
          check: 'disallowedTags',
          enforcement: 'enforce',
          namespaces: null,
          applies: true,
          skipped: null,
          verdict: 'violation',
          problem: 'uses the latest tag',
          verification: null,
          attestations: null,
        },
      ],
      decision: {
        allowed: false,
        exemptNamespace: null,
        violations: ['image localhost:5000/app uses the latest tag (rule no-latest)'],
        warnings: [],
      },
    });
  });

  it('reads the policy from BOUNCER_POLICY, as serve does', () => {
    const run = runCli(['explain', 'nginx'], { env: { BOUNCER_POLICY: EXAMPLE_POLICY } });
    expect(run.stdout).toContain('policy     example (examples/image-policy.yaml');
  });

  describe('exits 2', () => {
    it('on a policy file it cannot read', () => {
      expect(runCli(['explain', 'nginx', '--policy', '/nonexistent/policy.yaml'])).toEqual({
        status: 2,
        stdout: '',
        stderr: 'kube-image-bouncer: --policy cannot read file "/nonexistent/policy.yaml"\n',
      });
    });

    it('on an invalid policy, with its message', () => {
      const run = runCli(['explain', 'nginx', '--policy', 'test/fixtures/policies/typo.yaml']);
      expect(run).toEqual({
        status: 2,
        stdout: '',
        stderr:
          'kube-image-bouncer: invalid image policy test/fixtures/policies/typo.yaml:\n' +
          '  test/fixtures/policies/typo.yaml:6: spec.rules[0].enforcement must be one of enforce, warn, audit (got "wran")\n',
      });
    });

    it('without an image', () => {
      expect(runCli(['explain'])).toMatchObject({
        status: 2,
        stderr: "error: missing required argument 'image'\n",
      });
    });
  });
});
