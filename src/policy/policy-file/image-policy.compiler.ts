import { Inject, Injectable } from '@nestjs/common';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { createHash } from 'node:crypto';
import { closestName, parseDuration } from '../../config';
import { DEFAULT_BREAK_GLASS_MAX_HOURS } from '../break-glass';
import { NamespaceGlob } from '../patterns/glob';
import { ImagePattern } from '../patterns/image-pattern';
import { IMAGE_RULES, ImageRule, RuleValueError } from '../rules/image-rule';
import { compileImagePatterns } from '../rules/rule-values';
import { DockerConfigError, RegistryHostSettings, RegistrySettings, parseDockerConfig } from '../../registry';
import {
  CompiledImagePolicy,
  CompiledRule,
  LedgerPolicy,
  PinScope,
  PolicyException,
} from './compiled-image-policy';
import { DURATION_PATTERN, Enforcement, JsonSchemaOf, buildImagePolicySchema } from './image-policy.schema';
import { InvalidPolicyError, PolicyPath, PolicyProblem, formatPolicyPath } from './invalid-policy.error';
import { PolicyDocument, parsePolicyDocument, pointerToPath, valueAt } from './policy-document';
import { ReferencedFiles } from './referenced-files';

/** A policy file's shape once its schema has accepted it. */
interface ImagePolicyFile {
  metadata?: { name?: string };
  spec: {
    exemptNamespaces?: string[];
    exemptImages?: string[];
    breakGlass?: boolean;
    breakGlassMaxHours?: number;
    registries?: { host: string; caFile?: string; credentialsFile?: string; insecure?: boolean }[];
    registryTimeoutSeconds?: number;
    pinDigests?: boolean | { namespaces?: string[]; exemptImages?: string[]; podControllers?: boolean };
    registryCache?: {
      tagTtlSeconds?: number;
      verificationTtlSeconds?: number;
      verificationFailureTtlSeconds?: number;
    };
    exceptions?: { images: string[]; namespaces?: string[]; expires: string; ticket: string }[];
    verificationLedger?: { path?: string; admitVerifiedWithin?: string; refreshBefore?: string };
    allowPermissive?: boolean;
    rules: (Record<string, unknown> & {
      name?: string;
      enforcement?: Enforcement;
      namespaces?: string[];
      exemptImages?: string[];
    })[];
  };
}

/** The whole review's budget for registry work; the kits' webhook timeout is 5 s. */
export const DEFAULT_REGISTRY_TIMEOUT_SECONDS = 3;
/** A tag moves; a digest it resolved to is reused this long. */
export const DEFAULT_TAG_TTL_SECONDS = 30;
/** A digest's verified signature holds while the trust material and policy do. */
export const DEFAULT_VERIFICATION_TTL_SECONDS = 600;
/** Long enough to spare the registry a controller's retry loop, short enough for a fresh signature. */
export const DEFAULT_VERIFICATION_FAILURE_TTL_SECONDS = 5;
/** How long a verified digest may be admitted from the ledger during an outage, unless the policy says. */
export const DEFAULT_ADMIT_VERIFIED_WITHIN = '24h';
export const DEFAULT_REFRESH_BEFORE = '10m';
/** A month: past it, a verdict says more about the registry's past than about the image. */
const MAX_ADMIT_VERIFIED_WITHIN_MS = 30 * 86_400_000;

/** Records what is wrong at a path of the policy file; compiling goes on, to report every problem at once. */
type ReportProblem = (path: PolicyPath, message: string) => void;

/** Image patterns compiled, or none and a problem at `path` when one is not a valid pattern. */
function imagePatterns(
  values: string[] | undefined,
  path: PolicyPath,
  problem: ReportProblem,
): ImagePattern[] {
  try {
    return compileImagePatterns(values ?? []);
  } catch (error) {
    if (!(error instanceof RuleValueError)) throw error;
    problem([...path, ...error.path], error.message);
    return [];
  }
}

/** `spec.verificationLedger`, with its durations read and checked against each other. */
function compileLedgerPolicy(
  entry: NonNullable<ImagePolicyFile['spec']['verificationLedger']>,
  problem: ReportProblem,
): LedgerPolicy {
  const at = (key: string): PolicyPath => ['spec', 'verificationLedger', key];
  const within = parseDuration(entry.admitVerifiedWithin ?? DEFAULT_ADMIT_VERIFIED_WITHIN)!;
  const before = parseDuration(entry.refreshBefore ?? DEFAULT_REFRESH_BEFORE)!;
  if (within <= 0 || within > MAX_ADMIT_VERIFIED_WITHIN_MS)
    problem(
      at('admitVerifiedWithin'),
      `must be more than 0 and at most 30d${got(entry.admitVerifiedWithin)}`,
    );
  else if (before >= within)
    problem(
      at('refreshBefore'),
      `must be shorter than admitVerifiedWithin (${entry.admitVerifiedWithin ?? DEFAULT_ADMIT_VERIFIED_WITHIN})${got(entry.refreshBefore ?? DEFAULT_REFRESH_BEFORE)}`,
    );
  return { path: entry.path, admitVerifiedWithinMs: within, refreshBeforeMs: before };
}

// RFC 3339 date-time, as Kubernetes writes metav1.Time.
const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * The first 12 hex digits of a SHA-256 over the policy text and every file it names, so that
 * editing a referenced key or CA bundle is a new revision too. A policy naming no files keeps the
 * hash of its text alone.
 */
function policyRevision(text: string, files: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256').update(text);
  for (const [path, contents] of [...files].sort(([a], [b]) => (a < b ? -1 : 1)))
    hash.update('\0').update(path).update('\0').update(contents);
  return hash.digest('hex').slice(0, 12);
}

/**
 * Why a policy can deny nothing at all, or undefined when it can deny something: no rule, no rule
 * enforced, or a `*` namespace exemption that covers every review.
 */
function whyNothingIsDenied(
  rules: readonly CompiledRule[],
  exemptNamespaces: readonly NamespaceGlob[],
): string | undefined {
  const everyNamespace = exemptNamespaces.find((glob) => glob.source.replace(/\*+/g, '*') === '*');
  if (everyNamespace)
    return `spec.exemptNamespaces ${JSON.stringify(everyNamespace.source)} exempts every namespace`;
  if (rules.length === 0) return 'it has no rules';
  if (!rules.some((rule) => rule.enforcement === 'enforce'))
    return `no rule is enforced (${rules.map((r) => `${r.name}: ${r.enforcement}`).join(', ')})`;
  return undefined;
}

/** `spec.registries`, with each CA bundle and credentials file read and checked now, not at admission. */
function compileRegistrySettings(
  entries: NonNullable<ImagePolicyFile['spec']['registries']>,
  files: ReferencedFiles,
  problem: ReportProblem,
): RegistrySettings {
  const compiled = entries.map((entry, index): RegistryHostSettings => {
    const at = (key: string): PolicyPath => ['spec', 'registries', index, key];
    const read = (key: 'caFile' | 'credentialsFile'): string | undefined => {
      const path = entry[key];
      if (path === undefined) return undefined;
      try {
        return files.text(path);
      } catch (error) {
        problem(at(key), (error as Error).message);
        return undefined;
      }
    };
    const caPem = read('caFile');
    if (caPem !== undefined && !/-----BEGIN CERTIFICATE-----/.test(caPem))
      problem(at('caFile'), `${JSON.stringify(entry.caFile)} holds no PEM certificate`);
    const credentialsText = read('credentialsFile');
    let credentials;
    if (credentialsText !== undefined) {
      try {
        credentials = parseDockerConfig(credentialsText, JSON.stringify(entry.credentialsFile));
      } catch (error) {
        if (!(error instanceof DockerConfigError)) throw error;
        problem(at('credentialsFile'), error.message);
      }
    }
    return {
      host: entry.host,
      insecure: entry.insecure ?? false,
      caFile: entry.caFile,
      caPem,
      credentialsFile: entry.credentialsFile,
      credentials,
    };
  });
  return new RegistrySettings(compiled);
}

/** `spec.exceptions`, and a warning for each that has already expired. */
function compileExceptions(
  entries: NonNullable<ImagePolicyFile['spec']['exceptions']>,
  now: Date,
  where: (path: PolicyPath) => string,
  problem: ReportProblem,
): { exceptions: PolicyException[]; warnings: string[] } {
  const warnings: string[] = [];
  const exceptions = entries.flatMap((entry, index) => {
    const at: PolicyPath = ['spec', 'exceptions', index];
    const expires = RFC_3339.test(entry.expires) ? new Date(entry.expires) : undefined;
    if (expires === undefined || Number.isNaN(expires.getTime())) {
      problem(
        [...at, 'expires'],
        `must be an RFC 3339 time such as 2026-12-31T23:59:59Z${got(entry.expires)}`,
      );
      return [];
    }
    // Accepted, since it was fine when written and lapses on its own; but it no longer does anything.
    if (expires <= now)
      warnings.push(
        `${where([...at, 'expires'])}: ${formatPolicyPath(at)} (ticket ${entry.ticket}) expired at ${expires.toISOString()} and lets nothing through; remove it, or renew it with a later expires`,
      );
    return [
      new PolicyException(
        entry.ticket,
        expires,
        imagePatterns(entry.images, [...at, 'images'], problem),
        entry.namespaces?.map((glob) => new NamespaceGlob(glob)),
      ),
    ];
  });
  return { exceptions, warnings };
}

/** `spec.pinDigests`: true pins everywhere, a mapping says where; undefined when it pins nothing. */
function compilePinScope(
  pinDigests: ImagePolicyFile['spec']['pinDigests'],
  problem: ReportProblem,
): PinScope | undefined {
  if (pinDigests === true) return { exemptImages: [], podControllers: false };
  if (typeof pinDigests !== 'object') return undefined;
  return {
    namespaces: pinDigests.namespaces?.map((glob) => new NamespaceGlob(glob)),
    exemptImages: imagePatterns(pinDigests.exemptImages, ['spec', 'pinDigests', 'exemptImages'], problem),
    podControllers: pinDigests.podControllers ?? false,
  };
}

/** The registry deadline and cache lifetimes, in milliseconds, with their defaults. */
function registryTimes(
  spec: ImagePolicyFile['spec'],
): Pick<
  CompiledImagePolicy,
  'registryTimeoutMs' | 'tagTtlMs' | 'verificationTtlMs' | 'verificationFailureTtlMs'
> {
  return {
    registryTimeoutMs: (spec.registryTimeoutSeconds ?? DEFAULT_REGISTRY_TIMEOUT_SECONDS) * 1000,
    tagTtlMs: (spec.registryCache?.tagTtlSeconds ?? DEFAULT_TAG_TTL_SECONDS) * 1000,
    verificationTtlMs:
      (spec.registryCache?.verificationTtlSeconds ?? DEFAULT_VERIFICATION_TTL_SECONDS) * 1000,
    verificationFailureTtlMs:
      (spec.registryCache?.verificationFailureTtlSeconds ?? DEFAULT_VERIFICATION_FAILURE_TTL_SECONDS) * 1000,
  };
}

/** ` (did you mean "namespaces"?)` for a key close to one the schema knows there, as misspelt flags get. */
export function didYouMean(key: string, objectSchema: unknown): string {
  const properties = (objectSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  const meant = properties && closestName(key, Object.keys(properties));
  return meant ? ` (did you mean "${meant}"?)` : '';
}

const got = (value: unknown): string =>
  value === undefined ? '' : ` (got ${JSON.stringify(value)?.slice(0, 80) ?? typeof value})`;

/**
 * Of ajv's errors, those that say what is wrong, and each oneOf or anyOf that is a choice of keys
 * with its keys, by `${keyword} ${instancePath}`.
 */
function schemaErrorsWorthSaying(errors: readonly ErrorObject[]): {
  worthSaying: ErrorObject[];
  choiceOfKeys: ReadonlyMap<string, string[]>;
} {
  // Two kinds of oneOf: "exactly one of these keys" (a rule's check key), said by the oneOf error
  // itself; and a choice of types (pinDigests: true or {namespaces: ...}), where what is wrong
  // inside the branch the value took says it better. An anyOf of keys (a signature rule's keys,
  // certificates or notation; an identity's issuer or issuerRegExp) is "at least one of these
  // keys", said by the anyOf error alone, not by one "must have the key" per branch.
  const choiceOfKeys = new Map<string, string[]>();
  const typeChoices = new Map<string, ErrorObject>();
  const keysOf = (error: ErrorObject): string[] | undefined => {
    const branches = (error.schema ?? []) as { required?: string[] }[];
    const keys = branches.map((branch) => (branch.required?.length === 1 ? branch.required[0] : undefined));
    return keys.every((key) => key !== undefined) ? keys : undefined;
  };
  for (const error of errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')) {
    const keys = keysOf(error);
    if (keys !== undefined) choiceOfKeys.set(`${error.keyword} ${error.instancePath}`, keys);
    else if (error.keyword === 'oneOf') typeChoices.set(error.instancePath, error);
  }
  const choosesKeys = (e: ErrorObject): boolean =>
    ['oneOf', 'anyOf'].some(
      (keyword) => choiceOfKeys.has(`${keyword} ${e.instancePath}`) && e.schemaPath.includes(`/${keyword}/`),
    );
  const kept = errors.filter((e) => {
    if (e.keyword === 'oneOf') return choiceOfKeys.has(`oneOf ${e.instancePath}`);
    if (choosesKeys(e)) return false;
    // Inside a choice of types, a branch of another type is not what the user meant.
    if (
      [...typeChoices.keys()].some((path) => e.instancePath.startsWith(path)) &&
      e.schemaPath.includes('/oneOf/')
    )
      return !(typeChoices.has(e.instancePath) && e.keyword === 'type');
    return true;
  });
  for (const [path, error] of typeChoices)
    if (!kept.some((e) => e.instancePath.startsWith(path))) kept.push(error);
  return { worthSaying: kept, choiceOfKeys };
}

/** One schema error as a problem at its path; `keys` when it is a choice of keys. */
function schemaProblem(
  error: ErrorObject,
  document: PolicyDocument,
  keys?: readonly string[],
): PolicyProblem {
  const path = pointerToPath(error.instancePath);
  if (keys === undefined && error.keyword === 'additionalProperties') {
    const key = String((error.params as Record<string, unknown>).additionalProperty);
    return {
      path: [...path, key],
      line: document.locate(path, key),
      message: `is not a known key${didYouMean(key, error.parentSchema)}`,
    };
  }
  return {
    path,
    line: document.locate(path),
    message: schemaMessage(error, valueAt(document.value, path), keys),
  };
}

/** What is wrong with `value`, as one schema error says it. */
function schemaMessage(error: ErrorObject, value: unknown, keys?: readonly string[]): string {
  const params = error.params as Record<string, unknown>;
  if (keys !== undefined) {
    const present = keys.filter((key) => value !== null && typeof value === 'object' && key in value);
    const quantity = error.keyword === 'oneOf' ? 'exactly one' : 'at least one';
    return `must have ${quantity} of ${keys.join(', ')} (has ${present.length === 0 ? 'none' : present.join(', ')})`;
  }
  switch (error.keyword) {
    case 'required':
      return `must have the key "${String(params.missingProperty)}"`;
    case 'oneOf': {
      const types = ((error.schema ?? []) as { type?: string }[]).map((branch) => branch.type);
      return `must be ${types.map((type) => (type === 'object' ? 'a mapping' : `a ${type}`)).join(' or ')}${got(value)}`;
    }
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).join(', ')}${got(value)}`;
    case 'const':
      return `must be ${String(params.allowedValue)}${got(value)}`;
    case 'minItems':
    case 'minLength':
      return 'must not be empty';
    case 'uniqueItems':
      return 'must not repeat a value';
    case 'pattern':
      if (params.pattern === DURATION_PATTERN)
        return `must be a duration such as 24h, 90m or 7d${got(value)}`;
      return `must be letters, digits, '-', '_' and '.'${got(value)}`;
    default:
      return `${error.message ?? 'is invalid'}${got(value)}`;
  }
}

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
    // verbose: an unknown key's error carries the schema beside it, whose keys a did-you-mean reads.
    this.validate = new Ajv({ allErrors: true, strict: true, strictRequired: false, verbose: true }).compile(
      this.schema,
    );
  }

  /**
   * `known` holds texts of referenced files already read by whoever watches them; `now` is when
   * it loads, against which exceptions are found already expired.
   */
  compile(
    text: string,
    source: string,
    known?: ReadonlyMap<string, string>,
    now = new Date(),
  ): CompiledImagePolicy {
    const document = parsePolicyDocument(text, source);
    const file = this.validated(document, source);
    const problems: PolicyProblem[] = [];
    const problem: ReportProblem = (path, message) => {
      problems.push({ path, message, line: document.locate(path) });
    };

    const files = new ReferencedFiles(source, known);
    const rules = this.compileRules(file.spec.rules, files, problem);
    const exemptImages = imagePatterns(file.spec.exemptImages, ['spec', 'exemptImages'], problem);
    const { exceptions, warnings } = compileExceptions(
      file.spec.exceptions ?? [],
      now,
      (path) => `${source}:${document.locate(path)}`,
      problem,
    );
    const registries = compileRegistrySettings(file.spec.registries ?? [], files, problem);
    const pinScope = compilePinScope(file.spec.pinDigests, problem);
    const verificationLedger = compileLedgerPolicy(file.spec.verificationLedger ?? {}, problem);
    const exemptNamespaces = (file.spec.exemptNamespaces ?? []).map((glob) => new NamespaceGlob(glob));
    const permissive = whyNothingIsDenied(rules, exemptNamespaces);
    if (problems.length === 0 && permissive !== undefined && file.spec.allowPermissive !== true)
      problem(
        ['spec'],
        `can never deny an image: ${permissive}. One edit like this lets every image through; if that is meant, say so with allowPermissive: true`,
      );
    if (problems.length > 0) throw new InvalidPolicyError(source, problems);

    return {
      permissive,
      name: file.metadata?.name ?? source,
      source,
      revision: policyRevision(text, files.contents),
      referencedFiles: files.contents,
      registries,
      ...registryTimes(file.spec),
      exceptions,
      verificationLedger,
      warnings,
      pinDigests: pinScope,
      exemptNamespaces,
      exemptImages,
      // Off unless asked: any pod creator can write the annotation (see SECURITY.md).
      breakGlass: file.spec.breakGlass ?? false,
      breakGlassMaxHours: file.spec.breakGlassMaxHours ?? DEFAULT_BREAK_GLASS_MAX_HOURS,
      rules,
    };
  }

  /** The document as a policy file, or every way its schema refuses it. */
  private validated(document: PolicyDocument, source: string): ImagePolicyFile {
    if (!this.validate(document.value)) {
      throw new InvalidPolicyError(source, this.schemaProblems(this.validate.errors ?? [], document));
    }
    return document.value as ImagePolicyFile;
  }

  /** `spec.rules`, each compiled by the rule its check key names; a rule whose values are refused is left out. */
  private compileRules(
    entries: ImagePolicyFile['spec']['rules'],
    files: ReferencedFiles,
    problem: ReportProblem,
  ): CompiledRule[] {
    const names = new Set<string>();
    return entries.flatMap((entry, index) => {
      const at: PolicyPath = ['spec', 'rules', index];
      const key = [...this.rulesByKey.keys()].find((k) => k in entry)!;
      const rule = this.rulesByKey.get(key)!;
      const name = entry.name ?? `${key}-${index + 1}`;
      if (names.has(name))
        problem([...at, 'name'], `repeats the rule name "${name}"; rule names must be unique`);
      names.add(name);
      let settings: unknown;
      try {
        settings = rule.compile(entry[key], { readFile: (path) => files.text(path) });
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
          exemptImages: imagePatterns(entry.exemptImages, [...at, 'exemptImages'], problem),
        },
      ];
    });
  }

  /** ajv's errors, said the way a person editing the file needs them. */
  private schemaProblems(errors: readonly ErrorObject[], document: PolicyDocument): PolicyProblem[] {
    const { worthSaying, choiceOfKeys } = schemaErrorsWorthSaying(errors);
    return worthSaying.map((error) =>
      schemaProblem(error, document, choiceOfKeys.get(`${error.keyword} ${error.instancePath}`)),
    );
  }
}
