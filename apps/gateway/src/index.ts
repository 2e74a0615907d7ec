/**
 * The edge gateway, as a Cloudflare Worker.
 *
 * - Routes the gateway's route templates (the spec's, `COMPONENT_ROUTES`) to
 *   Core through the policy proxy (`UPSTREAM_URL`), timing and counting every
 *   request with the generated emitters (`obs/otlp_client.ts`).
 * - Checks the Cloudflare Access JWT (`cf-access-jwt-assertion`, RS256) against
 *   the JWKS at `JWKS_URL`, refreshed every `JWKS_REFRESH_MS` (default 5 min):
 *   `gateway_jwks_refresh_total{ok}` per attempt and the consecutive-failures
 *   gauge. Without `JWKS_URL` no token is required (local runs).
 * - Backpressure: past `MAX_INFLIGHT` requests in flight in this isolate,
 *   answers `BACKPRESSURE` with `Retry-After`, counted by
 *   `gateway_backpressure_total{session_type}` (`x-session-type`).
 * - `POST /v1/webhooks/:hook_id` delivers the body to the destination named in
 *   `WEBHOOK_DESTINATIONS` (JSON `{hook_id: url}`): `webhook_delivery_*`.
 *
 * Telemetry goes to `OTLP_ENDPOINT` over OTLP/HTTP JSON. A Worker has no timers
 * between requests, so every request hands `obs.flush()` to `ctx.waitUntil`.
 */

import {
  COMPONENT_ROUTES,
  type Code,
  ERROR_ROLE,
  ERROR_TOKEN,
  ERROR_STATUS,
  type ErrorToken,
  type LogFields,
  type Method,
  Obs,
  type RouteTemplate,
  SESSION_TYPE_VALUES,
  type SessionType,
  isCode,
  isMethod,
  isSessionType,
} from "../obs/otlp_client.js";

/** The Worker's bindings. */
export interface Env {
  /** The policy proxy's base URL, e.g. `http://127.0.0.1:19100`. */
  readonly UPSTREAM_URL: string;
  /** OTLP/HTTP base URL of the collector (or `cargo xtask live-check --otlp`). */
  readonly OTLP_ENDPOINT: string;
  /** JWKS of Cloudflare Access; unset: no token check. */
  readonly JWKS_URL?: string;
  /** Milliseconds between JWKS refreshes. */
  readonly JWKS_REFRESH_MS?: string;
  /** Most requests in flight before BACKPRESSURE. */
  readonly MAX_INFLIGHT?: string;
  /** JSON object: webhook id -> destination URL. */
  readonly WEBHOOK_DESTINATIONS?: string;
  /** Success log sampling rate overriding the spec's (tests set 1). */
  readonly LOG_SAMPLE_SUCCESS?: string;
}

/** What the Worker runtime passes as the third argument of `fetch`. */
export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** The route label of a path no template matches (the Rust runtime's `unmatched`). */
const UNMATCHED = "unmatched";

let obs: Obs | undefined;
let inflight = 0;
let keys: Map<string, CryptoKey> = new Map();
let keysFetchedAt = -Infinity;
let consecutiveFailures = 0;

function telemetry(env: Env): Obs {
  if (!obs) {
    const rate = env.LOG_SAMPLE_SUCCESS === undefined ? undefined : Number(env.LOG_SAMPLE_SUCCESS);
    obs = new Obs({ endpoint: env.OTLP_ENDPOINT, ...(rate === undefined ? {} : { sampleSuccess: rate }) });
  }
  return obs;
}

/** The template matching `path` (`:name` segments match one segment). */
export function matchRoute(path: string): RouteTemplate | null {
  const parts = path.split("/");
  for (const t of COMPONENT_ROUTES) {
    const tp = t.split("/");
    if (tp.length === parts.length && tp.every((s, i) => s.startsWith(":") ? (parts[i] ?? "") !== "" : s === parts[i])) return t;
  }
  return null;
}

function codeOf(status: number): Code {
  const s = String(status);
  if (isCode(s)) return s;
  return status >= 500 ? "502" : "400";
}

function errorResponse(token: ErrorToken, retryAfterMs?: number): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (retryAfterMs !== undefined) headers["retry-after"] = String(Math.ceil(retryAfterMs / 1000));
  const body: Record<string, unknown> = { error: token };
  if (retryAfterMs !== undefined) body.retry_after_ms = retryAfterMs;
  return new Response(JSON.stringify(body), { status: ERROR_STATUS[token], headers });
}

function b64url(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Refreshes the JWKS when due; counts the attempt and the consecutive failures. */
async function refreshKeys(env: Env, o: Obs): Promise<void> {
  if (!env.JWKS_URL) return;
  const every = Number(env.JWKS_REFRESH_MS ?? "300000");
  if (Date.now() - keysFetchedAt < every && keys.size > 0) return;
  keysFetchedAt = Date.now();
  let ok = false;
  try {
    const r = await fetch(env.JWKS_URL);
    if (r.ok) {
      const set = (await r.json()) as { keys?: (JsonWebKey & { kid?: string })[] };
      const next = new Map<string, CryptoKey>();
      for (const k of set.keys ?? []) {
        if (!k.kid || k.kty !== "RSA") continue;
        next.set(k.kid, await crypto.subtle.importKey("jwk", k, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]));
      }
      if (next.size > 0) {
        keys = next;
        ok = true;
      }
    } else {
      await r.arrayBuffer();
    }
  } catch {
    ok = false;
  }
  consecutiveFailures = ok ? 0 : consecutiveFailures + 1;
  o.gateway_jwks_refresh_total({ ok });
  o.gateway_jwks_refresh_consecutive_failures(consecutiveFailures);
}

/** Whether the request carries an Access JWT signed by a current key and not expired. */
async function authorised(req: Request, env: Env): Promise<boolean> {
  if (!env.JWKS_URL) return true;
  const jwt = req.headers.get("cf-access-jwt-assertion");
  const parts = jwt?.split(".");
  if (!parts || parts.length !== 3) return false;
  const [h, p, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(new TextDecoder().decode(b64url(h))) as { kid?: string; alg?: string };
    const key = header.kid ? keys.get(header.kid) : undefined;
    if (!key || header.alg !== "RS256") return false;
    const valid = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, b64url(s), new TextEncoder().encode(`${h}.${p}`));
    const claims = JSON.parse(new TextDecoder().decode(b64url(p))) as { exp?: number };
    return valid && (claims.exp === undefined || claims.exp * 1000 > Date.now());
  } catch {
    return false;
  }
}

async function deliver(req: Request, env: Env, o: Obs): Promise<Response> {
  const hook = new URL(req.url).pathname.split("/").pop() ?? "";
  const dests = JSON.parse(env.WEBHOOK_DESTINATIONS ?? "{}") as Record<string, string>;
  const url = Object.prototype.hasOwnProperty.call(dests, hook) ? dests[hook] : undefined;
  if (!url) return errorResponse(ERROR_ROLE.not_found);
  const started = Date.now();
  let ok = false;
  try {
    const r = await fetch(url, { method: "POST", headers: { "content-type": req.headers.get("content-type") ?? "application/json" }, body: await req.arrayBuffer() });
    await r.arrayBuffer();
    ok = r.ok;
  } catch {
    ok = false;
  }
  o.webhook_delivery_total({ dest: hook, ok });
  o.webhook_delivery_duration_seconds({ dest: hook }, (Date.now() - started) / 1000);
  return ok ? new Response(null, { status: 202 }) : errorResponse(ERROR_TOKEN.UPSTREAM_UNAVAILABLE);
}

async function proxy(req: Request, env: Env): Promise<Response> {
  const u = new URL(req.url);
  const headers = new Headers(req.headers);
  headers.delete("host");
  const init: RequestInit = { method: req.method, headers };
  if (req.method !== "GET" && req.method !== "HEAD") init.body = await req.arrayBuffer();
  try {
    return await fetch(`${env.UPSTREAM_URL.replace(/\/$/, "")}${u.pathname}${u.search}`, init);
  } catch {
    return errorResponse(ERROR_TOKEN.UPSTREAM_UNAVAILABLE);
  }
}

async function handle(req: Request, env: Env, o: Obs, route: RouteTemplate | null, method: Method): Promise<Response> {
  await refreshKeys(env, o);
  if (!route) return errorResponse(ERROR_ROLE.not_found);
  if (!(await authorised(req, env))) return errorResponse(ERROR_ROLE.unauthenticated);
  const max = Number(env.MAX_INFLIGHT ?? "256");
  if (inflight > max) {
    const st = req.headers.get("x-session-type") ?? "";
    const session_type: SessionType = isSessionType(st) ? st : (SESSION_TYPE_VALUES[0] as SessionType);
    o.gateway_backpressure_total({ session_type });
    return errorResponse(ERROR_ROLE.backpressure, 1000);
  }
  if (route === "/v1/webhooks/:hook_id" && method === "POST") return deliver(req, env, o);
  return proxy(req, env);
}

export default {
  async fetch(req: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const o = telemetry(env);
    const started = Date.now();
    const route = matchRoute(new URL(req.url).pathname);
    const m = req.method.toUpperCase();
    if (!isMethod(m)) return errorResponse(ERROR_TOKEN.UNSUPPORTED);
    inflight++;
    let res: Response;
    try {
      res = await handle(req, env, o, route, m);
    } finally {
      inflight--;
    }
    const label = route ?? UNMATCHED;
    const seconds = (Date.now() - started) / 1000;
    o.gateway_http_requests_total({ route: label, method: m, code: codeOf(res.status) });
    o.gateway_http_request_duration_seconds({ route: label }, seconds);
    const fields: LogFields = {
      method: m,
      ok: res.status < 400,
      code: res.status,
      latency_ms: Math.round(seconds * 1000),
      ...(route ? { route } : {}),
    };
    const token = res.status >= 400 ? res.headers.get("x-error-token") : null;
    // An upstream's token is checked against the vocabulary by the log helper (dropped if unknown).
    o.log(token ? { ...fields, err_token: token as ErrorToken } : fields);
    ctx.waitUntil(o.flush());
    return res;
  },
};
