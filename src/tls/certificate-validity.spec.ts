import { certificateValidity } from './certificate-validity';

describe(certificateValidity.name, () => {
  const DAY = 86_400_000;
  const now = new Date('2026-06-15T12:00:00.000Z');
  const at = (offsetMs: number): Date => new Date(now.getTime() + offsetMs);
  const week = 7 * DAY;

  it('is valid from notBefore to notAfter, outside the warning window', () => {
    expect(certificateValidity({ notBefore: at(-DAY), notAfter: at(30 * DAY) }, now, week)).toEqual({
      state: 'valid',
    });
  });

  it('is not yet valid before notBefore', () => {
    expect(certificateValidity({ notBefore: at(60_000), notAfter: at(30 * DAY) }, now, week)).toEqual({
      state: 'not-yet-valid',
      message:
        'serving certificate is not valid until 2026-06-15T12:01:00.000Z; clients refuse it until then',
    });
  });

  it('is expired after notAfter', () => {
    expect(certificateValidity({ notBefore: at(-30 * DAY), notAfter: at(-1_000) }, now, week)).toEqual({
      state: 'expired',
      message: 'serving certificate expired at 2026-06-15T11:59:59.000Z; clients refuse it',
    });
  });

  it.each([
    [3 * DAY + 60_000, 'expires in 3 day(s), at 2026-06-18T12:01:00.000Z'],
    [36 * 3_600_000, 'expires in 36 hour(s), at 2026-06-17T00:00:00.000Z'],
    [90_000, 'expires in 1 minute(s), at 2026-06-15T12:01:30.000Z'],
  ])('warns within the window: %d ms left', (left, message) => {
    expect(certificateValidity({ notBefore: at(-DAY), notAfter: at(left) }, now, week)).toEqual({
      state: 'expiring',
      message: `serving certificate ${message}`,
    });
  });

  it('takes the window from the configuration; 0 never warns', () => {
    const material = { notBefore: at(-DAY), notAfter: at(3 * DAY) };
    expect(certificateValidity(material, now, 2 * DAY).state).toBe('valid');
    expect(certificateValidity(material, now, 0).state).toBe('valid');
    expect(certificateValidity(material, now, 4 * DAY).state).toBe('expiring');
  });
});
