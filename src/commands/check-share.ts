/**
 * `surplus check-share FILE`: validate share vectors (the format of
 * test/fixtures/share-vectors.json) and print one JSON verdict per line.
 * A bad file is an InputError naming the field; nothing is printed for it.
 * Exit codes: 0 every share accepted, 1 some rejected, 2 bad input.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { parseArgs } from './args.js';
import { parseVectorFile } from '../shares/vector-file.js';
import { checkVector } from '../shares/check-vector.js';

export async function run(args: string[]): Promise<number> {
  const { positional } = parseArgs(args, {});
  if (positional.length !== 1) throw new InputError(`check-share needs exactly one FILE, got ${positional.length}`);
  const file = positional[0]!;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let vectors;
  try {
    vectors = parseVectorFile(text);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${file}: ${err.message}`);
    throw err;
  }
  const verdicts = vectors.map((v) => checkVector(v));
  process.stdout.write(verdicts.map((v) => JSON.stringify(v)).join('\n') + '\n');
  // Like grep and diff: 1 when a share is rejected, so a script can tell (2 stays "bad input").
  const rejected = verdicts.filter((v) => !v.accepted).length;
  if (rejected === 0) return 0;
  process.stderr.write(`surplus check-share: ${rejected} of ${verdicts.length} shares rejected\n`);
  return 1;
}
