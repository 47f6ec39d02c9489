#!/usr/bin/env node
// Composes Federation 2 subgraph SDLs into a supergraph SDL with Apollo's official composition.
//
// Usage:
//   node compose.mjs [--out FILE] [--url NAME=URL]... [--hints] SOURCE...
//
// Each SOURCE is a directory (every *.graphql in it except supergraph.graphql, by name),
// a FILE.graphql (subgraph name = file stem) or NAME=FILE.graphql. Subgraph URLs default to
// http://127.0.0.1:<4101 + position>/graphql in the order the subgraphs were given; --url
// overrides one. Prints the supergraph SDL (or writes it to --out); on composition errors
// prints them to stderr and exits 1.
//
// @apollo/composition, @apollo/federation-internals and graphql are loaded from the current
// directory's node_modules (or from $COMPOSE_DIR/node_modules), never from the repository:
//   mkdir -p /tmp/compose && cd /tmp/compose && npm init -y >/dev/null &&
//     npm install @apollo/composition@2.14.4 @apollo/federation-internals@2.14.4 graphql@16
//   cd /tmp/compose && node /path/to/compose.mjs /path/to/subgraphs/ > supergraph.graphql

import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const SUPERGRAPH_FILE = 'supergraph.graphql';
const FIRST_PORT = 4101;

function usage(message) {
  if (message) console.error(`compose.mjs: ${message}`);
  console.error('usage: node compose.mjs [--out FILE] [--url NAME=URL]... [--hints] (DIR | [NAME=]FILE.graphql)...');
  process.exit(2);
}

function loadModules() {
  const bases = [process.env.COMPOSE_DIR, process.cwd()].filter(Boolean);
  for (const base of bases) {
    const require = createRequire(path.join(path.resolve(base), 'noop.js'));
    try {
      return { composition: require('@apollo/composition'), graphql: require('graphql') };
    } catch (error) {
      if (error.code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  console.error(
    'compose.mjs: cannot load @apollo/composition and graphql; run it from a folder where they are installed\n' +
      '  (npm install @apollo/composition @apollo/federation-internals graphql) or set COMPOSE_DIR',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const options = { out: null, urls: new Map(), hints: false, sources: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') {
      options.out = argv[++i] ?? usage('--out needs a file');
    } else if (arg === '--url') {
      const value = argv[++i] ?? usage('--url needs NAME=URL');
      const eq = value.indexOf('=');
      if (eq < 1) usage(`bad --url ${value}`);
      options.urls.set(value.slice(0, eq), value.slice(eq + 1));
    } else if (arg === '--hints') {
      options.hints = true;
    } else if (arg === '-h' || arg === '--help') {
      usage();
    } else if (arg.startsWith('--')) {
      usage(`unknown option ${arg}`);
    } else {
      options.sources.push(arg);
    }
  }
  if (options.sources.length === 0) usage('no subgraphs given');
  return options;
}

function subgraphFiles(sources) {
  const files = [];
  for (const source of sources) {
    const eq = source.indexOf('=');
    if (eq > 0 && !source.startsWith('.') && !source.startsWith('/')) {
      files.push({ name: source.slice(0, eq), file: source.slice(eq + 1) });
    } else if (statSync(source).isDirectory()) {
      for (const entry of readdirSync(source).sort()) {
        if (entry.endsWith('.graphql') && entry !== SUPERGRAPH_FILE) {
          files.push({ name: path.basename(entry, '.graphql'), file: path.join(source, entry) });
        }
      }
    } else {
      files.push({ name: path.basename(source, '.graphql'), file: source });
    }
  }
  return files;
}

const options = parseArgs(process.argv.slice(2));
const { composition, graphql } = loadModules();
const files = subgraphFiles(options.sources);
const names = new Set(files.map((f) => f.name));
if (names.size !== files.length) usage(`duplicate subgraph names: ${files.map((f) => f.name).join(', ')}`);
for (const name of options.urls.keys()) if (!names.has(name)) usage(`--url for unknown subgraph ${name}`);

const services = files.map(({ name, file }, index) => ({
  name,
  url: options.urls.get(name) ?? `http://127.0.0.1:${FIRST_PORT + index}/graphql`,
  typeDefs: graphql.parse(readFileSync(file, 'utf8')),
}));

const result = composition.composeServices(services);
if (result.errors && result.errors.length > 0) {
  console.error(`composition failed with ${result.errors.length} error(s):`);
  for (const error of result.errors) {
    const code = error.extensions?.code ? `[${error.extensions.code}] ` : '';
    console.error(`- ${code}${error.message}`);
  }
  process.exit(1);
}
if (options.hints) {
  for (const hint of result.hints ?? []) console.error(`hint: [${hint.definition?.code ?? '?'}] ${hint.message}`);
}
const sdl = result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`;
if (options.out) writeFileSync(options.out, sdl);
else process.stdout.write(sdl);
