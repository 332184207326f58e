import crypto from 'node:crypto';
import { RegistryClient } from '../registry';
import { ImageVerifier, VerificationTarget } from '../verification';
import { CosignWriter, KeylessTrust, TransparencyLog, keylessTrust } from './cosign-fixtures';
import { FakeRegistry } from './fake-registry';

/** What a verifier spec works with; `sut` and `repository` are the running test's. */
export interface VerifierOverFakeRegistry {
  readonly registry: FakeRegistry;
  readonly cosign: CosignWriter;
  /** The verifiers' client, for an engine over the same registry. */
  readonly client: RegistryClient;
  /** A new verifier each test, so that no test is answered from another's cache. */
  readonly sut: ImageVerifier;
  /** A repository of the test's own, `<prefix>-<n>`, so that no test sees another's signatures. */
  readonly repository: string;
  /** The running test's repository at `digest`, on the fake registry, under policy revision r1. */
  target(digest: string): VerificationTarget;
}

/**
 * An ImageVerifier over an in-process FakeRegistry, for a describe block: it registers the jest
 * hooks that start the registry before the block's tests, give each test its own verifier and
 * repository, and stop the registry and the verifier's client after them. Call it first in the
 * block, so that the block's own hooks see a started registry and the running test's verifier.
 */
export function verifierOverFakeRegistry(repositoryPrefix: string): VerifierOverFakeRegistry {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const client = new RegistryClient();
  let repositories = 0;
  let running: { sut: ImageVerifier; repository: string } | undefined;
  const current = (): { sut: ImageVerifier; repository: string } => {
    if (running === undefined) throw new Error('verifierOverFakeRegistry: read outside a test');
    return running;
  };

  beforeAll(() => registry.start());
  afterAll(async () => {
    await client.onModuleDestroy();
    await registry.stop();
  });
  beforeEach(() => {
    running = { sut: new ImageVerifier(client), repository: `${repositoryPrefix}-${++repositories}` };
  });

  return {
    registry,
    cosign,
    client,
    get sut() {
      return current().sut;
    },
    get repository() {
      return current().repository;
    },
    target: (digest) => ({
      access: registry.access,
      repository: current().repository,
      digest,
      policyRevision: 'r1',
      successTtlMs: 600_000,
      failureTtlMs: 10_000,
    }),
  };
}

/** A VerifierOverFakeRegistry for keyless signatures, with the block's keyless trust material. */
export interface KeylessVerifierOverFakeRegistry extends VerifierOverFakeRegistry {
  /** Made once, before the block's tests (and its own beforeAll hooks). */
  readonly keyless: KeylessTrust;
}

/**
 * verifierOverFakeRegistry with a Fulcio and Rekor logs of the block's own, and trust in them
 * (keylessTrust): what a keyless spec needs before it signs anything. `logs` makes the logs the
 * trusted root lists, before the block's tests; a Rekor v1 log by default.
 */
export function keylessVerifierOverFakeRegistry(
  repositoryPrefix: string,
  logs?: () => readonly TransparencyLog[],
): KeylessVerifierOverFakeRegistry {
  const fake = verifierOverFakeRegistry(repositoryPrefix);
  let keyless: KeylessTrust | undefined;
  beforeAll(async () => {
    keyless = await keylessTrust(logs?.());
  });
  return {
    registry: fake.registry,
    cosign: fake.cosign,
    client: fake.client,
    target: (digest) => fake.target(digest),
    get sut() {
      return fake.sut;
    },
    get repository() {
      return fake.repository;
    },
    get keyless() {
      if (keyless === undefined)
        throw new Error('keylessVerifierOverFakeRegistry: read before the block ran');
      return keyless;
    },
  };
}

/**
 * Counts the signature checks (crypto.verify calls) made from now on, which budgets are pinned by;
 * restore it with jest.restoreAllMocks().
 */
export function countSignatureChecks(): { checks: number } {
  const meter = { checks: 0 };
  const verify = crypto.verify.bind(crypto) as (...args: unknown[]) => boolean;
  jest.spyOn(crypto, 'verify').mockImplementation((...args: unknown[]) => {
    meter.checks++;
    return verify(...args);
  });
  return meter;
}
