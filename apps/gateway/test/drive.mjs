// Drives the Worker in workerd so that it emits every gateway metric and some
// log records to the OTLP endpoint given as argv[2] (live-check's listener).
// With --mistakes, runs test/mistakes-worker.mjs instead: the same Worker plus
// four injected mistakes (see there). Exits when the Worker has flushed.
import { accessKeys, serve, startWorker } from './harness.mjs';

const otlp = process.argv[2];
const mistakes = process.argv.includes('--mistakes');
if (!otlp) throw new Error('usage: node test/drive.mjs OTLP_URL [--mistakes]');

const keys = accessKeys();
let slow = false;
const upstream = await serve((req, res) => {
  setTimeout(() => { res.writeHead(200); res.end('ok'); }, slow ? 300 : 0);
});
const jwks = await serve((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(keys.jwks)); });
const hook = await serve((req, res) => { res.writeHead(204); res.end(); });
const w = await startWorker({
  UPSTREAM_URL: upstream.url,
  OTLP_ENDPOINT: otlp,
  JWKS_URL: `${jwks.url}/certs`,
  MAX_INFLIGHT: '1',
  WEBHOOK_DESTINATIONS: JSON.stringify({ h1: `${hook.url}/in` }),
  LOG_SAMPLE_SUCCESS: '1',
}, mistakes ? 'test/mistakes-worker.mjs' : 'build/src/index.js');
const h = () => ({ 'cf-access-jwt-assertion': keys.sign(), 'x-session-type': 'agent' });
try {
  for (const [p, method] of [['/v1/rooms/r1', 'GET'], ['/v1/rooms/r1/messages', 'GET'], ['/v1/media/presign', 'POST'], ['/mcp', 'POST'], ['/nowhere', 'GET']]) {
    const r = await w.fetch(p, { method, headers: h(), ...(method === 'POST' ? { body: '{}' } : {}) });
    await r.arrayBuffer();
  }
  await (await w.fetch('/v1/webhooks/h1', { method: 'POST', headers: h(), body: '{}' })).arrayBuffer();
  await (await w.fetch('/v1/rooms/r1', { headers: { 'cf-access-jwt-assertion': 'x.y.z' } })).arrayBuffer();
  slow = true;
  const burst = await Promise.all([1, 2, 3].map(() => w.fetch('/v1/rooms/r1', { headers: h() })));
  for (const r of burst) await r.arrayBuffer();
  slow = false;
  await (await w.fetch('/v1/rooms/r1', { headers: h() })).arrayBuffer();
  // waitUntil'd flushes finish after the responses.
  await new Promise((r) => setTimeout(r, 500));
} finally {
  await w.close();
  for (const s of [upstream, jwks, hook]) await s.close();
}
