const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `*` matches any run of characters except `/`; everything else is literal. */
export function segmentGlobSource(glob: string): string {
  return glob.split('*').map(escapeRegExp).join('[^/]*');
}

/**
 * A glob over a slash-separated path: `*` stays within one segment, and a segment that is exactly
 * `**` matches any number of whole segments, zero included (`a/**` matches `a` and `a/b/c`).
 */
export function pathGlobSource(glob: string): string {
  const segments = glob.split('/');
  if (segments.length === 1 && segments[0] === '**') return '.*';
  let source = '';
  segments.forEach((segment, index) => {
    const first = index === 0;
    const afterGlobstar = !first && segments[index - 1] === '**';
    if (segment === '**') {
      const last = index === segments.length - 1;
      source += last ? '(?:/.*)?' : first ? '(?:[^/]+/)*' : '/(?:[^/]+/)*';
      return;
    }
    source += (first || afterGlobstar ? '' : '/') + segmentGlobSource(segment);
  });
  return source;
}

/** Exact string comparison when there is no wildcard, which is the common case and the fast one. */
export type CompiledGlob = string | RegExp;

export function compileGlob(glob: string, source: (glob: string) => string, flags = ''): CompiledGlob {
  return glob.includes('*') ? new RegExp(`^(?:${source(glob)})$`, flags) : glob;
}

export function globMatches(glob: CompiledGlob, text: string): boolean {
  return typeof glob === 'string' ? glob === text : glob.test(text);
}

/** Namespace globs: `prod-*`, `kube-*`. Namespaces have no `/`, so `*` is the only wildcard. */
export class NamespaceGlob {
  private readonly compiled: CompiledGlob;

  constructor(readonly source: string) {
    this.compiled = compileGlob(source, segmentGlobSource);
  }

  matches(namespace: string): boolean {
    return globMatches(this.compiled, namespace);
  }
}
