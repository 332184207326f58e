import { CST, LineCounter, Parser, isMap, isNode, parseDocument, type Node } from 'yaml';
import { InvalidPolicyError, PolicyPath } from './invalid-policy.error';

/** Far deeper than any policy (about 5 levels), far shallower than what exhausts the stack (about 1,000). */
export const MAX_POLICY_NESTING = 64;

/**
 * How deeply the YAML text nests, from its concrete syntax tree, which yaml builds without recursion.
 * The document composer does recurse: nested thousands deep, it overflows the stack, and on Node 20
 * an overflow while V8 compiles one of yaml's regular expressions leaves it broken, so that the
 * next deep file kills the process ("FATAL ERROR: RegExpCompiler Allocation failed").
 */
function nestingDepth(text: string): number {
  const pending: [CST.Token | undefined, number][] = [...new Parser().parse(text)].map((t) => [t, 0]);
  let deepest = 0;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [token, depth] = next;
    if (token === undefined) continue;
    deepest = Math.max(deepest, depth);
    if (token.type === 'document') pending.push([token.value, depth]);
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      for (const item of token.items) {
        if ('key' in item) pending.push([item.key ?? undefined, depth + 1]);
        pending.push([item.value, depth + 1]);
      }
    }
  }
  return deepest;
}

/** A JSON Pointer (RFC 6901), as ajv reports an instance path, as key steps. */
export const pointerToPath = (pointer: string): (string | number)[] =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((step) => step.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((step) => (/^\d+$/.test(step) ? Number(step) : step));

/** The value at a key path of parsed data, or undefined when a step is missing. */
export function valueAt(root: unknown, path: PolicyPath): unknown {
  return path.reduce<unknown>(
    (node, step) =>
      node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[step] : undefined,
    root,
  );
}

/** A policy file parsed into plain data, able to say on which line a key path is. */
export interface PolicyDocument {
  readonly value: unknown;
  /** 1-based line of the node at `path`, or of `key` in the map at `path` when given. */
  locate(path: PolicyPath, key?: string): number | undefined;
}

/** YAML 1.2 with duplicate keys refused; JSON is accepted too, being YAML. */
export function parsePolicyDocument(text: string, source: string): PolicyDocument {
  if (nestingDepth(text) > MAX_POLICY_NESTING) {
    throw new InvalidPolicyError(source, [
      { path: [], message: `is nested more than ${MAX_POLICY_NESTING} levels deep` },
    ]);
  }
  const lineCounter = new LineCounter();
  // logLevel error: the yaml library would otherwise print its warnings to the process's stderr.
  const document = parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    logLevel: 'error',
  });
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line;
  if (document.errors.length > 0) {
    throw new InvalidPolicyError(
      source,
      document.errors.map((error) => ({
        path: [],
        line: lineOf(error.pos[0]),
        message: error.message.split('\n')[0],
      })),
    );
  }
  let value: unknown;
  try {
    // Bounded, so that a "billion laughs" of aliases is refused rather than expanded.
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new InvalidPolicyError(source, [{ path: [], message: (error as Error).message }]);
  }
  return {
    value,
    locate(path, key) {
      const node = path.length === 0 ? document.contents : document.getIn(path, true);
      if (!isNode(node)) return undefined;
      if (key !== undefined && isMap(node)) {
        const pair = node.items.find(
          (item) => isNode(item.key) && (item.key as Node & { value?: unknown }).value === key,
        );
        if (pair && isNode(pair.key) && pair.key.range) return lineOf(pair.key.range[0]);
      }
      return node.range ? lineOf(node.range[0]) : undefined;
    },
  };
}
