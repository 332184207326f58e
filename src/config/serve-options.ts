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
import { accessSync, constants, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  DEFAULT_CERTIFICATE_EXPIRY_WARNING,
  DEFAULT_HOST,
  DEFAULT_PORT,
  LOG_FORMATS,
  LOG_LEVELS,
  LogFormat,
  LogLevel,
} from './bouncer-config';
import { DURATION_FORMAT, parseDuration } from './duration';

function isReadableFile(path: unknown): boolean {
  if (typeof path !== 'string' || path.length === 0) return false;
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function IsReadableFile(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isReadableFile',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: isReadableFile,
        defaultMessage: ({ value }: ValidationArguments) => `cannot read file ${JSON.stringify(value)}`,
      },
    });
}

function IsDuration(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isDuration',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && parseDuration(value) !== undefined,
        defaultMessage: () => `must be ${DURATION_FORMAT}`,
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

  @Type(() => Number)
  @IsInt({ message: 'must be an integer between 1 and 256' })
  @Min(1, { message: 'must be an integer between 1 and 256' })
  @Max(256, { message: 'must be an integer between 1 and 256' })
  workers: number = availableParallelism();

  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'must be an integer between 1 and 65535' })
  @Min(1, { message: 'must be an integer between 1 and 65535' })
  @Max(65535, { message: 'must be an integer between 1 and 65535' })
  healthPort?: number;

  @IsDuration()
  certificateExpiryWarning: string = DEFAULT_CERTIFICATE_EXPIRY_WARNING;
}
