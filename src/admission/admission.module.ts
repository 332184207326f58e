import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AuditModule } from '../audit';
import { JsonContentTypeMiddleware } from '../http';
import { PolicyModule } from '../policy';
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
