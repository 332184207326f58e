import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  MEASURED,
  MEMORY_MARGIN,
  dockerMemoryMb,
  kubernetesQuantityMb,
  requiredMemoryMb,
  systemdMemoryMb,
} from './support/memory-sizing';

const ROOT = join(__dirname, '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** What a kit runs: how many workers it sets, and the memory limit it gives them. */
interface KitSizing {
  readonly workers: number;
  readonly limitMb: number;
}

interface Container {
  env: { name: string; value: string }[];
  resources: { requests: { memory: string }; limits: { memory: string } };
}

function kubernetesKit(): KitSizing {
  const deployment = parse(read('deploy/kubernetes/base/deployment.yaml')) as {
    spec: { template: { spec: { containers: Container[] } } };
  };
  const [container] = deployment.spec.template.spec.containers;
  const workers = container.env.find(({ name }) => name === 'BOUNCER_WORKERS')?.value;
  return { workers: Number(workers), limitMb: kubernetesQuantityMb(container.resources.limits.memory) };
}

function composeKit(): KitSizing {
  const compose = parse(read('deploy/vm/docker-compose.yml')) as {
    services: Record<string, { mem_limit: string; environment: Record<string, string> }>;
  };
  const service = compose.services['kube-image-bouncer'];
  return { workers: Number(service.environment.BOUNCER_WORKERS), limitMb: dockerMemoryMb(service.mem_limit) };
}

/** `Key=value` lines of a systemd unit, continuation lines joined. */
function unitSettings(path: string): { key: string; value: string }[] {
  return read(path)
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => /^([A-Za-z]+)=(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, key, value]) => ({ key, value }));
}
const environmentOf = (settings: { key: string; value: string }[]): Record<string, string> =>
  Object.fromEntries(
    settings
      .filter(({ key }) => key === 'Environment')
      .map(({ value }): [string, string] => {
        const [name, ...rest] = value.split('=');
        return [name, rest.join('=')];
      }),
  );

function dockerUnitKit(): KitSizing {
  const settings = unitSettings('deploy/vm/kube-image-bouncer.service');
  const environment = environmentOf(settings);
  const start = settings.find(({ key }) => key === 'ExecStart')!.value;
  // The docker command must use the variables, or they would size nothing.
  expect(start).toContain('--memory ${MEMORY}');
  expect(start).toContain('--env BOUNCER_WORKERS=${WORKERS}');
  return { workers: Number(environment.WORKERS), limitMb: dockerMemoryMb(environment.MEMORY) };
}

function nodeUnitKit(): KitSizing {
  const settings = unitSettings('deploy/vm/kube-image-bouncer-node.service');
  const memoryMax = settings.find(({ key }) => key === 'MemoryMax')?.value ?? '';
  return { workers: Number(environmentOf(settings).BOUNCER_WORKERS), limitMb: systemdMemoryMb(memoryMax) };
}

function chartDefaults(): KitSizing {
  const values = parse(read('charts/kube-image-bouncer/values.yaml')) as {
    workers: number;
    resources: { limits: { memory: string } };
  };
  return { workers: values.workers, limitMb: kubernetesQuantityMb(values.resources.limits.memory) };
}

/**
 * Each kit sets its worker count (left to the CPU count, a big node would start more workers than
 * the limit holds, and an OOM-killed webhook that fails closed stops pod creation) and a memory
 * limit that fits them with the margin, by the figures `npm run bench:memory` measured on Node 20
 * and on Node 24 (bench/worker-memory.json).
 */
describe('deploy kits: workers and memory limits', () => {
  const { primaryMb, workerMb, sharedMb } = MEASURED.sizing;

  it('sizes by measured figures that are plausible', () => {
    expect(MEASURED.sizing).toEqual({
      primaryMb: expect.any(Number),
      workerMb: expect.any(Number),
      sharedMb: expect.any(Number),
    });
    for (const figure of [primaryMb, workerMb, sharedMb]) expect(figure).toBeGreaterThan(10);
    expect(MEMORY_MARGIN).toBe(0.25);
  });

  it.each<[string, () => KitSizing]>([
    ['deploy/kubernetes/base/deployment.yaml', kubernetesKit],
    ['deploy/vm/docker-compose.yml', composeKit],
    ['deploy/vm/kube-image-bouncer.service', dockerUnitKit],
    ['deploy/vm/kube-image-bouncer-node.service', nodeUnitKit],
    ['charts/kube-image-bouncer/values.yaml', chartDefaults],
  ])('%s sets its workers and a memory limit that holds them', (_kit, sizing) => {
    const { workers, limitMb } = sizing();
    expect(Number.isInteger(workers) && workers >= 1).toBe(true);
    // limit >= (shared + primary + workers x worker) x (1 + margin); one worker is one process.
    expect(limitMb).toBeGreaterThanOrEqual(requiredMemoryMb(workers));
    // Node sizes its heaps from the limit, so the figures hold only for limits up to the one they
    // were measured under.
    if (MEASURED.measuredUnderLimitMb !== null)
      expect(limitMb).toBeLessThanOrEqual(MEASURED.measuredUnderLimitMb);
  });

  it('counts a primary only when there is more than one worker', () => {
    const measured = { sizing: { primaryMb: 50, workerMb: 100, sharedMb: 40 }, measuredUnderLimitMb: 1024 };
    expect(requiredMemoryMb(1, measured)).toBe(175);
    expect(requiredMemoryMb(2, measured)).toBe(362.5);
  });

  it('keeps the Kubernetes memory request at the limit, so the pod is not the first evicted', () => {
    const deployment = parse(read('deploy/kubernetes/base/deployment.yaml')) as {
      spec: { template: { spec: { containers: Container[] } } };
    };
    const { resources } = deployment.spec.template.spec.containers[0];
    expect(resources.requests.memory).toBe(resources.limits.memory);
  });
});

describe('Dockerfile', () => {
  it('pins every base image by digest, keeping its tag beside it', () => {
    const bases = [...read('Dockerfile').matchAll(/^FROM\s+(\S+)/gm)].map(([, image]) => image);
    expect(bases).toHaveLength(2);
    for (const image of bases) expect(image).toMatch(/^[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
  });
});
