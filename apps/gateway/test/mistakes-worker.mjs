// The gateway Worker with four injected mistakes, for live-check's test
// (tools/tests/live_check.rs). Each is something tsc rejects in TypeScript or
// the generated client refuses at run time, so it is injected here, in plain
// JavaScript, the way a hand-written or buggy emitter would send it:
//   1. an undeclared metric (gateway_cache_hits_total),
//   2. a label value outside a closed set (method="BREW", through the generated
//      client: JavaScript has no type check),
//   3. a forbidden log field (prompt),
//   4. twice the bound of an open label (route: 2 x max_values distinct values).
import worker from '../build/src/index.js';
import { METRICS, Obs } from '../build/obs/otlp_client.js';

let injected = false;

function resource(kind, scope, items, list) {
  return JSON.stringify({ [kind]: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gateway' } }] }, [scope]: [{ scope: { name: 'mistakes' }, [items]: list }] }] });
}

async function inject(env) {
  const post = (path, body) => fetch(`${env.OTLP_ENDPOINT}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.arrayBuffer());
  const now = `${BigInt(Date.now()) * 1000000n}`;
  const str = (key, v) => ({ key, value: { stringValue: v } });
  // 1. An undeclared metric.
  const undeclared = { name: 'gateway_cache_hits_total', unit: '1', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ attributes: [], startTimeUnixNano: now, timeUnixNano: now, asDouble: 1 }] } };
  // 4. 2 x the bound of `route` on gateway_http_requests_total.
  const bound = METRICS.find((m) => m.name === 'gateway_http_requests_total').labels.find(([l]) => l === 'route')[1];
  const points = Array.from({ length: 2 * bound }, (_, i) => ({
    attributes: [str('route', `/injected/${i}`), str('method', 'GET'), str('code', '200')], startTimeUnixNano: now, timeUnixNano: now, asDouble: 1,
  }));
  const overBound = { name: 'gateway_http_requests_total', unit: '1', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: points } };
  await post('/v1/metrics', resource('resourceMetrics', 'scopeMetrics', 'metrics', [undeclared, overBound]));
  // 3. A forbidden log field.
  const rec = { timeUnixNano: now, severityNumber: 9, attributes: [str('component', 'gateway'), str('prompt', 'zqcanary')] };
  await post('/v1/logs', resource('resourceLogs', 'scopeLogs', 'logRecords', [rec]));
  // 2. A closed label's value outside its set, through the generated client.
  const bad = new Obs({ endpoint: env.OTLP_ENDPOINT });
  bad.gateway_http_requests_total({ route: '/mcp', method: 'BREW', code: '200' });
  await bad.flush();
}

export default {
  async fetch(req, env, ctx) {
    if (!injected) {
      injected = true;
      await inject(env);
    }
    return worker.fetch(req, env, ctx);
  },
};
