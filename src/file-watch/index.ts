// Files that are watched and re-read when they change (policy, certificates, trust material).
export { WatchedFiles } from './watched-files';
export type { FileContents } from './watched-files';
