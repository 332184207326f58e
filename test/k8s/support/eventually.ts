// The conformance tier waits the way every other tier does.
export type { EventuallyOptions } from '../../support/eventually';
export { WaitingIsPointless, eventually } from '../../support/eventually';
