import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PolicyModule } from '../policy';
import { TlsModule } from '../tls';
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
