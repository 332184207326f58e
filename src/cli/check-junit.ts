import { describeViolation } from '../policy';
import { CheckReport, describeException } from './check-report';
import { ManifestFinding, ManifestObject, ManifestReview, kindLabel } from './manifest-check';

/** What fails the run besides a denial, which always does: `--fail-on warn`, `--fail-on skipped`. */
export interface FailOn {
  /** A pod spec admitted with a warning. */
  readonly warn: boolean;
  /** A check the webhook would make with a registry, passed over offline. */
  readonly skipped: boolean;
}

/** Why a pod spec's test case fails, if it does. */
function failureOf(review: ManifestReview, failOn: FailOn): { message: string; type: string } | undefined {
  const resourceName = resource(review.object);
  if (review.outcome === 'deny') return { message: `${resourceName} would be denied`, type: 'deny' };
  if (failOn.warn && review.outcome === 'warn')
    return { message: `${resourceName} would be admitted with warnings`, type: 'warn' };
  if (failOn.skipped && review.registrySkipped > 0)
    return {
      message: `${resourceName}: ${review.registrySkipped} check(s) that need the registry were skipped (run with --online)`,
      type: 'skipped',
    };
  return undefined;
}

/** Text as XML character data or an attribute value. */
export const escape = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

/** ` name="value"` for each entry, escaped. */
export const attributes = (values: Record<string, string | number>): string =>
  Object.entries(values)
    .map(([name, value]) => ` ${name}="${escape(String(value))}"`)
    .join('');

const resource = (object: ManifestObject): string =>
  object.name ? `${object.kind}/${object.name}` : object.kind;

const caseName = (object: ManifestObject): string =>
  `${resource(object)} in ${object.namespace} (document ${object.document.index}${object.item === undefined ? '' : `, item ${object.item}`})`;

const findingText = (finding: ManifestFinding): string =>
  describeViolation(finding) +
  (finding.breakGlass ? `; allowed by break-glass ticket ${finding.breakGlass}` : '') +
  (finding.breakGlassRefused ? `; not let through: ${finding.breakGlassRefused}` : '');

interface TestCase {
  readonly file: string;
  readonly line: number;
  readonly xml: string;
  readonly failed: boolean;
  readonly skipped: boolean;
}

/**
 * `-o junit`: JUnit XML as CI systems (GitLab, Jenkins, Azure Pipelines) read it. One test suite
 * per file, one test case per pod spec, failed when the webhook would deny it (or, with
 * `--fail-on warn`, admit it with a warning; with `--fail-on skipped`, when a registry-aware check
 * of it was skipped); what spec.exceptions let through is the test case's output; objects with no
 * pod spec are skipped test cases, so the report shows what was not looked at.
 * https://github.com/testmoapp/junitxml
 */
export function checkJunit(report: CheckReport, failOn: FailOn): string {
  const cases: TestCase[] = [];
  for (const review of report.check.reviews) {
    const { object } = review;
    const failure = failureOf(review, failOn);
    const notes = [
      ...(failure && failure.type !== 'skipped'
        ? []
        : review.findings.map((f) => `warning: ${findingText(f)}`)),
      ...review.excepted.map((e) => `excepted: ${describeException(e)}`),
    ];
    const body =
      (failure
        ? `\n      <failure${attributes(failure)}>${failure.type === 'skipped' ? '' : escape(review.findings.map(findingText).join('\n'))}</failure>`
        : '') + (notes.length > 0 ? `\n      <system-out>${escape(notes.join('\n'))}</system-out>` : '');
    cases.push({
      file: object.document.file,
      line: review.line,
      failed: failure !== undefined,
      skipped: false,
      xml: `    <testcase${attributes({ classname: object.document.file, name: caseName(object), file: object.document.file, line: review.line })}${body ? `>${body}\n    </testcase>` : '/>'}`,
    });
  }
  for (const { object, line } of report.check.skipped) {
    cases.push({
      file: object.document.file,
      line,
      failed: false,
      skipped: true,
      xml: `    <testcase${attributes({ classname: object.document.file, name: caseName(object), file: object.document.file, line })}>\n      <skipped${attributes({ message: `${kindLabel(object)} has no pod spec at a place the webhook knows` })}/>\n    </testcase>`,
    });
  }
  const count = (of: readonly TestCase[]) => ({
    tests: of.length,
    failures: of.filter((c) => c.failed).length,
    errors: 0,
    skipped: of.filter((c) => c.skipped).length,
  });
  const { policy } = report;
  const suites = report.input.files
    .map((file) => ({ file, of: cases.filter((c) => c.file === file).sort((a, b) => a.line - b.line) }))
    .filter(({ of }) => of.length > 0)
    .map(({ file, of }) =>
      [
        `  <testsuite${attributes({ name: file, ...count(of) })}>`,
        `    <properties>`,
        `      <property${attributes({ name: 'policy', value: policy.name })}/>`,
        `      <property${attributes({ name: 'policy-revision', value: policy.revision })}/>`,
        `    </properties>`,
        ...of.map((c) => c.xml),
        `  </testsuite>`,
      ].join('\n'),
    );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attributes({ name: 'kube-image-bouncer check', ...count(cases) })}>`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
