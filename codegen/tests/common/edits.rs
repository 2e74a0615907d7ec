//! Edits of the small fixture shared by several test crates (also included
//! by `tests/prometheus_server.rs`): `(file under spec/, from, to)`.

#![allow(dead_code)] // Each test crate uses a different subset.

/// Value `false` of label `ok` renamed to `failed` with `renamed_values`,
/// and the spec's queries naming the new value.
pub const VALUE_RENAME: [(&str, &str, &str); 3] = [
    (
        "metrics.yaml",
        "    values: [\"true\", \"false\"]\n",
        "    values: [\"true\", failed]\n    renamed_values:\n      - { value: failed, renamed_from: \"false\", deprecated: \"2027-03-31\" }\n",
    ),
    ("slos.yaml", "worker_jobs_total{ok=\"false\",", "worker_jobs_total{ok=\"failed\","),
    ("dashboards.yaml", "worker_jobs_total{ok=\"false\"}", "worker_jobs_total{ok=\"failed\"}"),
];

/// [`VALUE_RENAME`] without the `renamed_values` entry: a plain removal of
/// `false` and addition of `failed`.
pub const VALUE_REPLACED: [(&str, &str, &str); 3] = [
    ("metrics.yaml", "    values: [\"true\", \"false\"]\n", "    values: [\"true\", failed]\n"),
    VALUE_RENAME[1],
    VALUE_RENAME[2],
];

/// Label `method` renamed to `http_method` with `renamed_from` (and its one metric).
pub const LABEL_RENAME: [(&str, &str, &str); 2] = [
    (
        "metrics.yaml",
        "  - name: method\n    help: \"HTTP method.\"",
        "  - name: http_method\n    help: \"HTTP method.\"\n    renamed_from: method\n    deprecated: \"2027-01-31\"",
    ),
    ("metrics.yaml", "labels: [route, method, code]", "labels: [route, http_method, code]"),
];
