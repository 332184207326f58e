import { ClusterAnswer, ClusterQuestion, PrimaryMessage, WorkerMessage, isMessage } from './cluster-messages';

/** Longer than the primary's own wait for every worker's readiness, so its answer, not ours, says who is slow. */
const ANSWER_TIMEOUT_MS = 5_000;

let lastQuestion = 0;

const unanswered = (question: ClusterQuestion): ClusterAnswer => ({
  status: 503,
  type: 'application/json; charset=utf-8',
  text: JSON.stringify({
    status: 'error',
    message: `the cluster primary did not answer ${question} within ${ANSWER_TIMEOUT_MS / 1000} s`,
  }),
});

/**
 * Asks the cluster primary what its health port would answer for `question`: a worker's own
 * /metrics counts only the reviews it served, and its own /readyz knows nothing of the others.
 */
export function askPrimary(question: ClusterQuestion): Promise<ClusterAnswer> {
  const id = ++lastQuestion;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      process.off('message', listener);
      resolve(unanswered(question));
    }, ANSWER_TIMEOUT_MS);
    const listener = (message: unknown): void => {
      if (
        !isMessage<Extract<PrimaryMessage, { type: 'kib:answer' }>>(message, 'kib:answer') ||
        message.id !== id
      )
        return;
      clearTimeout(timer);
      process.off('message', listener);
      resolve(message.answer);
    };
    process.on('message', listener);
    process.send?.({ type: 'kib:ask', id, question } satisfies WorkerMessage);
  });
}
