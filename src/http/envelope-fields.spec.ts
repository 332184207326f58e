import { IsOptional, IsString, ValidateNested } from 'class-validator';
import { EnvelopeField, NestedEnvelope, OpaqueJson, envelopeProblems, readEnvelope } from './envelope-fields';

class Inner {
  @EnvelopeField()
  @IsString()
  name!: string;
}

class Outer {
  @EnvelopeField()
  @IsString()
  kind!: string;

  @NestedEnvelope(() => Inner)
  @ValidateNested()
  inner!: Inner;

  @OpaqueJson()
  @IsOptional()
  object?: unknown;
}

class ForgotTheEnvelopeField {
  @EnvelopeField()
  @IsString()
  kind!: string;

  // The trap: validated, so a reader expects it set, but never declared as part of the envelope.
  @IsOptional()
  @IsString()
  namespace?: string;
}

class NestedAsAValue {
  @EnvelopeField()
  @ValidateNested()
  inner!: Inner;
}

class PlainClassValidatorDto {
  @IsString()
  kind!: string;
}

describe(readEnvelope.name, () => {
  it('reads the declared fields, nested envelopes as instances, and passes opaque JSON through as is', () => {
    const object = { spec: { containers: [{ image: 'nginx' }] } };
    const envelope = readEnvelope(Outer, { kind: 'K', inner: { name: 'n', extra: 1 }, object, unread: 2 });
    expect(envelope).toBeInstanceOf(Outer);
    expect(envelope.inner).toBeInstanceOf(Inner);
    expect({ ...envelope, inner: { ...envelope.inner } }).toEqual({
      kind: 'K',
      inner: { name: 'n' },
      object,
    });
    expect(envelope.object).toBe(object);
  });

  it('copies every validated field, declared or not, so that none reads undefined', () => {
    expect(readEnvelope(ForgotTheEnvelopeField, { kind: 'K', namespace: 'prod' })).toEqual({
      kind: 'K',
      namespace: 'prod',
    });
  });
});

describe(envelopeProblems.name, () => {
  it('finds nothing wrong with a fully declared envelope', () => {
    expect(envelopeProblems(Outer)).toEqual([]);
  });

  it('names a validated field that is not declared', () => {
    expect(envelopeProblems(ForgotTheEnvelopeField)).toEqual([
      'ForgotTheEnvelopeField.namespace is validated but not declared (@EnvelopeField, @NestedEnvelope or @OpaqueJson)',
    ]);
  });

  it('names a nested validation declared as a plain value', () => {
    expect(envelopeProblems(NestedAsAValue)).toEqual([
      'NestedAsAValue.inner is validated as nested but not declared @NestedEnvelope',
    ]);
  });

  it('refuses a class-validator DTO that declares no envelope at all', () => {
    expect(envelopeProblems(PlainClassValidatorDto)).toEqual([
      'PlainClassValidatorDto declares no envelope fields (@EnvelopeField, @NestedEnvelope or @OpaqueJson)',
    ]);
  });
});
