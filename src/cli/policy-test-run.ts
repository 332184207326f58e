import { accessSync, constants, readFileSync } from 'node:fs';
import { locatePodSpec, podSpecReviewRequest } from '../admission';
import { ImagePolicyService, ImageVerdict, PolicyDecision, withPolicyEngine } from '../policy';
import { warnAboutPolicy } from './policy-warnings';
import { CommandInputError } from './command-input.error';
import { checkManifests, kindLabel } from './manifest-check';
import { readManifests } from './manifest-source';
import { ExpectedDecision } from './policy-test.schema';
import { LocalAttestation, TrustMaterialError, trustedKey } from '../verification';
import { AttestationFile, ImageExpectation, PolicyTest, PolicyTestSuite } from './policy-test-suite';

/** What the engine made of one image: its decision, and every rule it violates. */
export interface ImageOutcome {
  readonly decision: ExpectedDecision;
  readonly rules: readonly string[];
  /** The namespace it was judged in: the test's, or for a manifest the object's. */
  readonly namespace: string;
  /** For an image of a manifest: `Deployment/web`, where the outcome was found. */
  readonly resource?: string;
}

/** One row of the results: an expectation and what came of it, or an image nobody expected. */
export interface ExpectationResult {
  readonly suite: PolicyTestSuite;
  readonly test: PolicyTest;
  readonly image: string;
  readonly line: number;
  readonly expected?: ImageExpectation;
  /** Absent when the image is not in the test's manifest. */
  readonly got?: ImageOutcome;
  readonly passed: boolean;
}

export interface SuiteRun {
  readonly suite: PolicyTestSuite;
  readonly policy: { readonly name: string; readonly source: string; readonly revision: string };
  readonly results: readonly ExpectationResult[];
}

/**
 * An image's part in the review it was judged in. Enforced violations deny it, unless the review
 * was let through (by break-glass), which kubectl shows as a warning; warn-mode ones warn.
 */
function imageOutcome(
  verdict: ImageVerdict,
  decision: PolicyDecision,
  namespace: string,
  resource?: string,
): ImageOutcome {
  const violated = (enforcement: string): boolean =>
    verdict.violations.some((v) => v.enforcement === enforcement);
  const outcome: ExpectedDecision = violated('enforce')
    ? decision.allowed
      ? 'warn'
      : 'deny'
    : violated('warn')
      ? 'warn'
      : 'allow';
  return {
    decision: outcome,
    rules: [...new Set(verdict.violations.map((v) => v.rule))],
    namespace,
    resource,
  };
}

const sameRules = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().every((rule, i) => rule === [...b].sort()[i]);

const meets = (expected: ImageExpectation, got: ImageOutcome): boolean =>
  expected.decision === got.decision &&
  (expected.rules === undefined || sameRules(expected.rules, got.rules));

/**
 * A test's attestation files, read now: a statement or envelope that is not JSON, or a key that is
 * not a PEM public key, is a problem with the suite, at the line that names it.
 */
function readAttestations(suite: PolicyTestSuite, files: readonly AttestationFile[]): LocalAttestation[] {
  return files.map((file) => {
    const problem = (message: string) =>
      new CommandInputError('cannot read the policy tests:', [`${suite.file}:${file.line}: ${message}`]);
    const json = (path: string): unknown => {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        throw problem(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw problem(`${path} is not JSON: ${(error as Error).message}`);
      }
    };
    if (file.statement !== undefined) {
      const statement = json(file.statement);
      if (typeof statement !== 'object' || statement === null || Array.isArray(statement))
        throw problem(`${file.statement} is not an in-toto statement (a JSON object)`);
      return { file: file.statement, statement: statement as Record<string, unknown> };
    }
    const envelope = json(file.envelope!);
    if (file.key === undefined) return { file: file.envelope!, envelope };
    let pem: string;
    try {
      pem = readFileSync(file.key, 'utf8');
    } catch (error) {
      throw problem(`cannot read ${file.key}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      return { file: file.envelope!, envelope, key: trustedKey(pem, file.key) };
    } catch (error) {
      if (error instanceof TrustMaterialError) throw problem(error.message);
      throw error;
    }
  });
}

/** The images of a test with no manifest: one pod, judged as one review, as `check` would judge it. */
async function podOutcomes(
  engine: ImagePolicyService,
  test: PolicyTest,
  attestations: readonly LocalAttestation[] | undefined,
): Promise<[string, ImageOutcome][]> {
  const object = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'test', namespace: test.namespace, annotations: test.annotations },
    spec: { containers: test.images.map(({ image }, i) => ({ name: `container-${i}`, image })) },
  };
  const request = podSpecReviewRequest({
    object,
    location: locatePodSpec('', 'Pod')!,
    objectName: 'Pod/test',
    namespace: test.namespace,
  });
  const decision = await engine.evaluate(request, {
    registry: 'online',
    ...(attestations ? { attestations } : {}),
  });
  return decision.verdicts.map((verdict) => [
    verdict.subject.image,
    imageOutcome(verdict, decision, test.namespace),
  ]);
}

/** Every image of every pod spec of the manifest, found and judged exactly as `check` does. */
async function manifestOutcomes(
  engine: ImagePolicyService,
  test: PolicyTest,
  attestations: readonly LocalAttestation[] | undefined,
): Promise<[string, ImageOutcome][]> {
  const input = readManifests([test.manifest!], () => '');
  const check = await checkManifests(engine, input.documents, test.namespace, {
    online: false,
    ...(attestations ? { attestations } : {}),
  });
  return check.reviews.flatMap(({ object, decision }) =>
    decision.verdicts.map((verdict): [string, ImageOutcome] => [
      verdict.subject.image,
      imageOutcome(verdict, decision, object.namespace, `${kindLabel(object)}/${object.name}`),
    ]),
  );
}

async function runTest(
  engine: ImagePolicyService,
  suite: PolicyTestSuite,
  test: PolicyTest,
): Promise<ExpectationResult[]> {
  const attestations = test.attestations.length > 0 ? readAttestations(suite, test.attestations) : undefined;
  const outcomes = test.manifest
    ? await manifestOutcomes(engine, test, attestations)
    : await podOutcomes(engine, test, attestations);
  const results: ExpectationResult[] = test.images.map((expected) => {
    const found = outcomes.filter(([image]) => image === expected.image).map(([, outcome]) => outcome);
    // An image in several containers must meet the expectation in each; the first that does not is shown.
    const got = found.find((outcome) => !meets(expected, outcome)) ?? found[0];
    return {
      suite,
      test,
      image: expected.image,
      line: expected.line,
      expected,
      got,
      passed: got !== undefined && meets(expected, got),
    };
  });
  // In a manifest, an image nobody wrote an expectation for fails: it would otherwise pass unseen.
  const expected = new Set(test.images.map(({ image }) => image));
  const unexpected = new Map(outcomes.filter(([image]) => !expected.has(image)));
  for (const [image, got] of unexpected)
    results.push({ suite, test, image, line: test.line, got, passed: false });
  return results;
}

/** Runs each suite against its policy, loaded into the engine `check` and `serve` run. */
export async function runPolicyTestSuites(suites: readonly PolicyTestSuite[]): Promise<SuiteRun[]> {
  const unreadable = suites.flatMap((suite) => {
    try {
      accessSync(suite.policy, constants.R_OK);
      return [];
    } catch {
      return [`${suite.file}: spec.policy ${suite.policy} cannot be read`];
    }
  });
  if (unreadable.length > 0) throw new CommandInputError('cannot read the policy tests:', unreadable);
  const runs: SuiteRun[] = [];
  for (const suite of suites) {
    runs.push(
      await withPolicyEngine(suite.policy, async (engine) => {
        warnAboutPolicy(engine.policy);
        const results: ExpectationResult[] = [];
        for (const test of suite.tests) results.push(...(await runTest(engine, suite, test)));
        const { name, source, revision } = engine.policy;
        return { suite, policy: { name, source, revision }, results };
      }),
    );
  }
  return runs;
}
