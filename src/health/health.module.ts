import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PolicyModule } from '../policy/policy.module';
import { TlsModule } from '../tls/tls.module';
import { HealthController } from './health.controller';
import { VerificationLedgerModule } from '../verification-ledger';
import { LedgerHealthIndicator, PolicyHealthIndicator, TlsHealthIndicator } from './readiness.indicators';
import { ServingState } from './serving-state';

@Module({
  imports: [
    TerminusModule.forRoot({ errorLogStyle: 'pretty' }),
    TlsModule,
    PolicyModule,
    VerificationLedgerModule,
  ],
  controllers: [HealthController],
  providers: [TlsHealthIndicator, PolicyHealthIndicator, LedgerHealthIndicator, ServingState],
})
export class HealthModule {}
