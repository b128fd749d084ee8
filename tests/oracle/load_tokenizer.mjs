// Loads a tokenizer.json with Hugging Face's Rust tokenizers (the `tokenizers` npm binding).
// With plainSpecial, special-token strings in the text are tokenized as plain text: the effect of tokenizers'
// encode_special_tokens (transformers' split_special_tokens), which the Node binding does not expose. Each special
// token's content is replaced by a string no test text contains, keeping its place in the list so that every
// added token keeps its id.
import { readFileSync } from 'node:fs';
import { Tokenizer } from 'tokenizers';

export function loadTokenizer(path, { plainSpecial = false } = {}) {
  if (!plainSpecial) return Tokenizer.fromFile(path);
  const json = JSON.parse(readFileSync(path, 'utf8'));
  for (const [index, token] of (json.added_tokens ?? []).entries())
    if (token.special) token.content = `<moulin-oracle-disabled-special-${index}>`;
  return Tokenizer.fromString(JSON.stringify(json));
}

// Command-line flags: --name value, or --name alone for true.
export function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    const name = argv[i].slice(2);
    if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args[name] = argv[++i];
    else args[name] = true;
  }
  return args;
}

export function readJsonLines(path) {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0).map((line) => JSON.parse(line));
}
