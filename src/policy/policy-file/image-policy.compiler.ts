import { Inject, Injectable } from '@nestjs/common';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { createHash } from 'node:crypto';
import { DEFAULT_BREAK_GLASS_MAX_HOURS } from '../break-glass';
import { NamespaceGlob } from '../patterns/glob';
import { ImagePattern } from '../patterns/image-pattern';
import { IMAGE_RULES, ImageRule, RuleValueError } from '../rules/image-rule';
import { compileImagePatterns } from '../rules/rule-values';
import { CompiledImagePolicy, CompiledRule } from './compiled-image-policy';
import { Enforcement, JsonSchemaOf, buildImagePolicySchema } from './image-policy.schema';
import { InvalidPolicyError, PolicyPath, PolicyProblem } from './invalid-policy.error';
import { PolicyDocument, parsePolicyDocument } from './policy-document';

/** A policy file's shape once its schema has accepted it. */
interface ImagePolicyFile {
  metadata?: { name?: string };
  spec: {
    exemptNamespaces?: string[];
    exemptImages?: string[];
    breakGlass?: boolean;
    breakGlassMaxHours?: number;
    rules: (Record<string, unknown> & {
      name?: string;
      enforcement?: Enforcement;
      namespaces?: string[];
      exemptImages?: string[];
    })[];
  };
}

const pointerToPath = (pointer: string): (string | number)[] =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((step) => step.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((step) => (/^\d+$/.test(step) ? Number(step) : step));

function valueAt(root: unknown, path: PolicyPath): unknown {
  return path.reduce<unknown>(
    (node, step) =>
      node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[step] : undefined,
    root,
  );
}

const got = (value: unknown): string =>
  value === undefined ? '' : ` (got ${JSON.stringify(value)?.slice(0, 80) ?? typeof value})`;

/**
 * Validates and compiles policy files. The schema comes from the registered rules; everything a
 * schema cannot say (image pattern grammar, unique rule names) is checked here, with file lines.
 */
@Injectable()
export class ImagePolicyCompiler {
  readonly schema: JsonSchemaOf;
  private readonly validate: ValidateFunction;
  private readonly rulesByKey: ReadonlyMap<string, ImageRule>;

  constructor(@Inject(IMAGE_RULES) rules: readonly ImageRule[]) {
    this.rulesByKey = new Map(rules.map((rule) => [rule.key, rule]));
    this.schema = buildImagePolicySchema(rules);
    // strictRequired would refuse the oneOf branches, which require properties declared beside them.
    this.validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(this.schema);
  }

  compile(text: string, source: string): CompiledImagePolicy {
    const document = parsePolicyDocument(text, source);
    if (!this.validate(document.value)) {
      throw new InvalidPolicyError(source, this.schemaProblems(this.validate.errors ?? [], document));
    }
    const file = document.value as ImagePolicyFile;
    const problems: PolicyProblem[] = [];
    const problem = (path: PolicyPath, message: string): void => {
      problems.push({ path, message, line: document.locate(path) });
    };
    const patterns = (values: string[] | undefined, path: PolicyPath): ImagePattern[] => {
      try {
        return compileImagePatterns(values ?? []);
      } catch (error) {
        if (!(error instanceof RuleValueError)) throw error;
        problem([...path, ...error.path], error.message);
        return [];
      }
    };

    const names = new Set<string>();
    const rules: CompiledRule[] = file.spec.rules.flatMap((entry, index) => {
      const at: PolicyPath = ['spec', 'rules', index];
      const key = [...this.rulesByKey.keys()].find((k) => k in entry)!;
      const rule = this.rulesByKey.get(key)!;
      const name = entry.name ?? `${key}-${index + 1}`;
      if (names.has(name))
        problem([...at, 'name'], `repeats the rule name "${name}"; rule names must be unique`);
      names.add(name);
      let settings: unknown;
      try {
        settings = rule.compile(entry[key]);
      } catch (error) {
        if (!(error instanceof RuleValueError)) throw error;
        problem([...at, key, ...error.path], error.message);
        return [];
      }
      return [
        {
          name,
          enforcement: entry.enforcement ?? 'enforce',
          rule,
          settings,
          namespaces: entry.namespaces?.map((glob) => new NamespaceGlob(glob)),
          exemptImages: patterns(entry.exemptImages, [...at, 'exemptImages']),
        },
      ];
    });
    const exemptImages = patterns(file.spec.exemptImages, ['spec', 'exemptImages']);
    if (problems.length > 0) throw new InvalidPolicyError(source, problems);

    return {
      name: file.metadata?.name ?? source,
      source,
      revision: createHash('sha256').update(text).digest('hex').slice(0, 12),
      exemptNamespaces: (file.spec.exemptNamespaces ?? []).map((glob) => new NamespaceGlob(glob)),
      exemptImages,
      breakGlass: file.spec.breakGlass ?? true,
      breakGlassMaxHours: file.spec.breakGlassMaxHours ?? DEFAULT_BREAK_GLASS_MAX_HOURS,
      rules,
    };
  }

  /** ajv's errors, said the way a person editing the file needs them. */
  private schemaProblems(errors: readonly ErrorObject[], document: PolicyDocument): PolicyProblem[] {
    const checkKeys = [...this.rulesByKey.keys()];
    const oneOfAt = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
    return (
      errors
        // A oneOf failure also reports each branch's "required"; the oneOf message says it better.
        .filter((e) => !(oneOfAt.has(e.instancePath) && e.schemaPath.includes('/oneOf/')))
        .map((error): PolicyProblem => {
          const path = pointerToPath(error.instancePath);
          const value = valueAt(document.value, path);
          const params = error.params as Record<string, unknown>;
          switch (error.keyword) {
            case 'additionalProperties': {
              const key = String(params.additionalProperty);
              return {
                path: [...path, key],
                line: document.locate(path, key),
                message: 'is not a known key',
              };
            }
            case 'required':
              return {
                path,
                line: document.locate(path),
                message: `must have the key "${String(params.missingProperty)}"`,
              };
            case 'oneOf': {
              const present = checkKeys.filter(
                (key) => value !== null && typeof value === 'object' && key in value,
              );
              return {
                path,
                line: document.locate(path),
                message: `must have exactly one of ${checkKeys.join(', ')} (has ${present.length === 0 ? 'none' : present.join(', ')})`,
              };
            }
            case 'enum':
              return {
                path,
                line: document.locate(path),
                message: `must be one of ${(params.allowedValues as unknown[]).join(', ')}${got(value)}`,
              };
            case 'const':
              return {
                path,
                line: document.locate(path),
                message: `must be ${String(params.allowedValue)}${got(value)}`,
              };
            case 'minItems':
            case 'minLength':
              return { path, line: document.locate(path), message: 'must not be empty' };
            case 'uniqueItems':
              return { path, line: document.locate(path), message: 'must not repeat a value' };
            case 'pattern':
              return {
                path,
                line: document.locate(path),
                message: `must be letters, digits, '-', '_' and '.'${got(value)}`,
              };
            default:
              return {
                path,
                line: document.locate(path),
                message: `${error.message ?? 'is invalid'}${got(value)}`,
              };
          }
        })
    );
  }
}
