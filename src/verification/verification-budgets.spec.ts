import type { RegistryDeadline } from '../registry';
import {
  MAX_SIGNATURE_CHECKS_PER_REVIEW,
  MAX_SIGNATURE_CHECKS_PER_VERIFICATION,
  ReviewBudget,
  SIGNATURE_CHECKS_PER_TURN,
  VerificationBudget,
} from './verification-budgets';

const deadline = (deadlineAt = Date.now() + 60_000): RegistryDeadline => ({
  signal: new AbortController().signal,
  deadlineAt,
});
const take = (budget: VerificationBudget, times: number): number =>
  Array.from({ length: times }, () => budget.takeCheck()).filter(Boolean).length;

describe(VerificationBudget.name, () => {
  it('allows MAX_SIGNATURE_CHECKS_PER_VERIFICATION checks, then none, saying which budget ran out', () => {
    const sut = new VerificationBudget(new ReviewBudget(), deadline());

    expect(take(sut, MAX_SIGNATURE_CHECKS_PER_VERIFICATION + 10)).toBe(MAX_SIGNATURE_CHECKS_PER_VERIFICATION);
    expect(sut.spent).toBe('per verification');
    expect(sut.checksMade).toBe(MAX_SIGNATURE_CHECKS_PER_VERIFICATION);
  });

  it("shares the review's budget among every verification of the review", () => {
    const review = new ReviewBudget();
    const verifications = Array.from(
      { length: Math.ceil(MAX_SIGNATURE_CHECKS_PER_REVIEW / MAX_SIGNATURE_CHECKS_PER_VERIFICATION) + 1 },
      () => new VerificationBudget(review, deadline()),
    );

    const made = verifications.map((sut) => take(sut, MAX_SIGNATURE_CHECKS_PER_VERIFICATION));

    expect(made.reduce((a, b) => a + b)).toBe(MAX_SIGNATURE_CHECKS_PER_REVIEW);
    expect(verifications.at(-1)!.spent).toBe('per review');
  });

  it('gives the event loop back every SIGNATURE_CHECKS_PER_TURN checks, not before', async () => {
    const sut = new VerificationBudget(new ReviewBudget(), deadline());
    const turnTaken = async (checks: number): Promise<boolean> => {
      let other = false;
      setImmediate(() => (other = true));
      take(sut, checks);
      await sut.pace();
      return other;
    };

    expect(await turnTaken(SIGNATURE_CHECKS_PER_TURN - 1)).toBe(false);
    expect(await turnTaken(1)).toBe(true);
  });

  it('says to stop, and stays stopped, once the deadline has passed', async () => {
    let now = 1_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const sut = new VerificationBudget(new ReviewBudget(), deadline(2_000));
      expect(await sut.pace()).toBe(true);
      now = 2_000;
      expect(await sut.pace()).toBe(false);
      expect(sut.stoppedAtDeadline).toBe(true);
      now = 1_500;
      expect(await sut.nextTurn()).toBe(false);
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('stops when the signal aborts before the deadline', async () => {
    const controller = new AbortController();
    const sut = new VerificationBudget(new ReviewBudget(), {
      signal: controller.signal,
      deadlineAt: Date.now() + 60_000,
    });

    expect(await sut.nextTurn()).toBe(true);
    controller.abort();
    expect(await sut.nextTurn()).toBe(false);
  });
});
