import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PolicyModule } from '../policy/policy.module';
import { TlsModule } from '../tls/tls.module';
import { HealthController } from './health.controller';
import { PolicyHealthIndicator, TlsHealthIndicator } from './readiness.indicators';
import { ServingState } from './serving-state';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'pretty' }), TlsModule, PolicyModule],
  controllers: [HealthController],
  providers: [TlsHealthIndicator, PolicyHealthIndicator, ServingState],
})
export class HealthModule {}
