// Proves check.mjs accepts a valid dashboard and rejects broken ones.
// Run: npm test  (node test.mjs; node's built-in test runner)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const fx = (name) => path.join('fixtures', name);

function check(args, env = {}) {
  const r = spawnSync(process.execPath, ['check.mjs', ...args], {
    cwd: HERE,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const out = `${r.stdout}${r.stderr}`;
  const status = {};
  for (const m of out.matchAll(/^(ok  |FAIL) (\S+)$/gm)) status[m[2]] = m[1].trim();
  return { code: r.status, out, status };
}

const ALL = fs.readdirSync(path.join(HERE, 'fixtures')).filter((f) => f.endsWith('.json')).sort().map(fx);
// One tsc run per mode over every fixture (also proves errors are attributed to the right file).
const strict = check(ALL);
const loose = check(['--loose', '--any-schema-version', ...ALL]);

function assertFails(run, file, ...needles) {
  assert.equal(run.status[file], 'FAIL', `${file} should fail:\n${run.out}`);
  for (const n of needles) {
    assert.ok(run.out.includes(n), `output should mention ${JSON.stringify(n)}:\n${run.out}`);
  }
}

test('every fixture got a verdict; a failing fixture makes the run exit 1', () => {
  for (const run of [strict, loose]) {
    assert.deepEqual(Object.keys(run.status).sort(), ALL);
    assert.equal(run.code, 1, run.out);
  }
});

test('valid.json passes (strict and loose)', () => {
  assert.equal(strict.status[fx('valid.json')], 'ok', strict.out);
  assert.equal(loose.status[fx('valid.json')], 'ok', loose.out);
  const alone = check([fx('valid.json')]);
  assert.equal(alone.code, 0, alone.out);
});

test('bogus-property.json fails: unknown panel property (strict and loose)', () => {
  for (const run of [strict, loose]) {
    assertFails(run, fx('bogus-property.json'), `${fx('bogus-property.json')}:180:7:`, "'\"gridPosition\"' does not exist");
  }
});

test('bogus-type.json fails: gridPos.w is a string (strict and loose)', () => {
  for (const run of [strict, loose]) {
    assertFails(run, fx('bogus-type.json'), `${fx('bogus-type.json')}:120:9:`, "Type 'string' is not assignable to type 'number'");
  }
});

test('strict-only: panel options, custom field config, targets, panel type', () => {
  const cases = {
    'strict-bogus-option.json': '"showLegnd"',
    'strict-bogus-custom.json': `Type '"lines"' is not assignable`,
    'strict-bogus-target.json': `'"exp"' does not exist in type 'Target'`,
    'strict-unknown-panel-type.json': `Type '"singlestat"' is not assignable`,
  };
  for (const [file, needle] of Object.entries(cases)) {
    assertFails(strict, fx(file), needle);
    assert.equal(loose.status[fx(file)], 'ok', `${file} is only caught by the strict check:\n${loose.out}`);
  }
});

test("schemaVersion must equal @grafana/schema's defaultDashboard.schemaVersion", async () => {
  const { defaultDashboard } = await import('@grafana/schema');
  assert.equal(JSON.parse(fs.readFileSync(path.join(HERE, fx('valid.json')), 'utf8')).schemaVersion, defaultDashboard.schemaVersion);
  assertFails(strict, fx('wrong-schema-version.json'), `Type '39' is not assignable to type '${defaultDashboard.schemaVersion}'`);
  const r = check(['--any-schema-version', fx('wrong-schema-version.json')]);
  assert.equal(r.code, 0, r.out);
});

test('invalid JSON and an empty dashboards dir are errors (exit 2)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grafana-schema-test-'));
  try {
    fs.writeFileSync(path.join(dir, 'broken.json'), '{"schemaVersion": 42,');
    const bad = check([path.join(dir, 'broken.json')]);
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.out, /invalid JSON/);
    fs.rmSync(path.join(dir, 'broken.json'));
    const empty = check([], { OBSPEC_DASHBOARDS_DIR: dir });
    assert.equal(empty.code, 2, empty.out);
    assert.match(empty.out, /no dashboards given/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
