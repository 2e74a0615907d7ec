// Proves screenshot.mjs takes a real screenshot and rejects a blank page.
// Run: npm test  (node test.mjs; node's built-in test runner). Needs /usr/bin/chromium.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = fs.mkdtempSync(path.join(os.tmpdir(), 'preview-test-'));
process.on('exit', () => fs.rmSync(OUT, { recursive: true, force: true }));

function shot(html, png, ...extra) {
  const r = spawnSync(process.execPath, ['screenshot.mjs', ...extra, html, png], { cwd: HERE, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
function page(name, body) {
  const f = path.join(OUT, name);
  fs.writeFileSync(f, `<!doctype html><html><head><meta charset="utf-8"></head><body>${body}</body></html>`);
  return f;
}

test('sample.html: screenshot written, 1400x1000, not blank', () => {
  const png = path.join(OUT, 'sample.png');
  const r = shot('fixtures/sample.html', png);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^ok /m);
  const img = PNG.sync.read(fs.readFileSync(png));
  assert.equal(img.width, 1400);
  assert.equal(img.height, 1000);
  // The stat panel's green (#37872d) must be in the picture: the page really rendered.
  let green = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    if (img.data[i] === 0x37 && img.data[i + 1] === 0x87 && img.data[i + 2] === 0x2d) green++;
  }
  assert.ok(green > 10_000, `expected the green stat panel, found ${green} pixels`);
});

test('blank.html (empty white page) is rejected with exit 1', () => {
  const r = shot('fixtures/blank.html', path.join(OUT, 'blank.png'));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /^BLANK .*1 colours/m);
});

test('a page with only a line of text on a solid colour is rejected as blank', () => {
  const f = page('nodata.html', '<div style="background:#111217;color:#888;position:fixed;inset:0">No data</div>');
  const r = shot(f, path.join(OUT, 'nodata.png'));
  assert.equal(r.code, 1, r.out);
});

test('content drawn by JavaScript after a timeout is captured', () => {
  const f = page('js.html', `<canvas id="c" width="1400" height="1000"></canvas><script>
    setTimeout(() => { const g = document.getElementById('c').getContext('2d');
      for (let i = 0; i < 40; i++) { g.fillStyle = 'hsl(' + i * 9 + ',70%,50%)'; g.fillRect(i * 35, 100 + (i % 7) * 40, 30, 500); } }, 1000);
  </script>`);
  const r = shot(f, path.join(OUT, 'js.png'));
  assert.equal(r.code, 0, r.out);
});

test('external resources are not fetched and do not hang the shot', () => {
  const f = page('ext.html', `<script src="https://cdn.invalid.example/chart.js"></script>
    <link rel="stylesheet" href="https://fonts.invalid.example/css">
    <div style="height:600px;background:linear-gradient(90deg,#f00,#0f0,#00f)">self-contained part</div>`);
  const t0 = Date.now();
  const r = shot(f, path.join(OUT, 'ext.png'));
  assert.equal(r.code, 0, r.out);
  assert.ok(Date.now() - t0 < 30_000, 'took too long');
});

test('usage errors exit 2', () => {
  assert.equal(shot('fixtures/does-not-exist.html', path.join(OUT, 'x.png')).code, 2);
  const r = spawnSync(process.execPath, ['screenshot.mjs', 'fixtures/sample.html'], { cwd: HERE, encoding: 'utf8' });
  assert.equal(r.status, 2);
});
