// node bench_encode.mjs --tokenizer tokenizer.json --input documents.jsonl [--repeats 5]
// Encodes every document one after the other (one call at a time, so the Rust side runs on one thread) and
// prints {"bytes": ..., "seconds": ..., "tokens": ...}, seconds being the median pass of `repeats`. Only encoding
// is timed: not the process start, the tokenizer load or reading the file.
import { loadTokenizer, parseArgs, readJsonLines } from './load_tokenizer.mjs';

const args = parseArgs(process.argv.slice(2));
const tokenizer = loadTokenizer(args.tokenizer);
const documents = readJsonLines(args.input);
const bytes = documents.reduce((sum, text) => sum + Buffer.byteLength(text, 'utf8'), 0);
const repeats = Number(args.repeats ?? 5);
const seconds = [];
let tokens = 0;
for (let repeat = 0; repeat < repeats; repeat++) {
  tokens = 0;
  const start = process.hrtime.bigint();
  for (const text of documents) tokens += (await tokenizer.encode(text, null, { addSpecialTokens: false })).getLength();
  seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
}
seconds.sort((a, b) => a - b);
console.log(JSON.stringify({ bytes, seconds: seconds[Math.floor(seconds.length / 2)], tokens }));
