import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ClusterMetrics } from '../src/cluster/cluster-metrics';
import { MetricsService } from '../src/metrics';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { codeSpans } from './support/readme';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

const ROOT = join(__dirname, '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** The metric names a PromQL expression reads: every identifier that names a registered family. */
const metricsIn = (expression: string, families: ReadonlySet<string>): string[] =>
  [...expression.matchAll(/[a-z_:][a-z0-9_:]*/g)]
    .map(([name]) => name)
    .filter((name) => /^(kube_image_bouncer|process|nodejs)_/.test(name))
    .map((name) => (families.has(name) ? name : name.replace(/_(bucket|count|sum)$/, '')));

/**
 * docs/operating.md lists every metric family the bouncer registers, a single process's and a
 * cluster primary's, and the shipped alerts and dashboard read only metrics that exist.
 */
describe('the metrics docs/operating.md lists', () => {
  let pki: TestPki;
  let server: RunningWebhookServer;
  let families: Set<string>;

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startTestServer(pki);
    const single = await server.app.get(MetricsService).registry.getMetricsAsJSON();
    const primary = (await new ClusterMetrics().scrape([])).text;
    families = new Set([
      ...single.map(({ name }) => name),
      ...[...primary.matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name),
    ]);
  });
  afterAll(() => server.close());

  it('are every family the bouncer registers, in one process and in a cluster', () => {
    const listed = new Set(codeSpans(read('docs/operating.md')));
    expect(families.size).toBeGreaterThan(40);
    expect([...families].filter((name) => !listed.has(name))).toEqual([]);
    expect(families).toContain('kube_image_bouncer_worker_restarts_total');
    expect(families).toContain('kube_image_bouncer_policy_reload_refused');
  });

  it('are the only ones the shipped alerts read', () => {
    const rules = parse(read('deploy/kubernetes/monitoring/prometheusrule.yaml')) as {
      spec: { groups: { rules: { alert: string; expr: string }[] }[] };
    };
    const alerts = rules.spec.groups.flatMap((group) =>
      group.rules.flatMap(({ expr }) => metricsIn(expr, families)),
    );
    expect(alerts).toContain('kube_image_bouncer_policy_reload_refused');
    expect(alerts.filter((name) => !families.has(name))).toEqual([]);
    // The example in docs/operating.md is the kit's rule, verbatim.
    const example = parse(
      /```yaml\n([\s\S]*?)```/.exec(read('docs/operating.md').split('### Alerts')[1])![1],
    ) as unknown[];
    expect(rules.spec.groups[0].rules).toEqual(expect.arrayContaining(example));
  });

  it('are the only ones the Grafana dashboard reads', () => {
    const expressions: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (typeof node === 'object' && node !== null)
        for (const [key, value] of Object.entries(node))
          if (key === 'expr' && typeof value === 'string') expressions.push(value);
          else walk(value);
    };
    walk(JSON.parse(read('deploy/grafana/kube-image-bouncer.json')));
    const names = expressions.flatMap((expression) => metricsIn(expression, families));
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((name) => !families.has(name))).toEqual([]);
  });
});
