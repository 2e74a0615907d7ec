// Schema checks of the generated ecosystem artifacts, shared by check.mjs (the
// generated files) and test.mjs (fixtures that must fail).
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020.js";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "../..");
const schemas = join(here, "schemas");

/** Every YAML document of a file, as plain values. */
export function documents(path) {
  const docs = parseAllDocuments(readFileSync(path, "utf8"));
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${path}: ${d.errors[0].message}`);
  }
  return docs.map((d) => d.toJS()).filter((v) => v !== null && v !== undefined);
}

/**
 * The API server's patterns are Go RE2: a leading `(?i)` (as in the CRD's
 * `partial_response_strategy`) is a flag there, which JavaScript writes as `i`.
 */
function re2(source, flags) {
  const m = /^(\^?)\(\?i\)/.exec(source);
  return m ? new RegExp(m[1] + source.slice(m[0].length), `${flags}i`) : new RegExp(source, flags);
}
re2.code = "re2";

/** The PrometheusRule CRD's OpenAPI v3 schema, from the vendored released CRD. */
function prometheusRuleValidator() {
  const [crd] = documents(join(schemas, "monitoring.coreos.com_prometheusrules.yaml"));
  const version = crd.spec.versions.find((v) => v.name === "v1");
  // OpenAPI v3 as Kubernetes uses it is JSON Schema plus `x-kubernetes-*`
  // annotations, which ajv accepts as unknown keywords outside strict mode.
  const ajv = new Ajv({ strict: false, allErrors: true, code: { regExp: re2 } });
  const validate = ajv.compile(version.schema.openAPIV3Schema);
  return (doc) => {
    const errors = [];
    if (!validate(doc)) errors.push(...validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`));
    // What the API server checks before the CRD schema: the group/version/kind and metadata.
    if (doc.apiVersion !== `${crd.spec.group}/v1`) errors.push(`/apiVersion must be ${crd.spec.group}/v1`);
    if (doc.kind !== crd.spec.names.kind) errors.push(`/kind must be ${crd.spec.names.kind}`);
    const name = doc.metadata?.name ?? "";
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) errors.push("/metadata/name is not a DNS subdomain");
    for (const [k, v] of Object.entries(doc.metadata?.labels ?? {})) {
      if (typeof v !== "string" || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v) || v.length > 63) {
        errors.push(`/metadata/labels/${k} is not a label value`);
      }
    }
    return errors;
  };
}

/** A JSON Schema file under schemas/ as a validator of one document. */
function jsonSchemaValidator(file, AjvClass = Ajv) {
  const ajv = new AjvClass({ strict: false, allErrors: true });
  // schemars' numeric formats (Weaver's schema): the JSON types already say it.
  for (const f of ["int64", "double"]) ajv.addFormat(f, true);
  const validate = ajv.compile(JSON.parse(readFileSync(join(schemas, file), "utf8")));
  return (doc) => (validate(doc) ? [] : validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`));
}

/** OpenSLO v1 documents: the schema, and references resolving within the exported files. */
function openSloValidator() {
  return jsonSchemaValidator("openslo-v1.schema.json");
}

/** Every check: the directory of generated files, what they are, and a validator per document. */
export function checks() {
  return [
    { dir: "infra/observability/kubernetes", what: "PrometheusRule (prometheus-operator CRD v0.82.2)", validate: prometheusRuleValidator() },
    { dir: "infra/observability/openslo", what: "OpenSLO v1", validate: openSloValidator(), refs: openSloRefs },
    { dir: "infra/observability/weaver", what: "Weaver semconv registry (definition/2)", validate: jsonSchemaValidator("weaver-semconv.v2.excerpt.schema.json", Ajv2020), refs: weaverRefs },
  ];
}

/** Validates every file of one check; returns the problems, each naming file and document. */
export function checkFiles(check, files) {
  const problems = [];
  const all = [];
  for (const file of files) {
    documents(file).forEach((doc, i) => {
      all.push(doc);
      for (const e of check.validate(doc)) problems.push(`${file} (document ${i + 1}): ${e}`);
    });
  }
  if (check.refs) problems.push(...check.refs(all));
  return problems;
}

/** Every attribute `ref` of a metric or group names an attribute the registry defines. */
export function weaverRefs(docs) {
  const keys = new Set(docs.flatMap((d) => (d.attributes ?? []).map((a) => a.key)));
  const problems = [];
  for (const d of docs) {
    for (const s of [...(d.metrics ?? []), ...(d.attribute_groups ?? [])]) {
      for (const a of s.attributes ?? []) if (a.ref && !keys.has(a.ref)) problems.push(`${s.name ?? s.id}: no attribute ${a.ref}`);
    }
  }
  return problems;
}

/** Every `alertPolicyRef`, `conditionRef` and `targetRef` names an object of its kind among the documents. */
export function openSloRefs(docs) {
  const names = (kind) => new Set(docs.filter((d) => d.kind === kind).map((d) => d.metadata?.name));
  const [policies, conditions, targets] = ["AlertPolicy", "AlertCondition", "AlertNotificationTarget"].map(names);
  const problems = [];
  for (const d of docs) {
    const at = `${d.kind} ${d.metadata?.name}`;
    for (const p of d.spec?.alertPolicies ?? []) if (p.alertPolicyRef && !policies.has(p.alertPolicyRef)) problems.push(`${at}: no AlertPolicy ${p.alertPolicyRef}`);
    for (const c of d.spec?.conditions ?? []) if (c.conditionRef && !conditions.has(c.conditionRef)) problems.push(`${at}: no AlertCondition ${c.conditionRef}`);
    for (const t of d.spec?.notificationTargets ?? []) if (t.targetRef && !targets.has(t.targetRef)) problems.push(`${at}: no AlertNotificationTarget ${t.targetRef}`);
  }
  return problems;
}

/** The generated files of a check. */
export function generated(check) {
  const dir = join(root, check.dir);
  return readdirSync(dir, { recursive: true })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

