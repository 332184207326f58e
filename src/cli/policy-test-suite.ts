import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  didYouMean,
  InvalidPolicyError,
  formatPolicyPath,
  parsePolicyDocument,
  pointerToPath,
  valueAt,
} from '../policy';
import { CommandInputError } from './command-input.error';
import { walk } from './manifest-source';
import { ExpectedDecision, IMAGE_POLICY_TEST_KIND, buildImagePolicyTestSchema } from './policy-test.schema';

/** What one image must come to. */
export interface ImageExpectation {
  readonly image: string;
  readonly decision: ExpectedDecision;
  /** Exactly the rules that must fire; absent when only the decision is checked. */
  readonly rules?: readonly string[];
  /** Where the expectation is written, for the results table. */
  readonly line: number;
}

/** An attestation file a test names, its paths resolved against the suite's directory. */
export interface AttestationFile {
  readonly statement?: string;
  readonly envelope?: string;
  readonly key?: string;
  readonly line: number;
}

export interface PolicyTest {
  readonly name: string;
  /** Read by verifyAttestations rules instead of the registry. */
  readonly attestations: readonly AttestationFile[];
  readonly namespace: string;
  readonly annotations: Readonly<Record<string, string>>;
  /** The manifest's path, resolved against the suite's directory. */
  readonly manifest?: string;
  /** Where the test is written: its `manifest` key, or its first line. */
  readonly line: number;
  readonly images: readonly ImageExpectation[];
}

export interface PolicyTestSuite {
  readonly file: string;
  readonly name: string;
  /** The policy's path, resolved against the suite's directory. */
  readonly policy: string;
  readonly tests: readonly PolicyTest[];
}

interface SuiteFile {
  metadata?: { name?: string };
  spec: {
    policy: string;
    tests: {
      name: string;
      namespace?: string;
      annotations?: Record<string, string>;
      manifest?: string;
      attestations?: { statement?: string; envelope?: string; key?: string }[];
      images: { image: string; decision: ExpectedDecision; rules?: string[] }[];
    }[];
  };
}

// Compiled on first use, so that other commands do not pay for it at start.
let compiled: ValidateFunction<SuiteFile> | undefined;
const suiteValidator = (): ValidateFunction<SuiteFile> =>
  (compiled ??= new Ajv({
    allErrors: true,
    strict: true,
    strictRequired: false,
    verbose: true,
  }).compile<SuiteFile>(buildImagePolicyTestSchema()));

type Path = (string | number)[];

/** ajv's errors, said as a person editing the file needs them: line, key path, what is wrong. */
function schemaProblem(
  error: ErrorObject,
  file: string,
  value: unknown,
  lineOf: (path: Path, key?: string) => number,
): string {
  const path = pointerToPath(error.instancePath);
  const found = valueAt(value, path);
  const got = found === undefined ? '' : ` (got ${JSON.stringify(found)?.slice(0, 80)})`;
  const params = error.params as Record<string, unknown>;
  const at = (where: Path, key?: string): string => {
    const text = formatPolicyPath(key === undefined ? where : [...where, key]);
    return `${file}:${lineOf(where, key)}: ${text === '' ? '' : `${text} `}`;
  };
  switch (error.keyword) {
    case 'additionalProperties':
      return `${at(path, String(params.additionalProperty))}is not a known key${didYouMean(String(params.additionalProperty), error.parentSchema)}`;
    case 'required':
      return `${at(path)}must have the key "${String(params.missingProperty)}"`;
    case 'enum':
      return `${at(path)}must be one of ${(params.allowedValues as unknown[]).join(', ')}${got}`;
    case 'const':
      return `${at(path)}must be ${String(params.allowedValue)}${got}`;
    case 'not':
      return `${at(path)}takes annotations or a manifest, not both: a manifest's objects carry their own`;
    case 'oneOf':
      return `${at(path)}names a statement or an envelope, one of them`;
    case 'minItems':
    case 'minLength':
      return `${at(path)}must not be empty`;
    default:
      return `${at(path)}${error.message ?? 'is invalid'}${got}`;
  }
}

/**
 * The suite as plain data, through the parser policy files use (duplicate keys, alias bombs and
 * deep nesting refused), and a line finder; or, as thrown by it, why the YAML cannot be read.
 */
function parse(file: string, text: string): { value: unknown; lineOf: (path: Path, key?: string) => number } {
  const document = parsePolicyDocument(text, file);
  return { value: document.value, lineOf: (path, key) => document.locate(path, key) ?? 1 };
}

/** Whether a file is meant as a suite: it names the kind, and is of it or does not parse at all. */
function isSuite(file: string, text: string): boolean {
  if (!text.includes(IMAGE_POLICY_TEST_KIND)) return false;
  let value: unknown;
  try {
    value = parse(file, text).value;
  } catch {
    return true;
  }
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === IMAGE_POLICY_TEST_KIND
  );
}

/** Reads and validates one suite file; every problem is named with its line, and the suite is refused whole. */
export function readPolicyTestSuite(file: string, text: string): PolicyTestSuite {
  const invalid = (problems: string[]) =>
    new CommandInputError(`invalid policy test suite ${file}:`, problems);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(file, text);
  } catch (error) {
    if (!(error instanceof InvalidPolicyError)) throw error;
    throw invalid(error.problems.map(({ line, message }) => `${file}:${line ?? 1}: ${message}`));
  }
  const { value, lineOf } = parsed;
  const validate = suiteValidator();
  if (!validate(value))
    throw invalid((validate.errors ?? []).map((error) => schemaProblem(error, file, value, lineOf)));

  const base = dirname(file);
  return {
    file,
    name: value.metadata?.name ?? file,
    policy: join(base, value.spec.policy),
    tests: value.spec.tests.map((test, t) => ({
      name: test.name,
      namespace: test.namespace ?? 'default',
      annotations: test.annotations ?? {},
      manifest: test.manifest === undefined ? undefined : join(base, test.manifest),
      attestations: (test.attestations ?? []).map((file, a) => ({
        ...(file.statement ? { statement: join(base, file.statement) } : {}),
        ...(file.envelope ? { envelope: join(base, file.envelope) } : {}),
        ...(file.key ? { key: join(base, file.key) } : {}),
        line: lineOf(['spec', 'tests', t, 'attestations', a]),
      })),
      line: lineOf(['spec', 'tests', t], test.manifest === undefined ? undefined : 'manifest'),
      images: test.images.map((expectation, i) => ({
        ...expectation,
        line: lineOf(['spec', 'tests', t, 'images', i]),
      })),
    })),
  };
}

/**
 * The suites under the paths: files given by name must be suites; directories are searched
 * recursively for .yaml, .yml and .json files of kind ImagePolicyTest, beside the policies and
 * manifests they test, which are left alone.
 */
export function findPolicyTestSuites(paths: readonly string[]): PolicyTestSuite[] {
  const suites: PolicyTestSuite[] = [];
  const problems: string[] = [];
  for (const path of new Set(paths)) {
    let directory: boolean;
    try {
      directory = statSync(path).isDirectory();
    } catch {
      problems.push(`${path}: no such file or directory`);
      continue;
    }
    let found = 0;
    for (const file of directory ? walk(path) : [path]) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        problems.push(`${file}: ${(error as Error).message}`);
        continue;
      }
      if (!isSuite(file, text)) {
        if (!directory)
          problems.push(`${file}: is not a policy test suite (kind: ${IMAGE_POLICY_TEST_KIND})`);
        continue;
      }
      found++;
      try {
        suites.push(readPolicyTestSuite(file, text));
      } catch (error) {
        if (!(error instanceof CommandInputError)) throw error;
        problems.push(...error.problems);
      }
    }
    // A run of no tests must not pass, as a check of no manifests must not.
    if (directory && found === 0)
      problems.push(`${path}: holds no policy test suite (a YAML file of kind: ${IMAGE_POLICY_TEST_KIND})`);
  }
  if (problems.length > 0) throw new CommandInputError('cannot read the policy tests:', problems);
  return suites;
}
