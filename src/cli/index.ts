// The command line, as main.ts starts it.
export { runCli } from './cli';
