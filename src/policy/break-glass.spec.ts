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

  it('refuses a ticket expiring more than 24 hours ahead by default, since any pod author can write one', () => {
    expect(
      readBreakGlass({ 'break-glass.image-policy.k8s.io/forever': '2999-01-01T00:00:00Z' }, now),
    ).toEqual({
      present: true,
      active: undefined,
      refusals: [
        'break-glass ticket forever expires at 2999-01-01T00:00:00.000Z, more than the 24 hours ahead that spec.breakGlassMaxHours allows',
      ],
    });
  });

  it('honours a ticket exactly at the limit and refuses one a second past it', () => {
    const tickets = {
      'break-glass.image-policy.k8s.io/at': '2026-11-29T12:00:00Z',
      'break-glass.image-policy.k8s.io/past': '2026-11-29T12:00:01Z',
    };
    const reading = readBreakGlass(tickets, now, 72);
    expect(reading.active?.ticket).toBe('at');
    expect(reading.refusals).toEqual([
      'break-glass ticket past expires at 2026-11-29T12:00:01.000Z, more than the 72 hours ahead that spec.breakGlassMaxHours allows',
    ]);
  });

  it('ignores other image-policy annotations', () => {
    expect(readBreakGlass({ 'ticket.image-policy.k8s.io/x': '2030-01-01T00:00:00Z' }, now)).toEqual({
      present: false,
      active: undefined,
      refusals: [],
    });
  });
});
