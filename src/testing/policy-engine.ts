import { ImagePolicyService, CompiledImagePolicy, PolicyStore } from '../policy';
import { DigestResolver, RegistryClient } from '../registry';
import { ImageVerifier } from '../verification';
import { LedgerClock, VerificationLedger } from '../verification-ledger';

/** A verification ledger as `check` and `explain` have it: none, since no `serve` configured one. */
export const noLedger = (client: RegistryClient): VerificationLedger =>
  new VerificationLedger(
    { get: () => undefined } as unknown as ConstructorParameters<typeof VerificationLedger>[0],
    new LedgerClock(),
    client,
  );

/** The engine over one compiled policy, with a real (idle until asked) registry client behind it. */
export function engineFor(
  policy: CompiledImagePolicy,
  client = new RegistryClient(),
  ledger = noLedger(client),
): ImagePolicyService {
  return new ImagePolicyService(
    { current: policy } as PolicyStore,
    new DigestResolver(client),
    new ImageVerifier(client),
    ledger,
  );
}
