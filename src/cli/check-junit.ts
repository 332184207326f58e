import { describeViolation } from '../policy/policy-decision';
import { CheckReport } from './check-report';
import { ManifestFinding, ManifestObject, kindLabel } from './manifest-check';

/** What fails the run: denials only (the default), or warnings too (`--fail-on warn`). */
export type FailOn = 'deny' | 'warn';

const escape = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

const attributes = (values: Record<string, string | number>): string =>
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
 * `--fail-on warn`, admit it with a warning); objects with no pod spec are skipped test cases, so the
 * report shows what was not looked at. https://github.com/testmoapp/junitxml
 */
export function checkJunit(report: CheckReport, failOn: FailOn): string {
  const cases: TestCase[] = [];
  for (const review of report.check.reviews) {
    const { object } = review;
    const failed = review.outcome === 'deny' || (failOn === 'warn' && review.outcome === 'warn');
    const body = failed
      ? `\n      <failure${attributes({
          message: `${resource(object)} would be ${review.outcome === 'deny' ? 'denied' : 'admitted with warnings'}`,
          type: review.outcome,
        })}>${escape(review.findings.map(findingText).join('\n'))}</failure>\n    `
      : review.findings.length > 0
        ? `\n      <system-out>${escape(review.findings.map((f) => `warning: ${findingText(f)}`).join('\n'))}</system-out>\n    `
        : '';
    cases.push({
      file: object.document.file,
      line: review.line,
      failed,
      skipped: false,
      xml: `    <testcase${attributes({ classname: object.document.file, name: caseName(object), file: object.document.file, line: review.line })}${body ? `>${body}</testcase>` : '/>'}`,
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
