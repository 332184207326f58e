// Writes the schemas editors use, from the built code: `npm run schema`.
// schema/image-policy.schema.json is derived from the rule classes, and
// schema/image-policy-test.schema.json is the policy test suite's (`kube-image-bouncer test`).
// charts/kube-image-bouncer/files/policy-keys.json is every key of the policy's schema by where it
// may be, which the chart checks policy.document against when it renders.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
require('reflect-metadata');
const { buildImagePolicySchema } = require('../dist/policy/policy-file/image-policy.schema');
const { IMAGE_RULE_TYPES } = require('../dist/policy/rules');
const { buildImagePolicyTestSchema } = require('../dist/cli/policy-test.schema');
const { policyKeyPaths } = require('../dist/policy/policy-file/policy-key-paths');

const schemas = {
  'image-policy.schema.json': buildImagePolicySchema(IMAGE_RULE_TYPES.map((Rule) => new Rule())),
  'image-policy-test.schema.json': buildImagePolicyTestSchema(),
};
const files = {
  ...Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [join('schema', name), schema])),
  [join('charts', 'kube-image-bouncer', 'files', 'policy-keys.json')]: policyKeyPaths(
    schemas['image-policy.schema.json'],
  ),
};
for (const [name, value] of Object.entries(files)) {
  const target = join(__dirname, '..', name);
  writeFileSync(target, `${JSON.stringify(value, null, 2)}\n`);
  process.stdout.write(`wrote ${target}\n`);
}
