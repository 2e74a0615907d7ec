// Test harness: builds the Worker with tsc, runs it in workerd through
// miniflare, and starts loopback servers standing in for the policy proxy,
// the JWKS endpoint, a webhook destination and an OTLP receiver.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');

/** Runs tsc with `args` in the gateway directory; returns status and output. */
export function tsc(args) {
  const r = spawnSync(TSC, args, { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

let built = false;
/** Compiles src/ and obs/ to build/ once per process (tsc --strict). */
export function build() {
  if (built) return;
  const r = tsc(['-p', 'tsconfig.json']);
  if (r.code !== 0) throw new Error(`tsc failed:\n${r.out}`);
  built = true;
}

/** An HTTP server on 127.0.0.1 with a handler; resolves to { url, close, requests }. */
export function serve(handler) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, port, requests, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

/** An RSA key pair, its JWKS and a signer of Access-style JWTs. */
export function accessKeys(kid = 'k1') {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const sign = (claims = {}) => {
    const h = b64({ alg: 'RS256', kid, typ: 'JWT' });
    const p = b64({ exp: Math.floor(Date.now() / 1000) + 600, ...claims });
    const s = crypto.sign('sha256', Buffer.from(`${h}.${p}`), privateKey).toString('base64url');
    return `${h}.${p}.${s}`;
  };
  return { jwks: { keys: [jwk] }, sign };
}

/** Starts `script` (default the built Worker) in workerd with `bindings`. */
export async function startWorker(bindings, script = 'build/src/index.js') {
  build();
  const mf = new Miniflare({
    modules: true,
    scriptPath: path.join(ROOT, script),
    modulesRoot: ROOT,
    modulesRules: [{ type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }],
    compatibilityDate: '2025-01-01',
    bindings,
  });
  await mf.ready;
  return { mf, fetch: (p, init) => mf.dispatchFetch(`http://gateway.test${p}`, init), close: () => mf.dispose() };
}

/** Waits until `pred()` holds (polling), at most `ms`. */
export async function until(pred, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return pred();
}
