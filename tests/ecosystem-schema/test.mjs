// The schema checks can fail: each check accepts a generated file and rejects
// a broken copy of it (node's test runner).
import { test } from "node:test";
import assert from "node:assert/strict";
import { checks, documents, generated } from "./lib.mjs";

const byDir = Object.fromEntries(checks().map((c) => [c.dir, c]));
const first = (dir) => structuredClone(documents(generated(byDir[dir])[0])[0]);

test("a generated PrometheusRule passes the CRD schema", () => {
  const c = byDir["infra/observability/kubernetes"];
  assert.deepEqual(c.validate(first(c.dir)), []);
});

test("the CRD schema rejects a bad `for`, a nameless group and a wrong kind", () => {
  const c = byDir["infra/observability/kubernetes"];
  const doc = first(c.dir);
  doc.spec.groups[0].rules.find((r) => r.alert).for = "2 minutes";
  delete doc.spec.groups[1].name;
  doc.kind = "PrometheusRules";
  const errors = c.validate(doc).join("\n");
  assert.match(errors, /\/spec\/groups\/0\/rules\/\d+\/for must match pattern/);
  assert.match(errors, /\/spec\/groups\/1 must have required property 'name'/);
  assert.match(errors, /\/kind must be PrometheusRule/);
});

test("partial_response_strategy takes Go's case-insensitive pattern", () => {
  const c = byDir["infra/observability/kubernetes"];
  const doc = first(c.dir);
  doc.spec.groups[0].partial_response_strategy = "WARN";
  assert.deepEqual(c.validate(doc), []);
  doc.spec.groups[0].partial_response_strategy = "retry";
  assert.match(c.validate(doc).join("\n"), /partial_response_strategy must match pattern/);
});

test("generated OpenSLO documents pass, and a broken SLO is rejected", () => {
  const c = byDir["infra/observability/openslo"];
  const files = generated(c).filter((f) => !f.endsWith("notification-targets.yaml"));
  const docs = documents(files[0]);
  for (const d of docs) assert.deepEqual(c.validate(d), [], `${d.kind} ${d.metadata.name}`);
  const slo = structuredClone(docs.find((d) => d.kind === "SLO"));
  slo.spec.budgetingMethod = "Sometimes";
  delete slo.spec.service;
  slo.spec.timeWindow[0].duration = "30 days";
  slo.metadata.name = "Not_A_DNS_Name";
  const errors = c.validate(slo).join("\n");
  assert.match(errors, /\/spec\/budgetingMethod must be equal to one of the allowed values/);
  assert.match(errors, /\/spec must have required property 'service'/);
  assert.match(errors, /\/spec\/timeWindow\/0\/duration must match pattern/);
  assert.match(errors, /\/metadata\/name must match pattern/);
});

test("an AlertPolicy naming a missing condition is reported", () => {
  const c = byDir["infra/observability/openslo"];
  const docs = generated(c).flatMap((f) => documents(f));
  assert.deepEqual(c.refs(docs), []);
  const broken = docs.filter((d) => !(d.kind === "AlertCondition" && d.metadata.name.endsWith("-page-fast")));
  assert.match(c.refs(broken).join("\n"), /AlertPolicy \S+-page-fast: no AlertCondition \S+-page-fast/);
});

test("the Weaver registry passes the semconv v2 schema, and a broken one is rejected", () => {
  const c = byDir["infra/observability/weaver"];
  const [reg] = documents(generated(c)[0]);
  assert.deepEqual(c.validate(reg), []);
  assert.deepEqual(c.refs([reg]), []);
  const bad = structuredClone(reg);
  bad.metrics[0].instrument = "summary";
  delete bad.attributes[0].stability;
  bad.spans = [];
  bad.metrics[1].attributes.push({ ref: "no_such_label" });
  const errors = c.validate(bad).join("\n");
  assert.match(errors, /\/metrics\/0\/instrument must be equal to constant/);
  assert.match(errors, /\/attributes\/0 must have required property 'stability'/);
  assert.match(errors, /must NOT have additional properties|boolean schema is false/);
  assert.match(c.refs([bad]).join("\n"), /no attribute no_such_label/);
});
