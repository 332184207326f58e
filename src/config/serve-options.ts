import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidateIf,
  ValidationArguments,
  registerDecorator,
} from 'class-validator';
import { MAX_WORKERS } from '../cpu-quota/worker-count';
import { unreadableFileProblem } from './readable-file';
import { DEFAULT_HOST, DEFAULT_PORT, LOG_FORMATS, LOG_LEVELS, LogFormat, LogLevel } from './bouncer-config';

function IsReadableFile(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isReadableFile',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (path: unknown) => unreadableFileProblem(path) === undefined,
        defaultMessage: ({ value }: ValidationArguments) =>
          unreadableFileProblem(value) ?? `cannot read file ${JSON.stringify(value)}`,
      },
    });
}

/**
 * The `serve` command's options as they arrive from flags and environment variables (all strings),
 * with the rules a value must satisfy. Property names match the long flag names.
 */
export class ServeOptions {
  @Type(() => Number)
  @IsInt({ message: 'must be an integer between 1 and 65535' })
  @Min(1, { message: 'must be an integer between 1 and 65535' })
  @Max(65535, { message: 'must be an integer between 1 and 65535' })
  port: number = DEFAULT_PORT;

  @IsString()
  @IsNotEmpty({ message: 'must not be empty' })
  host: string = DEFAULT_HOST;

  @ValidateIf((o: ServeOptions) => o.cert !== undefined || o.key !== undefined)
  @IsReadableFile()
  cert?: string;

  @ValidateIf((o: ServeOptions) => o.cert !== undefined || o.key !== undefined)
  @IsReadableFile()
  key?: string;

  @IsOptional()
  @IsReadableFile()
  clientCa?: string;

  @IsOptional()
  @IsReadableFile()
  policy?: string;

  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  logLevel: LogLevel = 'info';

  @IsIn(LOG_FORMATS, { message: `must be one of ${LOG_FORMATS.join(', ')}` })
  logFormat: LogFormat = 'json';

  /** Absent means one per CPU the process may use (see src/cpu-quota). */
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: `must be an integer between 1 and ${MAX_WORKERS}` })
  @Min(1, { message: `must be an integer between 1 and ${MAX_WORKERS}` })
  @Max(MAX_WORKERS, { message: `must be an integer between 1 and ${MAX_WORKERS}` })
  workers?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'must be an integer between 1 and 65535' })
  @Min(1, { message: 'must be an integer between 1 and 65535' })
  @Max(65535, { message: 'must be an integer between 1 and 65535' })
  healthPort?: number;
}
