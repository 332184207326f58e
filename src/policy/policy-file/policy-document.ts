import { LineCounter, isMap, isNode, parseDocument, type Node } from 'yaml';
import { InvalidPolicyError, PolicyPath } from './invalid-policy.error';

/** A policy file parsed into plain data, able to say on which line a key path is. */
export interface PolicyDocument {
  readonly value: unknown;
  /** 1-based line of the node at `path`, or of `key` in the map at `path` when given. */
  locate(path: PolicyPath, key?: string): number | undefined;
}

/** YAML 1.2 with duplicate keys refused; JSON is accepted too, being YAML. */
export function parsePolicyDocument(text: string, source: string): PolicyDocument {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
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
  return {
    value: document.toJS({ maxAliasCount: 100 }) as unknown,
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
