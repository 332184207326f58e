// Writes schema/image-policy.schema.json from the built rules: `npm run schema`.
// The schema is derived from the rule classes, so this file is the editors' copy of it.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
require('reflect-metadata');
const { buildImagePolicySchema } = require('../dist/policy/policy-file/image-policy.schema');
const { IMAGE_RULE_TYPES } = require('../dist/policy/rules');

const schema = buildImagePolicySchema(IMAGE_RULE_TYPES.map((Rule) => new Rule()));
const target = join(__dirname, '..', 'schema', 'image-policy.schema.json');
writeFileSync(target, `${JSON.stringify(schema, null, 2)}\n`);
process.stdout.write(`wrote ${target}\n`);
