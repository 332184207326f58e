import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImagePolicyCompiler } from '../src/policy/policy-file/image-policy.compiler';
import { buildImagePolicySchema } from '../src/policy/policy-file/image-policy.schema';
import { policyKeys } from '../src/policy/policy-file/policy-key-paths';
import { IMAGE_RULE_TYPES } from '../src/policy/rules';
import { codeBlocks, codeSpans, readmeSection, tableAfter } from './support/readme';

const rules = IMAGE_RULE_TYPES.map((Rule) => new Rule());

/** docs/policy.md names every key of the schema, so a key added to a rule cannot go undocumented. */
describe("docs/policy.md's reference of every key", () => {
  const table = readmeSection('Every key', 'docs/policy.md');
  const named = new Set(codeSpans(table));
  const keys = policyKeys(buildImagePolicySchema(rules));

  it('names each key of the schema, at the path it has there', () => {
    expect(keys.length).toBeGreaterThan(50);
    expect(keys.filter((key) => !named.has(key))).toEqual([]);
  });

  it('names no key the schema does not have', () => {
    const keyLike = [...named].filter((span) => /^(apiVersion|kind|metadata|spec)(\.|$)/.test(span));
    expect(keyLike.filter((span) => !keys.includes(span))).toEqual([]);
  });
});

describe("docs/policy.md's exceptions", () => {
  it('shows an exception the compiler takes as written', () => {
    const [block] = codeBlocks(readmeSection('Image policy', 'docs/policy.md'), 'yaml').filter((b) =>
      b.includes('exceptions:'),
    );
    const policy = `apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\n${block}  rules:\n    - disallowedTags: [latest]\n`;
    const compiled = new ImagePolicyCompiler(rules).compile(
      policy,
      'policy.md',
      undefined,
      new Date('2026-06-01T00:00:00Z'),
    );
    expect(compiled.exceptions).toHaveLength(1);
    expect(compiled.warnings).toEqual([]);
  });
});

/**
 * What the README and docs/policy.md say the policy revision is: of the file alone when it names no
 * file (so `sha256sum` gives it), and of the files it names too, so that rotating a key is a new
 * revision even when the policy's own text did not change.
 */
describe('the policy revision, as the README says it', () => {
  const compiler = new ImagePolicyCompiler(rules);
  const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);
  const readyzRow = tableAfter(readmeSection('Running it'), '| field | what |').find(([field]) =>
    field.includes('`policy.revision`'),
  )!;

  it('says both', () => {
    expect(readyzRow[1]).toContain(
      'of a SHA-256 of the file and of every file it names (keys, CA bundles, credentials)',
    );
    expect(readyzRow[1]).toContain('for a policy that names no file, of the file alone');
    expect(readmeSection('Image policy', 'docs/policy.md')).toContain('of each of those too');
  });

  it('is the sha256sum of a policy that names no file', () => {
    const text =
      'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  rules:\n    - disallowedTags: [latest]\n';
    expect(compiler.compile(text, 'policy.yaml').revision).toBe(sha256(text));
  });

  it('covers the key files a policy names: rotating the key alone is a new revision', () => {
    const dir = mkdtempSync(join(tmpdir(), 'revision-'));
    const text =
      'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  rules:\n    - verifySignatures:\n        keys: [cosign.pub]\n';
    const key = (pem: string) => writeFileSync(join(dir, 'cosign.pub'), pem);
    writeFileSync(join(dir, 'policy.yaml'), text);
    key(KEY_1);
    const first = compiler.compile(text, join(dir, 'policy.yaml')).revision;
    key(KEY_2);
    const rotated = compiler.compile(text, join(dir, 'policy.yaml')).revision;
    expect(first).not.toBe(sha256(text));
    expect(rotated).not.toBe(first);
  });
});

const KEY_1 = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsct1ZFyQh/EM7CMWyd7z12J4rsHd
ytc23ahG43RVFW3IDp/kJlEMfr1eL8K20xt6ZFX2f4qrzycL6SHsL7hVmg==
-----END PUBLIC KEY-----
`;
const KEY_2 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
