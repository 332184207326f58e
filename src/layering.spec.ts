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
  // Verified verdicts kept through a registry outage; a cluster's primary keeps its file.
  'verification-ledger': ['registry', 'config', 'cluster-ipc'],
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
    'verification-ledger',
    'cache',
    'attestation-conditions',
  ],
  metrics: ['policy', 'registry', 'tls', 'http', 'config', 'cluster-ipc', 'version', 'verification-ledger'],
  audit: ['metrics', 'policy', 'http'],
  'image-review': ['policy', 'audit', 'http'],
  admission: ['policy', 'audit', 'http'],
  health: ['policy', 'tls', 'http', 'config', 'cluster-ipc', 'verification-ledger'],
  app: ['config', 'http', 'tls', 'metrics', 'audit', 'image-review', 'admission', 'health'],
  server: ['app', 'config', 'http', 'logging', 'tls', 'metrics'],
  // The primary sums its workers' metrics: it reads what MetricsService registers; it keeps the ledger file.
  cluster: [
    'server',
    'config',
    'logging',
    'tls',
    'policy',
    'health',
    'cluster-ipc',
    'metrics',
    'verification-ledger',
  ],
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
  testing: [
    'attestation-conditions',
    'config',
    'http',
    'policy',
    'registry',
    'verification',
    'verification-ledger',
  ],
};

const SRC = __dirname;

/** The layer a source file (path relative to src/) belongs to: its folder. */
function layerOf(file: string): string {
  if (file === 'app.module.ts') return 'app';
  if (file === 'main.ts') return 'main';
  return file.split('/')[0];
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

const posix = (path: string): string => path.split(sep).join('/');

interface SourceImport {
  /** The file imported, relative to src/: a folder import reaches its index. */
  readonly target: string;
  /** `import()`: a command loading a heavy part only when it runs. */
  readonly dynamic: boolean;
}

function importsOf(path: string): SourceImport[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/(from|import)\s*(\(?)\s*'(\.{1,2}\/[^']+)'/g)].map((match) => {
    const target = normalize(join(dirname(path), match[3]));
    return {
      target: posix(relative(SRC, existsSync(`${target}.ts`) ? `${target}.ts` : join(target, 'index.ts'))),
      dynamic: match[1] === 'import' && match[2] === '(',
    };
  });
}

/**
 * An import from another folder that does not go through that folder's index.ts; a dynamic
 * import() may name the file it loads late (the CLI keeps certificate issuing off its start).
 */
function bypassesFacade(file: string, { target, dynamic }: SourceImport): boolean {
  const [from, to] = [layerOf(file), layerOf(target)];
  if (from === to || !target.includes('/') || dynamic) return false;
  return target !== `${to}/index.ts`;
}

describe('layering', () => {
  const files = sourceFiles(SRC).map((path) => ({ path, file: posix(relative(SRC, path)) }));

  it('knows the layer of every source folder', () => {
    expect(files.map(({ file }) => layerOf(file)).filter((layer) => !(layer in LAYERS))).toEqual([]);
  });

  it('has no import that runs back up the layers', () => {
    const violations = files.flatMap(({ path, file }) => {
      const from = layerOf(file);
      return importsOf(path).flatMap(({ target }) => {
        const to = layerOf(target);
        return to === from || LAYERS[from].includes(to)
          ? []
          : [`${file} imports ${target}: ${from} may not depend on ${to}`];
      });
    });
    expect(violations).toEqual([]);
  });

  it("reaches every other folder through its index.ts, the folder's façade", () => {
    const bypasses = files.flatMap(({ path, file }) =>
      importsOf(path)
        .filter((imported) => bypassesFacade(file, imported))
        .map(({ target }) => `${file} imports ${target}, not ${layerOf(target)}/index.ts`),
    );
    expect(bypasses).toEqual([]);
  });

  it('catches an import that reaches past a façade, and lets a late import() through', () => {
    expect(
      bypassesFacade('cli/check.command.ts', { target: 'policy/rules/no-latest.rule.ts', dynamic: false }),
    ).toBe(true);
    expect(bypassesFacade('cli/check.command.ts', { target: 'policy/index.ts', dynamic: false })).toBe(false);
    expect(
      bypassesFacade('policy/policy.module.ts', { target: 'policy/rules/index.ts', dynamic: false }),
    ).toBe(false);
    expect(bypassesFacade('cli/setup-files.ts', { target: 'tls/certificate-issuer.ts', dynamic: true })).toBe(
      false,
    );
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
