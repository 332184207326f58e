import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildImagePolicyTestSchema } from './policy-test.schema';

describe(buildImagePolicyTestSchema.name, () => {
  const schema = buildImagePolicyTestSchema();
  const root = join(__dirname, '..', '..');

  it('is what the repository ships for editors beside the policy schema (run `npm run schema` after changing it)', () => {
    const shipped: unknown = JSON.parse(
      readFileSync(join(root, 'schema', 'image-policy-test.schema.json'), 'utf8'),
    );
    expect(shipped).toEqual(schema);
  });

  it('accepts the example suite, whose first line points editors at the shipped copy', () => {
    const text = readFileSync(join(root, 'examples', 'image-policy.test.yaml'), 'utf8');
    expect(text.split('\n')[0]).toBe(
      '# yaml-language-server: $schema=../schema/image-policy-test.schema.json',
    );
    const validate = new Ajv({ strict: true, strictRequired: false }).compile(schema);
    expect(validate(parse(text))).toBe(true);
  });
});
