import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_RULE_TYPES } from '../rules';
import { buildImagePolicySchema } from './image-policy.schema';

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
