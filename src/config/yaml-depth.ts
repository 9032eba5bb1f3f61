import { Parser } from 'yaml';

/**
 * How deep a YAML/JSON text nests (a document's top-level value is depth 1),
 * measured on the yaml library's concrete syntax tree. Its lexer and parser
 * keep their own stacks, and this walk keeps an explicit one, so a file
 * nested thousands deep is measured without recursion: the bound holds
 * whatever the thread's stack size (the composing parser recurses, and a
 * worker thread's larger stack let such a file through to it).
 */
export function yamlDepth(text: string): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [];
  for (const token of new Parser().parse(text)) stack.push([token, 0]);
  while (stack.length > 0) {
    const [t, d] = stack.pop()!;
    if (t === null || typeof t !== 'object') continue;
    if (d > max) max = d;
    const node = t as { type?: string; value?: unknown; items?: Array<{ key?: unknown; value?: unknown }> };
    if (node.type === 'document') stack.push([node.value, d + 1]);
    else if (node.type === 'block-map' || node.type === 'block-seq' || node.type === 'flow-collection') {
      for (const it of node.items ?? []) {
        if (it.key) stack.push([it.key, d + 1]);
        if (it.value) stack.push([it.value, d + 1]);
      }
    }
  }
  return max;
}
