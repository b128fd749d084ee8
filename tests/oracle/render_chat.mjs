// node render_chat.mjs --template template.jinja --input cases.json --output rendered.json
// cases.json: [{"messages": [{"role", "content"}...], "add_generation_prompt": bool, "bos_token", "eos_token"}]
// Renders each case with @huggingface/jinja as transformers' apply_chat_template passes the variables; writes a
// JSON array of strings.
import { readFileSync, writeFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { parseArgs } from './load_tokenizer.mjs';

const args = parseArgs(process.argv.slice(2));
const template = new Template(readFileSync(args.template, 'utf8'));
const cases = JSON.parse(readFileSync(args.input, 'utf8'));
const rendered = cases.map((c) =>
  template.render({
    messages: c.messages,
    add_generation_prompt: c.add_generation_prompt,
    bos_token: c.bos_token,
    eos_token: c.eos_token,
  }),
);
writeFileSync(args.output, JSON.stringify(rendered));
