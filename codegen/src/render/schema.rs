//! The JSON Schema of a spec file, for editor completion (`yaml-language-server`).

use serde_json::{Map, Value};

use super::header;
use crate::model::SpecFile;
use crate::output::GeneratedFile;

/// Where the schema is written, relative to the output root.
pub const PATH: &str = "generated/schema/obspec-spec.schema.json";

/// Renders the schema. JSON has no comments, so the preamble goes in `$comment`.
pub fn render(sources: &[String]) -> GeneratedFile {
    let schema = schemars::schema_for!(SpecFile);
    let mut obj = Map::new();
    obj.insert("$comment".to_owned(), Value::String(header::text(sources)));
    if let Value::Object(body) = schema.to_value() {
        for (k, v) in body {
            obj.insert(k, v);
        }
    }
    let mut contents = serde_json::to_string_pretty(&Value::Object(obj)).unwrap_or_default();
    contents.push('\n');
    GeneratedFile { path: PATH.to_owned(), contents }
}
