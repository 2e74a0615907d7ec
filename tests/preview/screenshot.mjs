#!/usr/bin/env node
// Screenshots a local HTML file with Debian's headless Chromium and fails if
// the picture is blank.
//
// usage: node screenshot.mjs [options] IN.html OUT.png
//
//   --min-colors N        at least N distinct RGB colours        (default 16)
//   --min-fraction F      at least this fraction of pixels differ from the
//                         dominant (background) colour            (default 0.02)
//   --window WxH          viewport size                           (default 1400x1000)
//   --timeout S           kill Chromium after S seconds           (default 60)
//   --virtual-time-budget MS  let the page's timers/JS run this much virtual
//                         time before the shot                    (default 3000)
//
// Env: CHROMIUM=/path/to/chromium (default /usr/bin/chromium).
//
// Every network name except localhost resolves to nothing (--host-resolver-rules),
// so a preview that pulls a script/font from the internet renders without it
// instead of hanging: previews must be self-contained.
//
// Prints one line of stats; exit 0 = screenshot written and not blank,
// 1 = blank (or wrong size), 2 = usage error / Chromium failed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';

function die(code, msg) {
  console.error(`screenshot.mjs: ${msg}`);
  process.exit(code);
}

const opts = { minColors: 16, minFraction: 0.02, width: 1400, height: 1000, timeout: 60, vtb: 3000 };
const pos = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => {
    if (i + 1 >= argv.length) die(2, `${a} needs a value`);
    return argv[++i];
  };
  const num = (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) die(2, `${a}: not a number: ${v}`);
    return n;
  };
  if (a === '--min-colors') opts.minColors = num(val());
  else if (a === '--min-fraction') opts.minFraction = num(val());
  else if (a === '--timeout') opts.timeout = num(val());
  else if (a === '--virtual-time-budget') opts.vtb = num(val());
  else if (a === '--window') {
    const m = val().match(/^(\d+)[x,](\d+)$/);
    if (!m) die(2, '--window wants WIDTHxHEIGHT');
    opts.width = Number(m[1]);
    opts.height = Number(m[2]);
  } else if (a === '-h' || a === '--help') {
    console.log('usage: node screenshot.mjs [--min-colors N] [--min-fraction F] [--window WxH] [--timeout S] [--virtual-time-budget MS] IN.html OUT.png');
    process.exit(0);
  } else if (a.startsWith('--')) die(2, `unknown option ${a}`);
  else pos.push(a);
}
if (pos.length !== 2) die(2, 'usage: node screenshot.mjs [options] IN.html OUT.png');
const input = path.resolve(pos[0]);
const output = path.resolve(pos[1]);
if (!fs.statSync(input, { throwIfNoEntry: false })?.isFile()) die(2, `no such file: ${pos[0]}`);
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromium)) die(2, `${chromium} not found: run scripts/setup.sh (apt package chromium)`);

fs.mkdirSync(path.dirname(output), { recursive: true });
fs.rmSync(output, { force: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obspec-chromium-'));

const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--disable-default-apps',
  '--mute-audio',
  '--hide-scrollbars',
  '--force-device-scale-factor=1',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost',
  `--user-data-dir=${profile}`,
  `--window-size=${opts.width},${opts.height}`,
  ...(opts.vtb > 0 ? [`--virtual-time-budget=${opts.vtb}`] : []),
  `--screenshot=${output}`,
  pathToFileURL(input).href,
];

const t0 = Date.now();
const { code, signal, log, timedOut } = await new Promise((resolve) => {
  // Own process group, so a timeout kills Chromium's helper processes too.
  const child = spawn(chromium, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }, opts.timeout * 1000);
  child.on('error', (e) => {
    clearTimeout(timer);
    resolve({ code: -1, signal: null, log: `${log}\n${e.message}`, timedOut });
  });
  child.on('close', (code, signal) => {
    clearTimeout(timer);
    // Reap helpers of this Chromium that outlive the browser process (our own group only).
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    resolve({ code, signal, log, timedOut });
  });
});
fs.rmSync(profile, { recursive: true, force: true });
const secs = ((Date.now() - t0) / 1000).toFixed(1);

if (timedOut || code !== 0 || !fs.existsSync(output)) {
  console.error(log.trim().split('\n').slice(-20).join('\n'));
  die(2, `chromium ${timedOut ? `timed out after ${opts.timeout}s` : `exited with ${signal ?? code}`}` +
    `${fs.existsSync(output) ? '' : ', no screenshot written'} (${secs}s)`);
}

let png;
try {
  png = PNG.sync.read(fs.readFileSync(output));
} catch (e) {
  die(2, `${pos[1]}: cannot decode PNG: ${e.message}`);
}

// Colour histogram over RGB (alpha ignored: Chromium screenshots are opaque).
const { width, height, data } = png;
const counts = new Map();
for (let i = 0; i < data.length; i += 4) {
  const c = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
  counts.set(c, (counts.get(c) || 0) + 1);
}
let bg = 0;
let bgCount = -1;
for (const [c, n] of counts) if (n > bgCount) [bg, bgCount] = [c, n];
// "Differs from the background" = any channel off by more than 8 (ignores faint noise).
const [br, bgG, bb] = [(bg >> 16) & 255, (bg >> 8) & 255, bg & 255];
let differing = 0;
for (let i = 0; i < data.length; i += 4) {
  if (Math.abs(data[i] - br) > 8 || Math.abs(data[i + 1] - bgG) > 8 || Math.abs(data[i + 2] - bb) > 8) differing++;
}
const total = width * height;
const fraction = differing / total;
const hex = `#${bg.toString(16).padStart(6, '0')}`;
const stats = `${pos[1]}: ${width}x${height}, ${counts.size} colours, background ${hex}, ` +
  `${(fraction * 100).toFixed(2)}% non-background pixels (${secs}s)`;

const problems = [];
if (width !== opts.width || height !== opts.height) problems.push(`size ${width}x${height} != ${opts.width}x${opts.height}`);
if (counts.size < opts.minColors) problems.push(`${counts.size} colours < ${opts.minColors}`);
if (fraction < opts.minFraction) problems.push(`non-background fraction ${fraction.toFixed(4)} < ${opts.minFraction}`);
if (problems.length) {
  console.log(`BLANK ${stats}: ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`ok ${stats}`);
