//! The `ladders` section (R40) and `metrics[].also_in` (R41) on the real spec:
//! it compiles, and each broken rule fails with its own located diagnostic.

mod common;

use obspec_codegen::Input;

fn real_with(file: &str, from: &str, to: &str) -> Vec<Input> {
    let mut inputs = common::real();
    let name = format!("spec/{file}");
    let input = inputs.iter_mut().find(|i| i.name == name).unwrap_or_else(|| panic!("no spec file {name}"));
    assert_eq!(input.text.matches(from).count(), 1, "`{from}` must occur once in {name}");
    input.text = input.text.replacen(from, to, 1);
    inputs
}

fn fails_with(inputs: &[Input], file: &str, message: &str) {
    let d = common::diags(inputs);
    assert!(
        d.iter().any(|d| d.file == format!("spec/{file}") && d.message.contains(message)),
        "no `{message}` in spec/{file}:\n{}",
        obspec_codegen::diag::render_all(&d)
    );
}

#[test]
fn the_real_spec_declares_a_valid_ladder_and_shared_metrics() {
    let loaded =
        obspec_codegen::check(&common::real()).unwrap_or_else(|d| panic!("{}", obspec_codegen::diag::render_all(&d)));
    let l = &loaded.spec.ladders[0];
    let limits: Vec<u32> = l.steps.iter().map(|s| s.limit).collect();
    assert_eq!(limits, [100, 40, 10], "§4: 100 → 40 → 10");
    let m = loaded.spec.metrics.iter().find(|m| m.name == "webhook_delivery_total").expect("webhook metric");
    assert!(m.emitted_by("gateway") && m.emitted_by("core") && !m.emitted_by("office"));
}

#[test]
fn ladder_steps_must_degrade_with_increasing_load() {
    let steps = "{ name: reduced, limit: 40, from_load: 0.5 }";
    fails_with(
        &real_with("components.yaml", steps, "{ name: reduced, limit: 400, from_load: 0.5 }"),
        "components.yaml",
        "does not return fewer items",
    );
    fails_with(
        &real_with("components.yaml", steps, "{ name: reduced, limit: 40, from_load: 0.95 }"),
        "components.yaml",
        "does not start above the load",
    );
    fails_with(
        &real_with(
            "components.yaml",
            "{ name: normal, limit: 100, from_load: 0 }",
            "{ name: normal, limit: 100, from_load: 0.1 }",
        ),
        "components.yaml",
        "applies from load 0",
    );
}

#[test]
fn the_ladder_counter_must_label_exactly_its_degraded_steps() {
    fails_with(
        &real_with("metrics.yaml", "values: [reduced, minimal]", "values: [reduced, tiny]"),
        "components.yaml",
        "the ladder's degraded steps are [reduced, minimal]",
    );
    fails_with(
        &real_with("components.yaml", "metric: core_degraded_responses_total", "metric: media_presign_total"),
        "components.yaml",
        "has no label `step`",
    );
}

#[test]
fn also_in_names_other_known_components() {
    let also = "component: gateway\n    also_in: [core]\n    kind: counter";
    fails_with(
        &real_with("metrics.yaml", also, "component: gateway\n    also_in: [nowhere]\n    kind: counter"),
        "metrics.yaml",
        "unknown component `nowhere`",
    );
    fails_with(
        &real_with("metrics.yaml", also, "component: gateway\n    also_in: [gateway]\n    kind: counter"),
        "metrics.yaml",
        "owns",
    );
}
