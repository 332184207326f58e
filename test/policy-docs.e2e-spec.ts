import { ImagePolicyCompiler } from '../src/policy/policy-file/image-policy.compiler';
import { buildImagePolicySchema } from '../src/policy/policy-file/image-policy.schema';
import { policyKeys } from '../src/policy/policy-file/policy-key-paths';
import { IMAGE_RULE_TYPES } from '../src/policy/rules';
import { codeBlocks, codeSpans, readmeSection } from './support/readme';

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
