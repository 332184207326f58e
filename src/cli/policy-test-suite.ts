import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Document, LineCounter, isMap, isNode, parseDocument, type Node } from 'yaml';
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

export interface PolicyTest {
  readonly name: string;
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
      images: { image: string; decision: ExpectedDecision; rules?: string[] }[];
    }[];
  };
}

// Compiled on first use, so that other commands do not pay for it at start.
let compiled: ValidateFunction<SuiteFile> | undefined;
const suiteValidator = (): ValidateFunction<SuiteFile> =>
  (compiled ??= new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile<SuiteFile>(
    buildImagePolicyTestSchema(),
  ));

type Path = (string | number)[];

const pointerToPath = (pointer: string): Path =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((step) => step.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((step) => (/^\d+$/.test(step) ? Number(step) : step));

const pathText = (path: Path): string =>
  path.reduce<string>(
    (text, step) => (typeof step === 'number' ? `${text}[${step}]` : text === '' ? step : `${text}.${step}`),
    '',
  );

/** A YAML document that can say on which line a key path is. */
function lineFinder(document: Document.Parsed, lineCounter: LineCounter) {
  return (path: Path, key?: string): number => {
    const node: unknown = path.length === 0 ? document.contents : document.getIn(path, true);
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find(
        (item) => isNode(item.key) && (item.key as Node & { value?: unknown }).value === key,
      );
      if (pair && isNode(pair.key) && pair.key.range) return lineCounter.linePos(pair.key.range[0]).line;
    }
    return isNode(node) && node.range ? lineCounter.linePos(node.range[0]).line : 1;
  };
}

/** ajv's errors, said as a person editing the file needs them: line, key path, what is wrong. */
function schemaProblem(
  error: ErrorObject,
  file: string,
  value: unknown,
  lineOf: (path: Path, key?: string) => number,
): string {
  const path = pointerToPath(error.instancePath);
  const found = path.reduce<unknown>(
    (node, step) =>
      node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[step] : undefined,
    value,
  );
  const got = found === undefined ? '' : ` (got ${JSON.stringify(found)?.slice(0, 80)})`;
  const params = error.params as Record<string, unknown>;
  const at = (where: Path, key?: string): string => {
    const text = pathText(key === undefined ? where : [...where, key]);
    return `${file}:${lineOf(where, key)}: ${text === '' ? '' : `${text} `}`;
  };
  switch (error.keyword) {
    case 'additionalProperties':
      return `${at(path, String(params.additionalProperty))}is not a known key`;
    case 'required':
      return `${at(path)}must have the key "${String(params.missingProperty)}"`;
    case 'enum':
      return `${at(path)}must be one of ${(params.allowedValues as unknown[]).join(', ')}${got}`;
    case 'const':
      return `${at(path)}must be ${String(params.allowedValue)}${got}`;
    case 'not':
      return `${at(path)}takes annotations or a manifest, not both: a manifest's objects carry their own`;
    case 'minItems':
    case 'minLength':
      return `${at(path)}must not be empty`;
    default:
      return `${at(path)}${error.message ?? 'is invalid'}${got}`;
  }
}

function parse(file: string, text: string): { document: Document.Parsed; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    logLevel: 'error',
  });
  return { document, lineCounter };
}

/** Whether a file is meant as a suite: it names the kind, and is of it or does not parse at all. */
function isSuite(file: string, text: string): boolean {
  if (!text.includes(IMAGE_POLICY_TEST_KIND)) return false;
  const { document } = parse(file, text);
  if (document.errors.length > 0) return true;
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
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
  const { document, lineCounter } = parse(file, text);
  const lineOf = lineFinder(document, lineCounter);
  const invalid = (problems: string[]) =>
    new CommandInputError(`invalid policy test suite ${file}:`, problems);
  if (document.errors.length > 0)
    throw invalid(
      document.errors.map(
        (e) => `${file}:${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`,
      ),
    );
  let value: unknown;
  try {
    // Bounded, so that a "billion laughs" of aliases is refused rather than expanded.
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw invalid([`${file}:1: ${(error as Error).message}`]);
  }
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
