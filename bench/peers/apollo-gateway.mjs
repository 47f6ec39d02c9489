// Apollo Gateway (@apollo/gateway with @apollo/server's standalone HTTP server, versions pinned in
// package.json), serving a supergraph file at POST /graphql, one process, as the gateways benchmark runs it.
//   node bench/peers/apollo-gateway.mjs --supergraph FILE [--host 127.0.0.1] [--port 4000]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway } from '@apollo/gateway';

const { values } = parseArgs({
  options: {
    supergraph: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '4000' },
  },
});
if (!values.supergraph) {
  console.error('usage: node apollo-gateway.mjs --supergraph FILE [--host 127.0.0.1] [--port 4000]');
  process.exit(2);
}
const gateway = new ApolloGateway({ supergraphSdl: readFileSync(values.supergraph, 'utf8') });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: values.host, port: Number.parseInt(values.port, 10) },
});
console.log(`apollo-gateway ready at ${url}`);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.stop().then(() => process.exit(0), () => process.exit(1));
  });
}
