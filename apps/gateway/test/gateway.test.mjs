// The Worker in workerd (miniflare): routing through the policy proxy, JWKS
// refresh counting, backpressure, webhook delivery, and the OTLP it sends.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { accessKeys, serve, startWorker, until } from './harness.mjs';

const keys = accessKeys();
let jwksUp = true;
let upstream, jwks, hookDest, otlp, w;
let upstreamHold = null;

before(async () => {
  upstream = await serve(async (req, res) => {
    if (upstreamHold) await upstreamHold;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`core ${req.method} ${req.url}`);
  });
  jwks = await serve((req, res) => {
    if (!jwksUp) { res.writeHead(503); res.end(); return; }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(keys.jwks));
  });
  hookDest = await serve((req, res) => { res.writeHead(204); res.end(); });
  otlp = await serve((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}'); });
  w = await startWorker({
    UPSTREAM_URL: upstream.url,
    OTLP_ENDPOINT: otlp.url,
    JWKS_URL: `${jwks.url}/certs`,
    JWKS_REFRESH_MS: '0',
    MAX_INFLIGHT: '2',
    WEBHOOK_DESTINATIONS: JSON.stringify({ h1: `${hookDest.url}/in` }),
    LOG_SAMPLE_SUCCESS: '1',
  });
});

after(async () => {
  await w?.close();
  for (const s of [upstream, jwks, hookDest, otlp]) await s?.close();
});

const auth = () => ({ 'cf-access-jwt-assertion': keys.sign() });

/** The last cumulative value of each series of `name` in the OTLP metrics received. */
function series(name) {
  const out = new Map();
  for (const r of otlp.requests.filter((r) => r.url === '/v1/metrics')) {
    const body = JSON.parse(r.body);
    for (const rm of body.resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) {
      if (m.name !== name) continue;
      const points = (m.sum ?? m.gauge ?? m.histogram).dataPoints;
      for (const p of points) {
        const key = p.attributes.map((a) => `${a.key}=${Object.values(a.value)[0]}`).join(',');
        out.set(key, p.asDouble ?? Number(p.count));
      }
    }
  }
  return out;
}

function logRecords() {
  return otlp.requests.filter((r) => r.url === '/v1/logs').flatMap((r) => JSON.parse(r.body).resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((s) => s.logRecords)));
}

test('routes a gateway route to Core through the policy proxy, with a valid Access token', async () => {
  const r = await w.fetch('/v1/rooms/r1/messages?after=3', { headers: auth() });
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'core GET /v1/rooms/r1/messages?after=3');
  const bad = await w.fetch('/v1/rooms/r1', { headers: { 'cf-access-jwt-assertion': 'a.b.c' } });
  assert.equal(bad.status, 401);
  assert.deepEqual(await bad.json(), { error: 'UNAUTHENTICATED' });
  const none = await w.fetch('/nowhere', { headers: auth() });
  assert.equal(none.status, 404);
  assert.ok(await until(() => series('gateway_http_requests_total').get('route=/v1/rooms/:room_id/messages,method=GET,code=200') === 1));
  assert.ok(await until(() => series('gateway_http_requests_total').get('route=/v1/rooms/:room_id,method=GET,code=401') === 1));
  assert.ok(await until(() => series('gateway_http_requests_total').get('route=unmatched,method=GET,code=404') === 1));
  assert.ok(series('gateway_http_request_duration_seconds').get('route=/v1/rooms/:room_id/messages') >= 1);
});

test('JWKS refresh: attempts by outcome and the consecutive-failures gauge', async () => {
  jwksUp = false;
  await w.fetch('/v1/rooms/r1', { headers: auth() });
  await w.fetch('/v1/rooms/r1', { headers: auth() });
  assert.ok(await until(() => series('gateway_jwks_refresh_consecutive_failures').get('') === 2), JSON.stringify([...series('gateway_jwks_refresh_consecutive_failures')]));
  assert.ok(series('gateway_jwks_refresh_total').get('ok=false') >= 2);
  jwksUp = true;
  const r = await w.fetch('/v1/rooms/r1', { headers: auth() });
  assert.equal(r.status, 200);
  assert.ok(await until(() => series('gateway_jwks_refresh_consecutive_failures').get('') === 0));
  assert.ok(series('gateway_jwks_refresh_total').get('ok=true') >= 2);
});

test('past MAX_INFLIGHT requests answer BACKPRESSURE with Retry-After and are counted', async () => {
  let release;
  upstreamHold = new Promise((r) => { release = r; setTimeout(r, 3000); });
  const before = upstream.requests.length;
  const held = [1, 2].map(() => w.fetch('/v1/media/presign', { method: 'POST', headers: { ...auth(), 'x-session-type': 'agent' }, body: '{}' }));
  await until(() => upstream.requests.length >= before + 2, 2000);
  const r = await w.fetch('/v1/media/presign', { method: 'POST', headers: { ...auth(), 'x-session-type': 'agent' }, body: '{}' });
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('retry-after'), '1');
  assert.equal((await r.json()).error, 'BACKPRESSURE');
  upstreamHold = null;
  release();
  for (const h of await Promise.all(held)) assert.equal(h.status, 200);
  assert.ok(await until(() => series('gateway_backpressure_total').get('session_type=agent') === 1));
  assert.equal(series('gateway_backpressure_total').get('session_type=user'), 0, 'closed series start at zero');
});

test('a webhook is delivered to its destination and timed', async () => {
  const r = await w.fetch('/v1/webhooks/h1', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{"n":1}' });
  assert.equal(r.status, 202);
  assert.equal(hookDest.requests.at(-1).body.toString(), '{"n":1}');
  assert.ok(await until(() => series('webhook_delivery_total').get('dest=h1,ok=true') === 1));
  assert.equal(series('webhook_delivery_duration_seconds').get('dest=h1'), 1);
});

test('log records carry only allowed fields, no body, and keep the error lines', async () => {
  assert.ok(await until(() => logRecords().length >= 5));
  const allowed = new Set(['component', 'route', 'method', 'ok', 'code', 'latency_ms', 'err_token']);
  for (const rec of logRecords()) {
    assert.equal(rec.body, undefined);
    for (const a of rec.attributes) assert.ok(allowed.has(a.key), a.key);
  }
  assert.ok(logRecords().some((r) => r.severityText === 'ERROR' && r.attributes.some((a) => a.key === 'code' && a.value.intValue === '401')));
});
