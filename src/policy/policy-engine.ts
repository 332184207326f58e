import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { unreadableFileProblem, InvalidConfigError } from '../config';
import { DigestPinningService } from './digest-pinning.service';
import { ImagePolicyService } from './image-policy.service';
import { PolicyModule } from './policy.module';

/** The webhook's decision engine and nothing else: no HTTP, no TLS. */
@Module({})
class PolicyEngineModule {
  static forPolicy(path: string | undefined): DynamicModule {
    return {
      module: PolicyEngineModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => ({ policy: { path } })] }),
        PolicyModule,
      ],
    };
  }
}

const isFileSystemError = (error: unknown): error is NodeJS.ErrnoException =>
  error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';

/**
 * Loads the policy (the file, or the built-in default) into the same engine `serve` runs, hands it
 * to `use`, and closes it, which also stops the policy file watcher so the process can exit. Nest's
 * logger stays silent: CLI output is meant to be read and parsed.
 */
export async function withPolicyEngine<T>(
  policyPath: string | undefined,
  use: (engine: ImagePolicyService, pinning: DigestPinningService) => T | Promise<T>,
): Promise<T> {
  let context;
  try {
    context = await NestFactory.createApplicationContext(PolicyEngineModule.forPolicy(policyPath), {
      logger: false,
      // By default Nest aborts the process on a bootstrap error; an invalid policy must exit 2.
      abortOnError: false,
    });
  } catch (error) {
    if (isFileSystemError(error) && error.syscall !== undefined)
      throw new InvalidConfigError([
        `--policy ${unreadableFileProblem(policyPath) ?? `cannot read file ${JSON.stringify(policyPath)}`}`,
      ]);
    throw error;
  }
  try {
    return await use(context.get(ImagePolicyService), context.get(DigestPinningService));
  } finally {
    await context.close();
  }
}
