// A wrong gateway metric, label, label value or log field does not compile
// under tsc --strict (as a wrong one does not compile in Rust).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tsc } from './harness.mjs';

const FLAGS = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'es2022', '--moduleResolution', 'bundler', '--lib', 'es2022,dom', '--ignoreConfig'];
const check = (file) => tsc([...FLAGS, `test/fixtures/${file}`]);

test('the spec-conforming file compiles', () => {
  const r = check('ok.ts');
  assert.equal(r.code, 0, r.out);
});

const WRONG = {
  'wrong-metric.ts': "Property 'gateway_http_requests' does not exist",
  'wrong-label.ts': "'tenant' does not exist in type 'GatewayHttpRequestsTotalLabels'",
  'wrong-value.ts': `Type '"BREW"' is not assignable to type 'Method'`,
  'wrong-log-field.ts': "'prompt' does not exist in type 'LogFields'",
};
for (const [file, needle] of Object.entries(WRONG)) {
  test(`${file} fails to compile, naming the mistake`, () => {
    const r = check(file);
    assert.notEqual(r.code, 0, `${file} compiled:\n${r.out}`);
    assert.ok(r.out.includes(file), r.out);
    assert.ok(r.out.includes(needle), `expected ${JSON.stringify(needle)} in:\n${r.out}`);
  });
}
