// Writes the schemas editors use, from the built code: `npm run schema`.
// schema/image-policy.schema.json is derived from the rule classes, and
// schema/image-policy-test.schema.json is the policy test suite's (`kube-image-bouncer test`).
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
require('reflect-metadata');
const { buildImagePolicySchema } = require('../dist/policy/policy-file/image-policy.schema');
const { IMAGE_RULE_TYPES } = require('../dist/policy/rules');
const { buildImagePolicyTestSchema } = require('../dist/cli/policy-test.schema');

const schemas = {
  'image-policy.schema.json': buildImagePolicySchema(IMAGE_RULE_TYPES.map((Rule) => new Rule())),
  'image-policy-test.schema.json': buildImagePolicyTestSchema(),
};
for (const [name, schema] of Object.entries(schemas)) {
  const target = join(__dirname, '..', 'schema', name);
  writeFileSync(target, `${JSON.stringify(schema, null, 2)}\n`);
  process.stdout.write(`wrote ${target}\n`);
}
