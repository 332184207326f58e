import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry';
import { LedgerClock } from './ledger-clock';
import { VerificationLedger } from './verification-ledger.service';

@Module({
  imports: [RegistryModule],
  providers: [LedgerClock, VerificationLedger],
  exports: [VerificationLedger, LedgerClock],
})
export class VerificationLedgerModule {}
