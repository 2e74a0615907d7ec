// Serves the Worker in workerd (miniflare) on a loopback address, for the
// Proof of Done run (`obspec-tools dod`) or a developer's look around:
//
//   node scripts/serve.mjs --listen 127.0.0.1:PORT --upstream URL --otlp URL
//
// --upstream is the policy proxy's base URL (UPSTREAM_URL), --otlp the OTLP/HTTP
// base URL the generated client posts to (OTLP_ENDPOINT: the collector, or
// `obspec-tools live-check --otlp`). JWKS_URL is left unset (no Access token
// check: the Access path is covered by test/gateway.test.mjs). Prints
// `listening on http://ADDR` as the first stdout line once the Worker is ready;
// stops on SIGTERM/SIGINT.
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { ROOT, build } from '../test/harness.mjs';

function arg(name) {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}
const listen = arg('--listen');
const upstream = arg('--upstream');
const otlp = arg('--otlp');
if (!listen || !upstream || !otlp) {
  console.error('usage: node scripts/serve.mjs --listen HOST:PORT --upstream URL --otlp URL');
  process.exit(2);
}
const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
if (host !== '127.0.0.1' && host !== 'localhost') {
  console.error(`serve.mjs binds loopback only, not ${host}`);
  process.exit(2);
}

build();
const bindings = { UPSTREAM_URL: upstream, OTLP_ENDPOINT: otlp };
const mf = new Miniflare({
  modules: true,
  scriptPath: path.join(ROOT, 'build/src/index.js'),
  modulesRoot: ROOT,
  modulesRules: [{ type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }],
  compatibilityDate: '2025-01-01',
  host,
  port,
  bindings,
});
const url = await mf.ready;
console.log(`listening on http://${host}:${url.port || port}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await mf.dispose();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
