// Composes subgraph sets with Apollo's composition (@apollo/composition, installed by bench/peers/install.sh)
// for the differential test: reads [{name, subgraphs: [{name, url, sdl}], ours?}] as JSON on stdin, writes
// {name: {supergraph, errors: [{code, message}], hints: [code], oursRefused?}} as JSON on stdout. `ours` is
// turnout's supergraph for the set: it is loaded as Apollo Gateway loads one (Supergraph.build, the API schema,
// a QueryPlanner), and `oursRefused` is the error message when that fails (null when it loads);
// `theirsRefused` is the same for Apollo's own supergraph.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'bench', 'peers', 'package.json'));
const { composeServices } = require('@apollo/composition');
const { parse } = require('graphql');
const { Supergraph } = require('@apollo/federation-internals');
const { QueryPlanner } = require('@apollo/query-planner');

function refusal(sdl) {
  try {
    const supergraph = Supergraph.build(sdl);
    supergraph.apiSchema();
    new QueryPlanner(supergraph);
    return null;
  } catch (error) {
    return String(error.message ?? error);
  }
}

const sets = JSON.parse(readFileSync(0, 'utf8'));
const out = {};
for (const set of sets) {
  let result;
  try {
    const services = set.subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) }));
    result = composeServices(services);
  } catch (error) {
    out[set.name] = { supergraph: null, errors: [{ code: 'INVALID_GRAPHQL', message: String(error.message) }], hints: [] };
    continue;
  }
  out[set.name] = {
    oursRefused: set.ours ? refusal(set.ours) : null,
    theirsRefused: result.errors ? null : refusal(result.supergraphSdl),
    supergraph: result.errors ? null : result.supergraphSdl,
    errors: (result.errors ?? []).map((e) => ({ code: e.extensions?.code ?? 'UNKNOWN', message: e.message })),
    hints: (result.hints ?? []).map((h) => h.definition?.code ?? 'UNKNOWN'),
  };
}
process.stdout.write(JSON.stringify(out));
