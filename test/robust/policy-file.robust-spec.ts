import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ImagePolicyCompiler } from '../../src/policy/policy-file/image-policy.compiler';
import { InvalidPolicyError } from '../../src/policy/policy-file/invalid-policy.error';
import { DEFAULT_POLICY_YAML } from '../../src/policy/policy-file/default-policy';
import { IMAGE_RULE_TYPES } from '../../src/policy/rules';
import { propertyRuns } from './support/robust-mode';

/**
 * A policy file is read at boot and again whenever it changes. Whatever it holds, compiling it must
 * give a policy or an InvalidPolicyError (which the running server refuses, keeping the last good
 * policy); any other outcome (another error, a stack overflow, a process abort) would end a server
 * that was answering reviews.
 */
const ROOT = join(__dirname, '..', '..');
const VALID_POLICIES = [
  DEFAULT_POLICY_YAML,
  readFileSync(join(ROOT, 'examples', 'image-policy.yaml'), 'utf8'),
  readFileSync(join(ROOT, 'test', 'fixtures', 'policies', 'rollout.yaml'), 'utf8'),
  JSON.stringify({
    apiVersion: 'kube-image-bouncer.io/v1alpha1',
    kind: 'ImagePolicy',
    spec: { exemptNamespaces: ['kube-*'], rules: [{ deniedRepositories: ['docker.io/**'] }] },
  }),
];

/** What a torn write, a bad merge or a wrong editor leaves: pieces of a real policy, edited. */
const editedPolicy = fc
  .tuple(
    fc.constantFrom(...VALID_POLICIES),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom('insert', 'delete', 'truncate', 'duplicate-line'),
        fc.constantFrom(
          '&a ',
          '*a',
          '!!binary ',
          '<<: ',
          '[',
          '{',
          ']',
          '}',
          ':',
          '- ',
          '#',
          '|',
          '>',
          '%',
          '@',
          '`',
          '\t',
          '"',
          "'",
          '\n',
          '\0',
          '\ufeff',
          '? ',
          '---\n',
          '...\n',
        ),
      ),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([text, edits]) =>
    edits.reduce((t, [position, edit, token]) => {
      const at = position % (t.length + 1);
      switch (edit) {
        case 'insert':
          return t.slice(0, at) + token + t.slice(at);
        case 'delete':
          return t.slice(0, at) + t.slice(at + 1 + (position % 7));
        case 'truncate':
          return t.slice(0, at);
        default: {
          const lines = t.split('\n');
          const line = position % lines.length;
          return [...lines.slice(0, line + 1), ...lines.slice(line)].join('\n');
        }
      }
    }, text),
  );

/** Nesting from shallow to far past the stack, in each YAML style. */
const deeplyNested = fc
  .tuple(
    fc.integer({ min: 1, max: 20_000 }),
    fc.constantFrom('flow-seq', 'flow-map', 'block-seq', 'block-map', 'compact'),
  )
  .map(([depth, shape]) => {
    const d = shape.startsWith('block') ? Math.min(depth, 3_000) : depth;
    switch (shape) {
      case 'flow-seq':
        return '['.repeat(d) + ']'.repeat(d);
      case 'flow-map':
        return '{a: '.repeat(d) + '1' + '}'.repeat(d);
      case 'block-seq':
        return Array.from({ length: d }, (_, i) => `${' '.repeat(i)}- `).join('\n');
      case 'block-map':
        return Array.from({ length: d }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
      default:
        return `${'- '.repeat(d)}x`;
    }
  });

/** "Billion laughs": each anchor a list of `width` aliases to the one before. */
const aliasBomb = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 12 }))
  .map(([levels, width]) =>
    Array.from({ length: levels }, (_, i) => {
      const previous = i === 0 ? 'lol' : `*l${i - 1}`;
      return `l${i}: &l${i} [${Array<string>(width).fill(previous).join(', ')}]`;
    }).join('\n'),
  );

/** Well-formed YAML of any shape, sometimes where a policy's parts belong. */
const anyYaml = fc.oneof(
  fc.jsonValue().map((value) => stringify(value)),
  fc
    .record({ apiVersion: fc.jsonValue(), kind: fc.jsonValue(), spec: fc.jsonValue() }, { requiredKeys: [] })
    .map((value) => stringify(value)),
);

describe('policy files under generated content', () => {
  const compiler = new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule()));

  it('compiling any text gives a policy or an InvalidPolicyError, and nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 4, arbitrary: editedPolicy },
          { weight: 2, arbitrary: anyYaml },
          { weight: 1, arbitrary: deeplyNested },
          { weight: 1, arbitrary: aliasBomb },
          { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 400 }) },
        ),
        (text) => {
          try {
            compiler.compile(text, 'policy.yaml');
          } catch (error) {
            if (!(error instanceof InvalidPolicyError)) throw error;
          }
        },
      ),
      propertyRuns(1_000, 10_000),
    );
  });

  // Found by this spec: deep nesting exhausted the stack and, on Node 20, left V8 unable to compile
  // a regular expression, so that the next deep file aborted the process. Each shape is compiled
  // three times, as the second deep file was the one that killed it.
  it.each([
    ['flow sequences', '['.repeat(100_000) + ']'.repeat(100_000)],
    ['flow mappings', '{a: '.repeat(50_000) + '1' + '}'.repeat(50_000)],
    ['block sequences', Array.from({ length: 5_000 }, (_, i) => `${' '.repeat(i)}- `).join('\n')],
    ['compact sequences', `${'- '.repeat(20_000)}x`],
  ])('refuses %s nested too deeply, however often', (_shape, yaml) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(() => compiler.compile(yaml, 'policy.yaml')).toThrow(
        new InvalidPolicyError('policy.yaml', [{ path: [], message: 'is nested more than 64 levels deep' }]),
      );
    }
  });
});
