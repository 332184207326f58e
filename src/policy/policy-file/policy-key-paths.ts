import type { JsonSchemaOf } from './image-policy.schema';

/**
 * Every key an ImagePolicy may have, by where it may be: `{"": ["apiVersion", ...], "spec":
 * [...], "spec.rules[]": [...], ...}` (`[]` stands for any item of a list). Read from the schema,
 * so it follows the rules: the Helm chart checks `policy.document` against it at render
 * (charts/kube-image-bouncer/files/policy-keys.json, written by `npm run schema`), and
 * docs/policy.md must name every one. A mapping whose keys are free (labels, annotations) has no
 * entry.
 */
export function policyKeyPaths(schema: JsonSchemaOf): Record<string, string[]> {
  const paths: Record<string, string[]> = {};
  const visit = (node: JsonSchemaOf | undefined, path: string): void => {
    if (node === undefined || typeof node !== 'object') return;
    const properties = node.properties as Record<string, JsonSchemaOf> | undefined;
    if (properties) {
      const keys = (paths[path] ??= []);
      for (const [key, child] of Object.entries(properties)) {
        if (!keys.includes(key)) keys.push(key);
        visit(child, path === '' ? key : `${path}.${key}`);
      }
    }
    if (node.items && typeof node.items === 'object') visit(node.items as JsonSchemaOf, `${path}[]`);
    for (const choice of ['oneOf', 'anyOf', 'allOf'] as const)
      for (const branch of (node[choice] as JsonSchemaOf[] | undefined) ?? []) visit(branch, path);
  };
  visit(schema, '');
  return paths;
}

/** `spec.rules[].verifySignatures.keys`: every key of `policyKeyPaths`, each with the path to it. */
export function policyKeys(schema: JsonSchemaOf): string[] {
  return Object.entries(policyKeyPaths(schema)).flatMap(([path, keys]) =>
    keys.map((key) => (path === '' ? key : `${path}.${key}`)),
  );
}
