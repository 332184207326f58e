import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY_SOURCE, DEFAULT_POLICY_YAML } from './default-policy';
import { ImagePolicyCompiler } from './image-policy.compiler';
import { InvalidPolicyError } from './invalid-policy.error';
import { IMAGE_RULE_TYPES } from '../rules';

const EXAMPLE = join(__dirname, '..', '..', '..', 'examples', 'image-policy.yaml');

describe(ImagePolicyCompiler.name, () => {
  const sut = new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule()));

  /** The problems of a policy that must be refused, as "line: message" strings. */
  const problemsOf = (yaml: string): string[] => {
    try {
      sut.compile(yaml, 'policy.yaml');
    } catch (error) {
      if (!(error instanceof InvalidPolicyError)) throw error;
      return error.message
        .split('\n')
        .slice(1)
        .map((line) => line.trim());
    }
    throw new Error('expected the policy to be refused');
  };
  const policy = (spec: string): string =>
    `apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n${spec.replace(/^/gm, '  ')}\n`;

  it('compiles the example policy with every key', () => {
    const compiled = sut.compile(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
    expect(compiled).toMatchObject({
      name: 'example',
      source: EXAMPLE,
      breakGlass: true,
      breakGlassMaxHours: 8,
      revision: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    expect(compiled.exemptNamespaces.map((g) => g.source)).toEqual(['kube-system']);
    expect(compiled.exemptImages.map((p) => p.normalized)).toEqual(['registry.k8s.io/**']);
    expect(
      compiled.rules.map((r) => [
        r.name,
        r.rule.key,
        r.enforcement,
        r.namespaces?.map((g) => g.source),
        r.exemptImages.map((p) => p.normalized),
      ]),
    ).toEqual([
      ['no-latest', 'disallowedTags', 'enforce', undefined, []],
      ['trusted-sources', 'allowedRepositories', 'warn', undefined, []],
      ['no-unknown-hub', 'deniedRepositories', 'enforce', undefined, []],
      ['pinned-in-prod', 'requireDigest', 'enforce', ['prod-*'], ['docker.io/library/busybox']],
    ]);
  });

  it('compiles the built-in default: the original bouncer rule', () => {
    const compiled = sut.compile(DEFAULT_POLICY_YAML, DEFAULT_POLICY_SOURCE);
    expect(compiled.rules.map((r) => [r.name, r.rule.key, r.enforcement])).toEqual([
      ['no-latest', 'disallowedTags', 'enforce'],
    ]);
    expect(compiled).toMatchObject({ breakGlass: false, breakGlassMaxHours: 24 });
  });

  it('accepts JSON', () => {
    const json = JSON.stringify({
      apiVersion: 'kube-image-bouncer.io/v1alpha1',
      kind: 'ImagePolicy',
      spec: { breakGlass: false, rules: [{ requireDigest: true }] },
    });
    expect(sut.compile(json, 'p.json')).toMatchObject({
      breakGlass: false,
      rules: [{ name: 'requireDigest-1' }],
    });
  });

  it('names unnamed rules after their key and position', () => {
    const compiled = sut.compile(
      policy('rules:\n  - disallowedTags: [latest]\n  - requireDigest: true'),
      'p',
    );
    expect(compiled.rules.map((r) => r.name)).toEqual(['disallowedTags-1', 'requireDigest-2']);
  });

  describe('refuses a policy that can never deny an image, unless it says so', () => {
    it.each([
      ['no rules', 'rules: []', 'it has no rules'],
      [
        'every rule in audit or warn',
        'rules:\n  - {name: a, requireDigest: true, enforcement: audit}\n  - {name: w, disallowedTags: [latest], enforcement: warn}',
        'no rule is enforced (a: audit, w: warn)',
      ],
      [
        'every namespace exempt',
        'exemptNamespaces: ["*"]\nrules:\n  - disallowedTags: [latest]',
        'spec.exemptNamespaces "*" exempts every namespace',
      ],
    ])('%s', (_case, spec, why) => {
      expect(problemsOf(policy(spec))).toEqual([
        `policy.yaml:4: spec can never deny an image: ${why}. One edit like this lets every image through; if that is meant, say so with allowPermissive: true`,
      ]);
      expect(sut.compile(policy(`allowPermissive: true\n${spec}`), 'p').permissive).toBe(why);
    });

    it('takes a policy that can deny something as it is', () => {
      expect(sut.compile(policy('rules:\n  - disallowedTags: [latest]'), 'p').permissive).toBeUndefined();
    });
  });

  describe('spec.exceptions', () => {
    const withExceptions = policy(
      [
        'exceptions:',
        '  - {images: [legacy/app], expires: "2026-06-01T00:00:00Z", ticket: CHG-1}',
        '  - {images: [old/app], expires: "2026-01-01T00:00:00Z", ticket: CHG-2}',
        'rules:',
        '  - disallowedTags: [latest]',
      ].join('\n'),
    );

    it('accepts an exception that has expired, with a warning naming its line and ticket', () => {
      const compiled = sut.compile(
        withExceptions,
        'policy.yaml',
        undefined,
        new Date('2026-03-01T00:00:00Z'),
      );
      expect(compiled.exceptions).toHaveLength(2);
      expect(compiled.warnings).toEqual([
        'policy.yaml:6: spec.exceptions[1] (ticket CHG-2) expired at 2026-01-01T00:00:00.000Z and lets nothing through; remove it, or renew it with a later expires',
      ]);
    });

    it('warns of nothing while every exception is in force', () => {
      const compiled = sut.compile(
        withExceptions,
        'policy.yaml',
        undefined,
        new Date('2025-12-01T00:00:00Z'),
      );
      expect(compiled.warnings).toEqual([]);
    });
  });

  describe('registries and pinning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compiler-registries-'));
    const at = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };

    it('defaults to a 3 s registry budget, a 30 s tag cache and no pinning', () => {
      const compiled = sut.compile(DEFAULT_POLICY_YAML, DEFAULT_POLICY_SOURCE);
      expect(compiled).toMatchObject({ registryTimeoutMs: 3_000, tagTtlMs: 30_000, pinDigests: undefined });
      expect(compiled.registries.accessFor('docker.io')).toMatchObject({
        baseUrl: 'https://registry-1.docker.io',
        insecure: false,
        credential: undefined,
      });
    });

    it('reads credentials and CA files relative to the policy, and hashes them into the revision', () => {
      const ca = at('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const config = at(
        'config.json',
        JSON.stringify({
          auths: { 'https://reg.example.com/v1/': { auth: Buffer.from('u:p').toString('base64') } },
        }),
      );
      const source = join(dir, 'policy.yaml');
      const text = policy(
        'registries:\n  - {host: "*.example.com", caFile: ca.pem, credentialsFile: config.json}\n  - {host: "127.0.0.1:5000", insecure: true}\npinDigests: {namespaces: [prod], podControllers: true}\nregistryTimeoutSeconds: 1.5\nregistryCache: {tagTtlSeconds: 0}\nrules: [{disallowedTags: [latest]}]',
      );
      const compiled = sut.compile(text, source);
      expect([...compiled.referencedFiles.keys()]).toEqual([ca, config]);
      expect(compiled).toMatchObject({
        registryTimeoutMs: 1_500,
        tagTtlMs: 0,
        pinDigests: { podControllers: true },
      });
      expect(compiled.registries.accessFor('reg.example.com')).toMatchObject({
        baseUrl: 'https://reg.example.com',
        credential: { username: 'u', password: 'p' },
      });
      expect(compiled.registries.accessFor('127.0.0.1:5000')).toMatchObject({
        baseUrl: 'http://127.0.0.1:5000',
      });
      expect(compiled.registries.accessFor('other.io').baseUrl).toBe('https://other.io');

      const rotated = new Map(compiled.referencedFiles).set(config, JSON.stringify({ auths: {} }));
      expect(sut.compile(text, source, rotated).revision).not.toBe(compiled.revision);
      expect(sut.compile(text, source).revision).toBe(compiled.revision);
    });

    it.each([
      ['missing.pub', 'no such file or directory'],
      ['a-directory.pub', 'it is a directory'],
    ])('says why the key file %s cannot be read in words, as every other file error does', (key, why) => {
      mkdirSync(join(dir, 'a-directory.pub'), { recursive: true });
      const source = at('signed.yaml', policy(`rules:\n  - verifySignatures:\n      keys: [${key}]`));
      expect(() => sut.compile(readFileSync(source, 'utf8'), source)).toThrow(
        `  ${source}:6: spec.rules[0].verifySignatures.keys[0] cannot read file "${key}": ${why}`,
      );
    });

    it('refuses unreadable or malformed registry files at their line', () => {
      at('not-json', 'nope');
      expect(
        problemsOf(
          policy(
            'registries:\n  - host: a.io\n    caFile: /nonexistent/ca.pem\n  - host: b.io\n    credentialsFile: not-json\nrules: [{disallowedTags: [latest]}]',
          ).replace(/^/, ''),
        ).map((p) => p.replace(dir, '<dir>')),
      ).toEqual([
        'policy.yaml:6: spec.registries[0].caFile cannot read file "/nonexistent/ca.pem": no such file or directory',
        expect.stringMatching(
          /^policy\.yaml:8: spec\.registries\[1\]\.credentialsFile cannot read file "not-json"/,
        ),
      ]);
    });
  });

  describe('attestation conditions', () => {
    const KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const attesting = (conditions: string): string =>
      policy(
        [
          'rules:',
          '  - name: scanned-this-week',
          '    verifyAttestations:',
          `      keys: [${JSON.stringify(KEY)}]`,
          '      predicateType: https://cosign.sigstore.dev/attestation/vuln/v1',
          '      conditions:',
          conditions.replace(/^/gm, '        '),
        ].join('\n'),
      );

    it('compiles conditions once, with the policy', () => {
      const compiled = sut.compile(
        attesting(
          '- expression: \'now - timestamp(predicate.metadata.scanFinishedOn) < duration("168h")\'\n  message: scanned in the last 7 days',
        ),
        'policy.yaml',
      );

      expect(compiled.rules[0].settings).toMatchObject({
        conditions: [{ message: 'scanned in the last 7 days', program: expect.anything() }],
      });
    });

    it.each([
      ['a syntax error', "- expression: 'predicate.metadata.scanFinishedOn =='", 'syntax error: '],
      [
        'a type error',
        "- expression: 'size(1) == 1'",
        "found no matching overload for 'size' applied to '(int)'",
      ],
      [
        'a non-boolean expression',
        "- expression: 'true'\n- expression: 'size(predicate.scanner.result.Results)'",
        'must be a boolean expression, but is of type int',
      ],
    ])('refuses %s at the expression’s line', (_what, conditions, message) => {
      const [problem] = problemsOf(attesting(conditions));
      const index = conditions.split('\n').filter((line) => line.startsWith('-')).length - 1;
      const line = 10 + conditions.split('\n').length - 1;

      expect(problem).toContain(
        `policy.yaml:${line}: spec.rules[0].verifyAttestations.conditions[${index}].expression ${message}`,
      );
    });
  });

  describe('refuses a bad policy, naming file, line and key path', () => {
    it.each([
      ['a YAML syntax error', 'rules:\n  - disallowedTags: [latest\n', /^policy\.yaml:\d+: /],
      ['a duplicate key', 'rules: []\nrules: []', /^policy\.yaml:5: Map keys must be unique/],
    ])('%s', (_case, spec, expected) => {
      expect(problemsOf(policy(spec))[0]).toMatch(expected);
    });

    it.each([
      [
        'an unknown rule key',
        'rules:\n  - name: a\n    disalowedTags: [latest]',
        [
          'policy.yaml:5: spec.rules[0] must have exactly one of disallowedTags, allowedRepositories, deniedRepositories, requireDigest, verifySignatures, verifyAttestations (has none)',
          'policy.yaml:6: spec.rules[0].disalowedTags is not a known key (did you mean "disallowedTags"?)',
        ],
      ],
      [
        'two check keys in one rule',
        'rules:\n  - requireDigest: true\n    disallowedTags: [latest]',
        [
          'policy.yaml:5: spec.rules[0] must have exactly one of disallowedTags, allowedRepositories, deniedRepositories, requireDigest, verifySignatures, verifyAttestations (has disallowedTags, requireDigest)',
        ],
      ],
      [
        'a bad enforcement',
        'rules:\n  - requireDigest: true\n    enforcement: wran',
        ['policy.yaml:6: spec.rules[0].enforcement must be one of enforce, warn, audit (got "wran")'],
      ],
      [
        'an unknown spec key',
        'exemptNamespace: [kube-system]\nrules: []',
        ['policy.yaml:4: spec.exemptNamespace is not a known key (did you mean "exemptNamespaces"?)'],
      ],
      [
        'an unknown key near none the schema knows there',
        'rules:\n  - requireDigest: true\n    owner: team-a',
        ['policy.yaml:6: spec.rules[0].owner is not a known key'],
      ],
      [
        'a misspelt key in a nested object',
        'pinDigests: {namespace: [prod]}\nrules:\n  - requireDigest: true',
        ['policy.yaml:4: spec.pinDigests.namespace is not a known key (did you mean "namespaces"?)'],
      ],
      [
        'pinDigests of neither type',
        'pinDigests: "yes"\nrules:\n  - requireDigest: true',
        ['policy.yaml:4: spec.pinDigests must be a boolean or a mapping (got "yes")'],
      ],
      [
        'a signature rule with no trust: neither keys, certificates nor notation',
        'rules:\n  - verifySignatures: {threshold: 2}',
        [
          'policy.yaml:5: spec.rules[0].verifySignatures must have at least one of keys, certificates, notation (has none)',
        ],
      ],
      [
        'an attestation rule with neither keys nor certificates',
        'rules:\n  - verifyAttestations: {predicateType: https://slsa.dev/provenance/v1}',
        [
          'policy.yaml:5: spec.rules[0].verifyAttestations must have at least one of keys, certificates (has none)',
        ],
      ],
      [
        'an identity with neither issuer nor issuerRegExp',
        'rules:\n  - verifySignatures: {certificates: {caFile: ca.pem, identities: [{subject: s}]}}',
        [
          'policy.yaml:5: spec.rules[0].verifySignatures.certificates.identities[0] must have at least one of issuer, issuerRegExp (has none)',
        ],
      ],
      [
        'an empty tag list',
        'rules:\n  - disallowedTags: []',
        ['policy.yaml:5: spec.rules[0].disallowedTags must not be empty'],
      ],
      [
        'a tag that is not a string',
        'rules:\n  - disallowedTags: [latest, 7]',
        ['policy.yaml:5: spec.rules[0].disallowedTags[1] must be string (got 7)'],
      ],
      [
        'a bad image pattern, at its line',
        'rules:\n  - allowedRepositories:\n      - ok.io/**\n      - "Not A Pattern"',
        [
          'policy.yaml:7: spec.rules[0].allowedRepositories[1] "Not A Pattern" is not a valid image pattern: invalid reference format: repository name (library/Not A Pattern) must be lowercase',
        ],
      ],
      [
        'a bad exempt image',
        'exemptImages: ["a**b/x"]\nrules: []',
        [
          'policy.yaml:4: spec.exemptImages[0] "a**b/x" is not a valid image pattern: ** must be a whole path segment',
        ],
      ],
      [
        'a repeated rule name',
        'rules:\n  - name: x\n    requireDigest: true\n  - name: x\n    disallowedTags: [latest]',
        ['policy.yaml:7: spec.rules[1].name repeats the rule name "x"; rule names must be unique'],
      ],
      [
        'a rule name with spaces',
        'rules:\n  - name: no latest\n    disallowedTags: [latest]',
        ["policy.yaml:5: spec.rules[0].name must be letters, digits, '-', '_' and '.' (got \"no latest\")"],
      ],
      ['no rules key', 'breakGlass: true', ['policy.yaml:4: spec must have the key "rules"']],
      [
        'a break-glass limit beyond 30 days',
        'breakGlassMaxHours: 8760\nrules: []',
        ['policy.yaml:4: spec.breakGlassMaxHours must be <= 720 (got 8760)'],
      ],
    ])('%s', (_case, spec, expected) => {
      expect(problemsOf(policy(spec))).toEqual(expected);
    });

    it('a wrong apiVersion and kind', () => {
      expect(problemsOf('apiVersion: v1\nkind: ConfigMap\nspec: {rules: []}\n')).toEqual([
        'policy.yaml:1: apiVersion must be kube-image-bouncer.io/v1alpha1 (got "v1")',
        'policy.yaml:2: kind must be ImagePolicy (got "ConfigMap")',
      ]);
    });

    it('an empty file', () => {
      expect(problemsOf('')).toEqual(['policy.yaml: must be object (got null)']);
    });

    // Found by test/robust: the alias bomb threw a ReferenceError, which crashed a running server
    // on reload.
    it('a YAML alias bomb ("billion laughs")', () => {
      const laughs = Array.from({ length: 9 }, (_, i) => {
        const previous = i === 0 ? '"lol"' : `*l${i - 1}`;
        return `l${i}: &l${i} [${Array(9).fill(previous).join(', ')}]`;
      });
      expect(problemsOf(laughs.join('\n'))).toEqual([
        'policy.yaml: Excessive alias count indicates a resource exhaustion attack',
      ]);
    });

    // Nesting far past the stack, each shape three times over, is pinned in
    // test/robust/policy-file.robust-spec.ts: parsing 100,000 brackets takes seconds.

    it('nesting up to the limit is judged by the schema as usual', () => {
      expect(problemsOf(`${'['.repeat(64)}${']'.repeat(64)}`)).toEqual([
        expect.stringMatching(/^policy\.yaml:1: must be object \(got \[\[\[/),
      ]);
    });
  });
});
