import {
  ConditionBudget,
  ConditionSource,
  InvalidCondition,
  compileConditions,
  failedCondition,
  judgeStatement,
} from './attestation-conditions';
import { MAX_COST_PER_REVIEW, MAX_EXPRESSION_LENGTH, MAX_PREDICATE_DEPTH } from './condition-budgets';
import { EXAMPLE_IMAGE, EXAMPLE_NOW, conditionResults, judgeExample } from '../testing/condition-judging';

const RELEASE_WORKFLOW = 'https://github.com/acme/.github/workflows/release.yml@refs/heads/main';
const IMAGE = EXAMPLE_IMAGE;
const NOW = EXAMPLE_NOW;

/** The examples, as the policy writes them. */
const BUILT_BY_OUR_CI: ConditionSource[] = [
  {
    expression: `predicate.runDetails.builder.id == "${RELEASE_WORKFLOW}"`,
    message: 'built by the release workflow on main',
  },
  {
    expression:
      'predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/acme/app"',
  },
];
const SCANNED_THIS_WEEK: ConditionSource[] = [
  {
    expression: 'now - timestamp(predicate.metadata.scanFinishedOn) < duration("168h")',
    message: 'scanned in the last 7 days',
  },
  {
    expression:
      '!predicate.scanner.result.Results.exists(r, has(r.Vulnerabilities) && r.Vulnerabilities.exists(v, v.Severity == "CRITICAL"))',
    message: 'no critical vulnerabilities',
  },
];

const provenance = (builder = RELEASE_WORKFLOW, repository = 'https://github.com/acme/app') => ({
  _type: 'https://in-toto.io/Statement/v1',
  predicateType: 'https://slsa.dev/provenance/v1',
  subject: [{ name: 'demo/app', digest: { sha256: 'a'.repeat(64) } }],
  predicate: {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: {
        workflow: { ref: 'refs/heads/main', repository, path: '.github/workflows/release.yml' },
      },
    },
    runDetails: {
      builder: { id: builder },
      metadata: { invocationId: 'https://github.com/acme/app/actions/runs/1' },
    },
  },
});

const scan = (finishedOn: string, severities: string[]) => ({
  _type: 'https://in-toto.io/Statement/v1',
  predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  predicate: {
    invocation: { uri: 'https://github.com/aquasecurity/trivy' },
    scanner: {
      uri: 'pkg:github/aquasecurity/trivy@v0.58.0',
      result: {
        SchemaVersion: 2,
        Results: [
          { Target: 'demo/app (alpine 3.20)', Class: 'os-pkgs' },
          {
            Target: 'app.jar',
            Vulnerabilities: severities.map((Severity, i) => ({
              VulnerabilityID: `CVE-2026-${i}`,
              Severity,
            })),
          },
        ],
      },
    },
    metadata: { scanStartedOn: finishedOn, scanFinishedOn: finishedOn },
  },
});

const judge = judgeExample;
const results = conditionResults;

const compileError = (expression: string): InvalidCondition => {
  try {
    compileConditions([{ expression: 'true' }, { expression }]);
  } catch (error) {
    if (error instanceof InvalidCondition) return error;
    throw error;
  }
  throw new Error(`${expression} compiled`);
};

describe(compileConditions.name, () => {
  it("compiles the issue's examples", () => {
    expect(compileConditions([...BUILT_BY_OUR_CI, ...SCANNED_THIS_WEEK])).toHaveLength(4);
  });

  it.each([
    ['predicate.runDetails.builder.id ==', 'syntax error: ', 32],
    ['predicat.runDetails.builder.id == "x"', "undeclared reference to 'predicat'", 0],
    ['size(1) == 1', "found no matching overload for 'size' applied to '(int)'", 0],
    ['"v" + 1 == "v1"', "found no matching overload for '+' applied to '(string, int)'", 3],
    ['now.year == 2026', "type 'timestamp' does not support field selection (.year)", 3],
    [
      'image.digest.startsWith(1)',
      "found no matching overload for 'startsWith' applied to 'string.(int)'",
      12,
    ],
    ['Message{a: 1} == null', 'message Message cannot be built: conditions have no message types', 0],
  ])('refuses %s, saying why and where', (expression, message, offset) => {
    const error = compileError(expression);

    expect(error.index).toBe(1);
    expect(error.message).toContain(message);
    expect(error.problem.offset).toBe(offset);
  });

  it.each([
    ['size(predicate.scanner.result.Results)', 'int'],
    ['predicate.metadata.scanFinishedOn + "Z"', 'string'],
    ['image', 'map(string, string)'],
    ['timestamp(predicate.metadata.scanFinishedOn)', 'timestamp'],
    ['[true]', 'list(bool)'],
  ])('refuses %s, which cannot be boolean', (expression, type) => {
    expect(compileError(expression).message).toBe(`must be a boolean expression, but is of type ${type}`);
  });

  it('accepts what is read from the predicate (dyn), which is judged when it runs, as Kubernetes does', () => {
    expect(() => compileConditions([{ expression: 'predicate.allowed' }])).not.toThrow();
  });

  it('refuses an expression longer than the limit', () => {
    expect(compileError(`${'true && '.repeat(MAX_EXPRESSION_LENGTH / 8)}true`).message).toBe(
      `is longer than ${MAX_EXPRESSION_LENGTH} characters`,
    );
  });
});

describe(judgeStatement.name, () => {
  it('satisfies the provenance example, and names the first condition that fails by its message', () => {
    expect(judge(BUILT_BY_OUR_CI, provenance())).toMatchObject({ satisfied: true });
    const other = judge(
      BUILT_BY_OUR_CI,
      provenance('https://github.com/acme/.github/workflows/release.yml@refs/heads/dev'),
    );

    expect(results(other)).toEqual([false, true]);
    expect(failedCondition(other)).toBe('built by the release workflow on main');
  });

  it('names a failing condition without a message by its expression', () => {
    const forked = judge(BUILT_BY_OUR_CI, provenance(RELEASE_WORKFLOW, 'https://github.com/fork/app'));

    expect(failedCondition(forked)).toBe(BUILT_BY_OUR_CI[1].expression);
  });

  it('satisfies the scan example with a fresh scan and no critical finding, and not otherwise', () => {
    expect(results(judge(SCANNED_THIS_WEEK, scan('2026-12-05T08:00:00Z', ['HIGH', 'LOW'])))).toEqual([
      true,
      true,
    ]);
    expect(results(judge(SCANNED_THIS_WEEK, scan('2026-11-20T08:00:00Z', ['HIGH'])))).toEqual([false, true]);
    expect(results(judge(SCANNED_THIS_WEEK, scan('2026-12-05T08:00:00Z', ['HIGH', 'CRITICAL'])))).toEqual([
      true,
      false,
    ]);
  });

  it('reads the image, the whole statement and now', () => {
    const outcome = judge(
      [
        { expression: `image.reference == "${IMAGE.reference}" && image.digest == "${IMAGE.digest}"` },
        { expression: 'image.repository == "demo/app" && image.registry == "127.0.0.1:5000"' },
        { expression: 'statement.subject.exists(s, "sha256:" + s.digest.sha256 == image.digest)' },
        { expression: 'now == timestamp("2026-12-06T12:00:00Z")' },
      ],
      provenance(),
    );

    expect(results(outcome)).toEqual([true, true, true, true]);
  });

  it('reads JSON integers as ints and other numbers as doubles, comparing across them as CEL does', () => {
    const outcome = judge(
      [
        { expression: 'predicate.scanner.result.SchemaVersion == 2' },
        { expression: 'predicate.scanner.result.SchemaVersion < 2.5' },
        { expression: 'type(predicate.scanner.result.SchemaVersion) == int' },
      ],
      scan('2026-12-05T08:00:00Z', []),
    );

    expect(results(outcome)).toEqual([true, true, true]);
  });

  it('makes a field the statement lacks an error, which is not satisfied and names the field', () => {
    const outcome = judge(SCANNED_THIS_WEEK.slice(0, 1), provenance());

    expect(outcome.satisfied).toBe(false);
    expect(results(outcome)).toEqual(['error: field not found: metadata']);
    expect(failedCondition(outcome)).toBe('scanned in the last 7 days (error: field not found: metadata)');
  });

  it('makes a value that is not boolean an error, never a pass', () => {
    expect(results(judge([{ expression: 'predicate.runDetails.builder.id' }], provenance()))).toEqual([
      'error: is not a boolean: it came to a value of another type',
    ]);
  });

  it('lets nothing of a JavaScript object through: only the statement’s own keys are fields', () => {
    expect(
      results(
        judge([{ expression: '!has(predicate.constructor) && !has(predicate.toString)' }], provenance()),
      ),
    ).toEqual([true]);
  });

  it('judges the same statement for the same image once per review: three containers, one evaluation', () => {
    const budget = new ConditionBudget();
    // A condition that reads the image, so that another image is judged anew within the review.
    const conditions = compileConditions([
      ...BUILT_BY_OUR_CI,
      { expression: 'image.repository == "demo/app"' },
    ]);
    const statement = provenance();
    const outcomes = [1, 2, 3].map(() => judgeStatement(conditions, statement, IMAGE, NOW, budget));
    const spent = outcomes[0].outcomes.reduce((sum, o) => sum + o.cost, 0);

    expect(outcomes[1]).toBe(outcomes[0]);
    expect(outcomes[2]).toBe(outcomes[0]);
    expect(budget.remaining).toBe(MAX_COST_PER_REVIEW - spent);
    expect(judgeStatement(conditions, statement, { ...IMAGE, reference: 'other' }, NOW, budget)).not.toBe(
      outcomes[0],
    );
  });

  describe('across reviews', () => {
    const spentOn = (budget: ConditionBudget): number => MAX_COST_PER_REVIEW - budget.remaining;

    it('judges conditions that read the statement alone once per statement, and charges later reviews nothing', () => {
      const conditions = compileConditions(BUILT_BY_OUR_CI);
      const statement = provenance();
      const [first, second] = [new ConditionBudget(), new ConditionBudget()];
      const outcome = judgeStatement(conditions, statement, IMAGE, NOW, first);

      expect(judgeStatement(conditions, statement, { ...IMAGE, reference: 'other' }, NOW, second)).toBe(
        outcome,
      );
      expect(spentOn(first)).toBeGreaterThan(0);
      expect(spentOn(second)).toBe(0);
      expect(judgeStatement(conditions, provenance(), IMAGE, NOW, second)).not.toBe(outcome);
    });

    it('judges a condition that reads now again in each review', () => {
      const conditions = compileConditions(SCANNED_THIS_WEEK);
      const statement = scan('2026-12-01T00:00:00Z', []);

      expect(judgeStatement(conditions, statement, IMAGE, NOW, new ConditionBudget()).satisfied).toBe(true);
      const aWeekLater = new Date(NOW.getTime() + 7 * 24 * 3600 * 1000);
      expect(judgeStatement(conditions, statement, IMAGE, aWeekLater, new ConditionBudget()).satisfied).toBe(
        false,
      );
    });

    it('judges a condition that reads the image again in each review', () => {
      const conditions = compileConditions([{ expression: 'image.reference.endsWith(":v1")' }]);
      const statement = provenance();

      expect(judgeStatement(conditions, statement, IMAGE, NOW, new ConditionBudget()).satisfied).toBe(true);
      const other = { ...IMAGE, reference: '127.0.0.1:5000/demo/app:v2' };
      expect(judgeStatement(conditions, statement, other, NOW, new ConditionBudget()).satisfied).toBe(false);
    });

    it('takes a word now or image anywhere in the text, even in a string, as reading the review', () => {
      const [inString] = compileConditions([{ expression: 'predicate.runDetails.builder.id != "now"' }]);
      const [field] = compileConditions([{ expression: 'has(predicate.image)' }]);
      const [statementOnly] = compileConditions([
        { expression: 'has(predicate.nowhere) || has(predicate.images)' },
      ]);

      expect([inString.readsReview, field.readsReview, statementOnly.readsReview]).toEqual([
        true,
        true,
        false,
      ]);
    });

    it("does not keep what the review's spent budget cut short: the next review judges it whole", () => {
      const conditions = compileConditions(BUILT_BY_OUR_CI);
      const statement = provenance();
      const spent = new ConditionBudget();
      spent.remaining = 0;

      expect(judgeStatement(conditions, statement, IMAGE, NOW, spent).satisfied).toBe(false);
      expect(judgeStatement(conditions, statement, IMAGE, NOW, new ConditionBudget()).satisfied).toBe(true);
    });
  });

  describe('statements too large or deep for CEL', () => {
    it('refuses a statement nested deeper than the limit, and runs no condition on it', () => {
      let deep: unknown = 'bottom';
      for (let i = 0; i < MAX_PREDICATE_DEPTH + 1; i++) deep = { d: deep };
      const outcome = judge([{ expression: 'true' }], { predicate: deep });

      expect(outcome).toEqual({
        satisfied: false,
        outcomes: [],
        refused: `the statement nests deeper than ${MAX_PREDICATE_DEPTH} levels`,
      });
      expect(failedCondition(outcome)).toBe(outcome.refused);
    });
  });
});
