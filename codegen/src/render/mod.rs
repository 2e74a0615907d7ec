//! Renderers: one module per artifact, each a pure function of the loaded spec.
//!
//! Output is deterministic: items are emitted in spec order or sorted, and no
//! renderer reads the clock or the environment.

pub mod catalogue;
pub mod collector;
pub mod grafana;
pub mod header;
pub mod local;
pub mod preview;
pub mod prometheus;
pub mod promtool_tests;
pub mod retention;
pub mod rust;
pub mod schema;
pub mod typescript;
pub mod yaml;

use crate::load::Loaded;
use crate::output::GeneratedFile;

/// Renders every artifact of a valid spec.
pub fn all(loaded: &Loaded) -> Vec<GeneratedFile> {
    let sources = loaded.sources.file_names();
    let mut files = vec![
        schema::render(&sources),
        catalogue::render(&loaded.spec, &sources),
        rust::render_file(&loaded.spec, &sources),
    ];
    files.extend(prometheus::render(&loaded.spec, &sources));
    files.extend(promtool_tests::render(&loaded.spec, &sources));
    files.extend(grafana::render(&loaded.spec, &sources));
    files.extend(local::render(&loaded.spec, &sources));
    files.extend(typescript::render(&loaded.spec, &sources));
    files.extend(collector::render(&loaded.spec, &sources));
    files.extend(retention::render(&loaded.spec, &sources));
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}
