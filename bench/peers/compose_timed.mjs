// Times Apollo's composition (@apollo/composition, pinned in package.json) for bench/compose.py: reads
// {name: [{name, url, sdl}]} as JSON on stdin and `--repeat N`, composes each set N times (after one warm-up),
// writes {name: {ms: [..], errors: N}} as JSON on stdout. Parsing the SDLs is timed too, as turnout's is.
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { composeServices } from '@apollo/composition';

const repeat = Number(process.argv[process.argv.indexOf('--repeat') + 1] || 3);
const sets = JSON.parse(readFileSync(0, 'utf8'));
const out = {};
for (const [name, subgraphs] of Object.entries(sets)) {
  const run = () => composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  const first = run();
  const ms = [];
  for (let i = 0; i < repeat; i++) {
    const start = process.hrtime.bigint();
    run();
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  out[name] = { ms, errors: first.errors ? first.errors.length : 0 };
}
process.stdout.write(JSON.stringify(out));
