//! The spec compiler's pipeline on the real spec (`spec/*.yaml`): load +
//! validate + render (`obspec_codegen::compile`), and each stage alone, beside
//! a baseline that only parses the same YAML with `yaml-rust2`'s plain
//! `YamlLoader` (what parsing alone costs). Files are read once, outside the
//! timing loop. Figures and the command are in BENCHMARKS.md ("Spec compiler").
//!
//! ```sh
//! cargo bench -p obspec-codegen --bench pipeline -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use obspec_codegen::Input;
use yaml_rust2::YamlLoader;

fn real_spec() -> Vec<Input> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    let inputs = obspec_codegen::load::read_dir(&dir, "spec").expect("read spec/");
    assert!(!inputs.is_empty(), "no YAML files in {}", dir.display());
    inputs
}

fn pipeline(c: &mut Criterion) {
    let inputs = real_spec();
    // Fail loudly rather than time an error path.
    let files = obspec_codegen::compile(&inputs).expect("the real spec compiles");
    let (loaded, load_diags) = obspec_codegen::load::load(&inputs);
    assert!(load_diags.is_empty());
    assert!(obspec_codegen::validate::validate(&loaded).is_empty());
    let bytes: usize = inputs.iter().map(|i| i.text.len()).sum();
    let out: usize = files.iter().map(|f| f.contents.len()).sum();
    eprintln!("spec: {} files, {bytes} bytes of YAML; output: {} files, {out} bytes", inputs.len(), files.len());

    let mut g = c.benchmark_group("spec_compiler");
    g.bench_function("compile (load + validate + render)", |b| {
        b.iter(|| obspec_codegen::compile(black_box(&inputs)).expect("compiles"))
    });
    g.bench_function("load", |b| b.iter(|| obspec_codegen::load::load(black_box(&inputs))));
    g.bench_function("validate", |b| b.iter(|| obspec_codegen::validate::validate(black_box(&loaded))));
    g.bench_function("render", |b| b.iter(|| obspec_codegen::render::all(black_box(&loaded))));
    g.bench_function("baseline: yaml-rust2 YamlLoader::load_from_str", |b| {
        b.iter(|| {
            for i in &inputs {
                black_box(YamlLoader::load_from_str(black_box(&i.text)).expect("valid YAML"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
