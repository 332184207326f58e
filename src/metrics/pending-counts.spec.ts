import { Counter, Registry } from 'prom-client';
import { PendingCounts } from './pending-counts';

interface DecisionsCounter {
  readonly registry: Registry;
  readonly counter: Counter<'endpoint' | 'decision' | 'rule'>;
  readonly count: (values: string[], by?: number) => void;
}

function decisionsCounter(): DecisionsCounter {
  const registry = new Registry();
  const pending = new PendingCounts(['endpoint', 'decision', 'rule'] as const);
  const counter: Counter<'endpoint' | 'decision' | 'rule'> = new Counter({
    name: 'decisions_total',
    help: 'decisions',
    labelNames: ['endpoint', 'decision', 'rule'] as const,
    registers: [registry],
    collect: (): void => pending.flushInto(counter),
  });
  return { registry, counter, count: (values, by) => pending.add(values, by) };
}

async function values(counter: Counter<string>): Promise<Record<string, number>> {
  const { values } = await counter.get();
  return Object.fromEntries(values.map(({ labels, value }) => [Object.values(labels).join(' '), value]));
}

describe(PendingCounts.name, () => {
  it('gives a read every increment made before it, by label set', async () => {
    const { counter, count } = decisionsCounter();
    count(['validate', 'allow', '']);
    count(['validate', 'allow', '']);
    count(['validate', 'deny', 'no-latest']);
    count(['mutate', 'allow', ''], 3);
    expect(await values(counter)).toEqual({
      'validate allow ': 2,
      'validate deny no-latest': 1,
      'mutate allow ': 3,
    });
  });

  it('hands each increment over once: a second read adds only what came after the first', async () => {
    const { counter, registry, count } = decisionsCounter();
    count(['validate', 'allow', '']);
    await registry.metrics();
    count(['validate', 'allow', '']);
    await registry.metrics();
    expect(await values(counter)).toEqual({ 'validate allow ': 2 });
  });

  it('keeps label sets apart that a joined key would merge', async () => {
    const { counter, count } = decisionsCounter();
    count(['a b', 'c', '']);
    count(['a', 'b c', '']);
    const { values: series } = await counter.get();
    expect(series.map(({ labels, value }) => ({ ...labels, value }))).toEqual([
      { endpoint: 'a b', decision: 'c', rule: '', value: 1 },
      { endpoint: 'a', decision: 'b c', rule: '', value: 1 },
    ]);
  });

  it('reaches the exposition text a scrape reads', async () => {
    const { registry, count } = decisionsCounter();
    count(['validate', 'warn', 'signed-by-ci']);
    expect(await registry.metrics()).toContain(
      'decisions_total{endpoint="validate",decision="warn",rule="signed-by-ci"} 1',
    );
  });
});
