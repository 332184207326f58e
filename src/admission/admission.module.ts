import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { JsonContentTypeMiddleware } from '../http/json-content-type.middleware';
import { PolicyModule } from '../policy/policy.module';
import { AdmissionController } from './admission.controller';
import { AdmissionMutationService } from './admission-mutation.service';
import { AdmissionReviewService } from './admission-review.service';
import { MutationController } from './mutation.controller';

@Module({
  imports: [PolicyModule, AuditModule],
  controllers: [AdmissionController, MutationController],
  providers: [AdmissionReviewService, AdmissionMutationService],
})
export class AdmissionModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonContentTypeMiddleware).forRoutes(AdmissionController, MutationController);
  }
}
