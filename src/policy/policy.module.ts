import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry';
import { VerificationModule } from '../verification';
import { VerificationLedgerModule } from '../verification-ledger';
import { DigestPinningService } from './digest-pinning.service';
import { ImagePolicyService } from './image-policy.service';
import { ImagePolicyCompiler } from './policy-file/image-policy.compiler';
import { PolicyStore } from './policy-file/policy-store.service';
import { IMAGE_RULE_TYPES, imageRulesProvider } from './rules';

/**
 * The decision engine, without HTTP: rules, the policy compiler and store, and ImagePolicyService.
 * The webhook endpoints and the CLI both import it, so they share one engine.
 */
@Module({
  imports: [RegistryModule, VerificationModule, VerificationLedgerModule],
  providers: [
    ...IMAGE_RULE_TYPES,
    imageRulesProvider,
    ImagePolicyCompiler,
    PolicyStore,
    ImagePolicyService,
    DigestPinningService,
  ],
  exports: [ImagePolicyService, DigestPinningService, PolicyStore, ImagePolicyCompiler],
})
export class PolicyModule {}
