import { readBreakGlass } from './break-glass';

describe(readBreakGlass.name, () => {
  const now = new Date('2026-11-26T12:00:00Z');

  it('honours a ticket until its RFC 3339 expiry', () => {
    expect(readBreakGlass({ 'break-glass.image-policy.k8s.io/INC-42': '2026-11-26T13:00:00Z' }, now)).toEqual(
      {
        present: true,
        active: { ticket: 'INC-42', expires: new Date('2026-11-26T13:00:00Z') },
        refusals: [],
      },
    );
  });

  it('accepts a zone offset and fractional seconds', () => {
    expect(
      readBreakGlass({ 'break-glass.image-policy.k8s.io/t': '2026-11-26T14:30:00.5+02:00' }, now).active
        ?.expires,
    ).toEqual(new Date('2026-11-26T12:30:00.500Z'));
  });

  it('refuses an expired ticket, saying when it expired', () => {
    expect(readBreakGlass({ 'break-glass.image-policy.k8s.io/INC-1': '2026-11-26T11:59:59Z' }, now)).toEqual({
      present: true,
      active: undefined,
      refusals: ['break-glass ticket INC-1 expired at 2026-11-26T11:59:59.000Z'],
    });
  });

  it.each(['tomorrow', '2026-11-27', '2026-11-27 10:00:00Z', '2026-13-45T99:00:00Z', ''])(
    'refuses the expiry %j',
    (value) => {
      const reading = readBreakGlass({ 'break-glass.image-policy.k8s.io/t': value }, now);
      expect(reading.active).toBeUndefined();
      expect(reading.refusals).toEqual([
        `break-glass ticket t has no valid RFC 3339 expiry (got ${JSON.stringify(value)})`,
      ]);
    },
  );

  it('uses the longest-running of several valid tickets', () => {
    const reading = readBreakGlass(
      {
        'break-glass.image-policy.k8s.io/short': '2026-11-26T12:10:00Z',
        'break-glass.image-policy.k8s.io/long': '2026-11-27T12:00:00Z',
      },
      now,
    );
    expect(reading.active?.ticket).toBe('long');
  });

  it('ignores other image-policy annotations', () => {
    expect(readBreakGlass({ 'ticket.image-policy.k8s.io/x': '2030-01-01T00:00:00Z' }, now)).toEqual({
      present: false,
      active: undefined,
      refusals: [],
    });
  });
});
