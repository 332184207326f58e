import { alignColumns } from './aligned-columns';
import { ImageOutcome, SuiteRun } from './policy-test-run';

const described = (outcome: { decision: string; rules?: readonly string[] }): string =>
  outcome.rules === undefined || outcome.rules.length === 0
    ? outcome.decision
    : `${outcome.decision} (${outcome.rules.join(', ')})`;

/** The rules found, in the order the expectation lists them, so that a match reads as one. */
function gotText(got: ImageOutcome | undefined, expected: readonly string[] = []): string {
  if (!got) return 'not in the manifest';
  const rank = (rule: string): number => (expected.includes(rule) ? expected.indexOf(rule) : expected.length);
  return described({ decision: got.decision, rules: [...got.rules].sort((a, b) => rank(a) - rank(b)) });
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

export function summaryLine(runs: readonly SuiteRun[]): string {
  const results = runs.flatMap((run) => run.results);
  const failed = results.filter((result) => !result.passed).length;
  const tests = runs.reduce((sum, run) => sum + run.suite.tests.length, 0);
  const where = `in ${plural(tests, 'test')} of ${plural(runs.length, 'suite')}`;
  return failed === 0
    ? `passed: ${results.length} of ${plural(results.length, 'check')} ${where}`
    : `FAILED: ${failed} of ${plural(results.length, 'check')} ${where}`;
}

/** One row per expectation, as `kyverno test` prints its results, then the summary. */
export function policyTestTable(runs: readonly SuiteRun[]): string {
  const rows = runs.flatMap((run) =>
    run.results.map((result) => [
      `${result.suite.file}:${result.line}`,
      result.test.name,
      result.got?.namespace ?? result.test.namespace,
      result.image,
      result.expected ? described(result.expected) : 'no expectation written',
      gotText(result.got, result.expected?.rules),
      result.passed ? 'pass' : 'FAIL',
    ]),
  );
  const table = alignColumns([
    ['LOCATION', 'TEST', 'NAMESPACE', 'IMAGE', 'EXPECTED', 'GOT', 'RESULT'],
    ...rows,
  ]);
  return `${[...table, '', summaryLine(runs)].join('\n')}\n`;
}

/** `-o json`: every key always present, null when it does not apply. */
export function policyTestJson(runs: readonly SuiteRun[]): unknown {
  const results = runs.flatMap((run) => run.results);
  return {
    summary: {
      suites: runs.length,
      tests: runs.reduce((sum, run) => sum + run.suite.tests.length, 0),
      checks: results.length,
      failed: results.filter((result) => !result.passed).length,
    },
    suites: runs.map((run) => ({
      file: run.suite.file,
      name: run.suite.name,
      policy: run.policy,
      results: run.results.map((result) => ({
        line: result.line,
        test: result.test.name,
        namespace: result.got?.namespace ?? result.test.namespace,
        manifest: result.test.manifest ?? null,
        image: result.image,
        expected: result.expected
          ? { decision: result.expected.decision, rules: result.expected.rules ?? null }
          : null,
        got: result.got
          ? { decision: result.got.decision, rules: result.got.rules, resource: result.got.resource ?? null }
          : null,
        passed: result.passed,
      })),
    })),
  };
}
