import { X509Certificate } from 'node:crypto';
import { notationSigner } from '../testing/notation-fixtures';
import { notationChainProblem } from './notation-chain';

// A signer chooses the chain its envelope carries, so each link checked (and the root's own
// signature) is a signature check paid from the verification's budget, like a keyless chain's.

describe(notationChainProblem.name, () => {
  const budget = (checks: number) => {
    const taken = { count: 0 };
    return { taken, take: () => (taken.count < checks ? (taken.count++, true) : false) };
  };

  it('pays each link and the root from the budget: two checks for a certificate under a CA', async () => {
    const signer = await notationSigner({ underCa: true });
    const chain = signer.chain.map((der) => new X509Certificate(der));
    const { taken, take } = budget(256);

    expect(notationChainProblem(chain, take)).toBeUndefined();
    expect(taken.count).toBe(2);
  });

  it('stops when the budget is spent, saying so, rather than judging the chain', async () => {
    const signer = await notationSigner({ underCa: true });
    const chain = signer.chain.map((der) => new X509Certificate(der));

    expect(notationChainProblem(chain, budget(0).take)).toBe('over budget');
    expect(notationChainProblem(chain, budget(1).take)).toBe('over budget');
  });
});
