import { ConfigService } from '@nestjs/config';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { AllConfigType } from '../../config/bouncer-config';
import { IMAGE_RULE_TYPES } from '../rules';
import { ImagePolicyCompiler } from './image-policy.compiler';
import { InvalidPolicyError } from './invalid-policy.error';
import { PolicyReloadResult, PolicyStore } from './policy-store.service';

const policyNamed = (name: string): string =>
  `apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: ${name}}\nspec:\n  rules:\n    - disallowedTags: [latest]\n`;
const BROKEN =
  'apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  rules:\n    - disallowedTags: latest\n';

/** Hot reload must apply within 2 seconds; polling the store's state, not sleeping a fixed time. */
async function eventually(condition: () => boolean, withinMs = 2_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${withinMs} ms`);
    await delay(20);
  }
}

describe(PolicyStore.name, () => {
  const compiler = new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule()));
  const stores: PolicyStore[] = [];
  const storeFor = (path?: string): PolicyStore => {
    const config = { get: () => ({ path }) } as unknown as ConfigService<AllConfigType, true>;
    const store = new PolicyStore(config, compiler);
    stores.push(store);
    return store;
  };
  afterEach(() => stores.splice(0).forEach((s) => s.onModuleDestroy()));

  const directory = (): string => mkdtempSync(join(tmpdir(), 'policy-store-'));

  it('uses the built-in default policy without a file', async () => {
    const sut = storeFor();
    await sut.onModuleInit();
    expect(sut.current).toMatchObject({ name: 'default', source: 'built-in default policy' });
  });

  it('applies an edit made in place', async () => {
    const path = join(directory(), 'policy.yaml');
    writeFileSync(path, policyNamed('first'));
    const sut = storeFor(path);
    await sut.onModuleInit();
    expect(sut.current.name).toBe('first');

    writeFileSync(path, policyNamed('second'));
    await eventually(() => sut.current.name === 'second');
  });

  it('refuses a broken edit, keeps the last good policy, and reports it once', async () => {
    const path = join(directory(), 'policy.yaml');
    writeFileSync(path, policyNamed('good'));
    const sut = storeFor(path);
    const results: PolicyReloadResult[] = [];
    sut.onReload((result) => results.push(result));
    await sut.onModuleInit();
    const goodRevision = sut.current.revision;

    writeFileSync(path, BROKEN);
    await eventually(() => results.includes('refused'));
    // Two reads of the unchanged file, as the poll makes (the store's reload() is the poll's read):
    // the same broken text is not reported again.
    await sut.reload();
    await sut.reload();
    expect(results).toEqual(['refused']);
    expect(sut.current).toMatchObject({ name: 'good', revision: goodRevision });
    expect(sut.lastRefusal?.message).toContain(`${path}:5: spec.rules[0].disallowedTags must be array`);

    writeFileSync(path, policyNamed('fixed'));
    await eventually(() => sut.current.name === 'fixed');
    expect(results).toEqual(['refused', 'applied']);
    expect(sut.lastRefusal).toBeUndefined();
  });

  // Found by test/robust: a reload whose compile threw anything but InvalidPolicyError rejected the
  // file watcher's promise chain, an unhandled rejection that ended the server.
  it('keeps the last good policy, and keeps watching, when compiling a new one fails unexpectedly', async () => {
    const path = join(directory(), 'policy.yaml');
    writeFileSync(path, policyNamed('good'));
    const failing = Object.create(compiler) as ImagePolicyCompiler;
    failing.compile = (text, source) => {
      if (text.includes('explode')) throw new TypeError('a bug in the compiler');
      return compiler.compile(text, source);
    };
    const config = { get: () => ({ path }) } as unknown as ConfigService<AllConfigType, true>;
    const sut = new PolicyStore(config, failing);
    stores.push(sut);
    const results: PolicyReloadResult[] = [];
    sut.onReload((result) => results.push(result));
    await sut.onModuleInit();

    writeFileSync(path, `${policyNamed('explode')}`);
    await eventually(() => results.includes('refused'));
    expect(sut.current.name).toBe('good');
    expect(sut.lastRefusal?.message).toContain('a bug in the compiler');

    writeFileSync(path, policyNamed('next'));
    await eventually(() => sut.current.name === 'next');
    expect(results).toEqual(['refused', 'applied']);
  });

  it('follows a Kubernetes ConfigMap update, which swaps a ..data symlink', async () => {
    // The kubelet's AtomicWriter layout: policy.yaml -> ..data/policy.yaml, ..data -> ..<timestamp>.
    const dir = directory();
    mkdirSync(join(dir, '..2026_11_26_v1'));
    writeFileSync(join(dir, '..2026_11_26_v1', 'policy.yaml'), policyNamed('v1'));
    symlinkSync('..2026_11_26_v1', join(dir, '..data'));
    symlinkSync(join('..data', 'policy.yaml'), join(dir, 'policy.yaml'));
    const sut = storeFor(join(dir, 'policy.yaml'));
    await sut.onModuleInit();
    expect(sut.current.name).toBe('v1');

    mkdirSync(join(dir, '..2026_11_26_v2'));
    writeFileSync(join(dir, '..2026_11_26_v2', 'policy.yaml'), policyNamed('v2'));
    symlinkSync('..2026_11_26_v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await eventually(() => sut.current.name === 'v2');
  });

  it("follows an editor's save by rename", async () => {
    const dir = directory();
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, policyNamed('before'));
    const sut = storeFor(path);
    await sut.onModuleInit();

    writeFileSync(join(dir, '.policy.yaml.swp'), policyNamed('after'));
    renameSync(join(dir, '.policy.yaml.swp'), path);
    await eventually(() => sut.current.name === 'after');
  });

  it('refuses to start with a broken policy, naming file and line', async () => {
    const path = join(directory(), 'policy.yaml');
    writeFileSync(path, BROKEN);
    const starting = storeFor(path).onModuleInit();
    await expect(starting).rejects.toBeInstanceOf(InvalidPolicyError);
    await expect(starting).rejects.toThrow(
      `${path}:5: spec.rules[0].disallowedTags must be array (got "latest")`,
    );
  });
});
