import { ModuleMetadata } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { AllConfigType, resolveBouncerConfig } from '../config';
import { ReviewHttpModule, prepareReviewExpress } from '../http';

/**
 * One feature module as a Nest app without TLS or a build, with the real global pipe and filters
 * and Express prepared as the server prepares it, for controller specs driven by supertest.
 */
export async function reviewControllerApp(
  feature: NonNullable<ModuleMetadata['imports']>[number],
  config: AllConfigType = resolveBouncerConfig({ host: '127.0.0.1', workers: '1', logLevel: 'silent' }),
): Promise<NestExpressApplication> {
  const module = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => config] }),
      ReviewHttpModule,
      feature,
    ],
  }).compile();
  const app = module.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: false });
  prepareReviewExpress(app);
  return app.init();
}
