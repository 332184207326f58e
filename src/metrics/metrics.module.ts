import { Module } from '@nestjs/common';
import { PolicyModule } from '../policy';
import { RegistryModule } from '../registry';
import { TlsModule } from '../tls';
import { VerificationLedgerModule } from '../verification-ledger';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** Metrics observe the policy store and the TLS material through their reload events; nothing reports to them by import. */
@Module({
  imports: [PolicyModule, RegistryModule, TlsModule, VerificationLedgerModule],
  controllers: [MetricsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
