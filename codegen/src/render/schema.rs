//! The JSON Schema of a spec file, for editor completion (`yaml-language-server`).

use serde_json::{Map, Value};

use super::header;
use crate::model::SpecFile;
use crate::output::GeneratedFile;

/// Where the schema is written, relative to the output root.
pub const PATH: &str = "generated/schema/obspec-spec.schema.json";

/// Where the schema of `cargo xtask diff --format json` is written.
pub const DIFF_PATH: &str = "generated/schema/obspec-diff.schema.json";

/// Renders the spec's schema and the diff report's.
pub fn render_all(sources: &[String]) -> Vec<GeneratedFile> {
    vec![render(sources), with_comment(DIFF_PATH, sources, crate::diff::schema())]
}

/// Renders the schema. JSON has no comments, so the preamble goes in `$comment`.
pub fn render(sources: &[String]) -> GeneratedFile {
    with_comment(PATH, sources, schemars::schema_for!(SpecFile).to_value())
}

fn with_comment(path: &str, sources: &[String], schema: Value) -> GeneratedFile {
    let mut obj = Map::new();
    obj.insert("$comment".to_owned(), Value::String(header::text(sources)));
    if let Value::Object(body) = schema {
        for (k, v) in body {
            obj.insert(k, v);
        }
    }
    let mut contents = serde_json::to_string_pretty(&Value::Object(obj)).unwrap_or_default();
    contents.push('\n');
    GeneratedFile { path: path.to_owned(), contents }
}
