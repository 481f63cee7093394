/**
 * `node dist/bin/scx-params.js <scheduler> <version> <help.txt>`: the typed parameters of an
 * installed scx binary, from the --help text scripts/scx-schedulers.sh recorded, as ScxParams JSON
 * on stdout (the script writes it to <cache>/scx-bin/params/<scheduler>.json).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseHelp, ScxParams } from '../core/scx/help.js';

const [scheduler, version, file] = process.argv.slice(2);
if (!scheduler || !version || !file) {
  console.error('usage: scx-params <scheduler> <version> <help.txt>');
  process.exit(2);
}
const text = readFileSync(file, 'utf8');
const params = parseHelp(text);
if (!params.length) {
  console.error(`scx-params: no options found in ${file}`);
  process.exit(1);
}
const out = ScxParams.parse({ scheduler, version, helpSha256: createHash('sha256').update(text).digest('hex'), params });
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
