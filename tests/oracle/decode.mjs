// node decode.mjs --tokenizer tokenizer.json --input ids.jsonl --output strings.jsonl [--skip-special-tokens]
// One JSON array of ids per input line; writes one JSON string per line, in order.
import { writeFileSync } from 'node:fs';
import { loadTokenizer, parseArgs, readJsonLines } from './load_tokenizer.mjs';

const args = parseArgs(process.argv.slice(2));
const tokenizer = loadTokenizer(args.tokenizer);
const skipSpecial = Boolean(args['skip-special-tokens']);
const lines = [];
for (const ids of readJsonLines(args.input)) lines.push(JSON.stringify(await tokenizer.decode(ids, skipSpecial)));
writeFileSync(args.output, lines.join('\n') + '\n');
