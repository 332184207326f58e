import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_RULE_TYPES } from '../rules';
import { buildImagePolicySchema } from './image-policy.schema';
import { policyKeyPaths } from './policy-key-paths';

describe(buildImagePolicySchema.name, () => {
  const schema = buildImagePolicySchema(IMAGE_RULE_TYPES.map((Rule) => new Rule()));

  it('is what the repository ships for editors (run `npm run schema` after changing a rule)', () => {
    const shipped: unknown = JSON.parse(
      readFileSync(join(__dirname, '..', '..', '..', 'schema', 'image-policy.schema.json'), 'utf8'),
    );
    expect(shipped).toEqual(schema);
  });

  it('offers every registered rule key as a check', () => {
    const rule = (
      schema.properties as { spec: { properties: { rules: { items: { oneOf: { required: string[] }[] } } } } }
    ).spec.properties.rules.items;
    expect(rule.oneOf.map((branch) => branch.required[0])).toEqual([
      'disallowedTags',
      'allowedRepositories',
      'deniedRepositories',
      'requireDigest',
      'verifySignatures',
      'verifyAttestations',
    ]);
  });
});

describe(policyKeyPaths.name, () => {
  const schema = buildImagePolicySchema(IMAGE_RULE_TYPES.map((Rule) => new Rule()));
  const paths = policyKeyPaths(schema);

  it('is what the Helm chart checks policy.document against (run `npm run schema` after changing a rule)', () => {
    const shipped: unknown = JSON.parse(
      readFileSync(
        join(__dirname, '..', '..', '..', 'charts', 'kube-image-bouncer', 'files', 'policy-keys.json'),
        'utf8',
      ),
    );
    expect(shipped).toEqual(paths);
  });

  it('names the keys of every level, lists included, and of every branch of a choice', () => {
    expect(paths['']).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(paths['spec.rules[]']).toEqual(
      expect.arrayContaining([
        'name',
        'enforcement',
        'namespaces',
        'exemptImages',
        'disallowedTags',
        'verifySignatures',
      ]),
    );
    expect(paths['spec.pinDigests']).toEqual(['namespaces', 'exemptImages', 'podControllers']);
    expect(paths['spec.rules[].verifySignatures.certificates.identities[]']).toEqual([
      'issuer',
      'issuerRegExp',
      'subject',
      'subjectRegExp',
    ]);
    // Free-form mappings are not checked.
    expect(paths['metadata.labels']).toBeUndefined();
  });
});
