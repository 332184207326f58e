import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/**
 * The layers of the code, lowest first, and what each may import. An arrow that runs back up (the
 * engine importing an adapter, a feature importing the CLI) fails here, naming the file and the
 * import. A layer is a folder of src/: the engine is src/policy, and each protocol is an adapter in
 * a folder of its own beside it (src/image-review, src/admission).
 */
const LAYERS: Record<string, readonly string[]> = {
  'image-reference': [],
  version: [],
  'cpu-quota': [],
  config: ['cpu-quota'],
  'file-watch': [],
  logging: ['config'],
  // The primary and its workers' protocol: what they send each other over IPC.
  'cluster-ipc': ['config'],
  http: [],
  cache: [],
  tls: ['config', 'file-watch'],
  registry: ['cache', 'image-reference'],
  verification: ['registry', 'cache'],
  // CEL conditions over verified statements: the rule hands them what it was given.
  'attestation-conditions': [],
  // doctor's client of the Kubernetes API: the CLI's alone, never on the review path.
  'kubernetes-api': [],
  policy: [
    'image-reference',
    'config',
    'file-watch',
    'registry',
    'verification',
    'cache',
    'attestation-conditions',
  ],
  metrics: ['policy', 'registry', 'tls', 'http', 'config', 'cluster-ipc', 'version'],
  audit: ['metrics', 'policy', 'http'],
  'image-review': ['policy', 'audit', 'http'],
  admission: ['policy', 'audit', 'http'],
  health: ['policy', 'tls', 'http', 'config', 'cluster-ipc'],
  app: ['config', 'http', 'tls', 'metrics', 'audit', 'image-review', 'admission', 'health'],
  server: ['app', 'config', 'http', 'logging', 'tls', 'metrics'],
  // The primary sums its workers' metrics: it reads what MetricsService registers.
  cluster: ['server', 'config', 'logging', 'tls', 'policy', 'health', 'cluster-ipc', 'metrics'],
  cli: [
    'version',
    'cluster',
    'server',
    'config',
    'logging',
    'tls',
    'policy',
    'admission',
    'image-reference',
    'registry',
    'verification',
    'attestation-conditions',
    'kubernetes-api',
  ],
  main: ['cli', 'cluster'],
  testing: ['config', 'http', 'policy', 'registry', 'verification'],
};

const SRC = __dirname;
const IMAGE_REVIEW_ADAPTER =
  /^policy\/(policy\.controller|image-review[-.][^/]*|dto\/image-review\.dto)\.ts$/;

/** The layer a source file (path relative to src/) belongs to. */
function layerOf(file: string): string {
  if (file === 'app.module.ts') return 'app';
  if (file === 'main.ts') return 'main';
  if (IMAGE_REVIEW_ADAPTER.test(file)) return 'image-review';
  const feature = file.split('/')[0];
  return feature === 'policy' ? 'policy' : feature;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

const posix = (path: string): string => path.split(sep).join('/');

function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => {
    const target = normalize(join(dirname(path), match[1]));
    // A folder import reaches its index.
    return posix(relative(SRC, existsSync(`${target}.ts`) ? `${target}.ts` : join(target, 'index.ts')));
  });
}

describe('layering', () => {
  const files = sourceFiles(SRC).map((path) => ({ path, file: posix(relative(SRC, path)) }));

  it('knows the layer of every source folder', () => {
    expect(files.map(({ file }) => layerOf(file)).filter((layer) => !(layer in LAYERS))).toEqual([]);
  });

  it('has no import that runs back up the layers', () => {
    const violations = files.flatMap(({ path, file }) => {
      const from = layerOf(file);
      return importsOf(path).flatMap((target) => {
        const to = layerOf(target);
        return to === from || LAYERS[from].includes(to)
          ? []
          : [`${file} imports ${target}: ${from} may not depend on ${to}`];
      });
    });
    expect(violations).toEqual([]);
  });

  it('ships nothing of src/testing, whose fakes need packages only development installs', () => {
    const build = JSON.parse(readFileSync(join(SRC, '..', 'tsconfig.build.json'), 'utf8')) as {
      exclude: string[];
    };
    expect(build.exclude).toContain('src/testing');
    expect(Object.entries(LAYERS).filter(([, may]) => may.includes('testing'))).toEqual([]);
  });

  it('catches an arrow back up, such as the cluster reaching into the CLI', () => {
    expect(LAYERS.cluster).not.toContain('cli');
    expect(layerOf('cli/check.command.ts')).toBe('cli');
    expect(layerOf('image-review/policy.controller.ts')).toBe('image-review');
    expect(layerOf('policy/image-policy.service.ts')).toBe('policy');
  });
});
