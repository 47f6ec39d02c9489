// Composes the throughput benchmark's four subgraph SDLs (bench/throughput/NAME.graphql) into its supergraph
// with Apollo's composition (@apollo/composition, pinned in package.json), and writes it to
// bench/throughput/supergraph.graphql (or the path given). The subgraph URLs are placeholders
// (http://127.0.0.1:4201/graphql ...): bench/throughput.py puts the real ones in at run time.
//   bench/peers/install.sh && node bench/peers/compose.mjs [OUT]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse } from 'graphql';
import { composeServices } from '@apollo/composition';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, '..', 'throughput');
const names = ['accounts', 'inventory', 'products', 'reviews'];
const services = names.map((name, i) => ({
  name,
  url: `http://127.0.0.1:${4201 + i}/graphql`,
  typeDefs: parse(readFileSync(path.join(dir, `${name}.graphql`), 'utf8')),
}));
const result = composeServices(services);
if (result.errors) {
  for (const error of result.errors) console.error(String(error));
  process.exit(1);
}
for (const hint of result.hints ?? []) console.error(`hint: ${hint.toString()}`);
const out = process.argv[2] ?? path.join(dir, 'supergraph.graphql');
writeFileSync(out, result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`);
console.log(`wrote ${out}`);
