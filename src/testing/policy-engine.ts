import { ImagePolicyService } from '../policy/image-policy.service';
import { CompiledImagePolicy } from '../policy/policy-file/compiled-image-policy';
import { PolicyStore } from '../policy/policy-file/policy-store.service';
import { DigestResolver, RegistryClient } from '../registry';
import { ImageVerifier } from '../verification';

/** The engine over one compiled policy, with a real (idle until asked) registry client behind it. */
export function engineFor(policy: CompiledImagePolicy, client = new RegistryClient()): ImagePolicyService {
  return new ImagePolicyService(
    { current: policy } as PolicyStore,
    new DigestResolver(client),
    new ImageVerifier(client),
  );
}
