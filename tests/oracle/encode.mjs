// node encode.mjs --tokenizer tokenizer.json --input strings.jsonl --output ids.jsonl
//                 [--no-special-tokens] [--plain-special]
// One JSON string per input line; writes one JSON array of ids per line, in order.
import { writeFileSync } from 'node:fs';
import { loadTokenizer, parseArgs, readJsonLines } from './load_tokenizer.mjs';

const args = parseArgs(process.argv.slice(2));
const tokenizer = loadTokenizer(args.tokenizer, { plainSpecial: Boolean(args['plain-special']) });
const options = { addSpecialTokens: !args['no-special-tokens'] };
const lines = [];
for (const text of readJsonLines(args.input)) {
  const encoding = await tokenizer.encode(text, null, options);
  lines.push(JSON.stringify(encoding.getIds()));
}
writeFileSync(args.output, lines.join('\n') + '\n');
