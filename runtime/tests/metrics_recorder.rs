//! The recorder behind the `metrics` facade: dynamic `metrics::counter!` calls,
//! families with folded open labels under contention, exposition escaping.

use std::sync::Arc;

use obspec::metrics::{
    ClosedFamily, Counter, Histogram, Label, MetricDesc, MetricKind, ObspecRecorder, OpenFamily, OpenLabel, open_label,
};

static DESCS: [MetricDesc; 2] = [
    MetricDesc {
        name: "demo_requests_total",
        kind: MetricKind::Counter,
        help: "Demo \\ requests\nsecond line.",
        unit: "count",
        labels: &["tenant", "ok"],
        buckets: &[],
    },
    MetricDesc {
        name: "demo_latency_seconds",
        kind: MetricKind::Histogram,
        help: "Demo latency.",
        unit: "seconds",
        labels: &[],
        buckets: &[0.1, 1.0],
    },
];

#[test]
fn facade_calls_render_with_spec_metadata_and_escaping() {
    let rec = ObspecRecorder::new(&DESCS);
    metrics::with_local_recorder(&rec, || {
        metrics::counter!("demo_requests_total", "tenant" => "a\"b\\c\nd", "ok" => "true").increment(2);
        metrics::histogram!("demo_latency_seconds").record(0.5);
        metrics::histogram!("undeclared_seconds").record(0.5);
        metrics::describe_gauge!("undeclared_gauge", "Not in the spec.");
        metrics::gauge!("undeclared_gauge").set(-1.5);
        // Same name as a declared counter but another type: left out of the scrape.
        metrics::gauge!("demo_requests_total").set(1.0);
    });
    let text = rec.exporter().render();
    assert!(text.contains(
        "# HELP demo_requests_total Demo \\\\ requests\\nsecond line.\n# TYPE demo_requests_total counter\n"
    ));
    assert!(text.contains("demo_requests_total{tenant=\"a\\\"b\\\\c\\nd\",ok=\"true\"} 2\n"), "{text}");
    assert!(text.contains("demo_latency_seconds_bucket{le=\"0.1\"} 0\ndemo_latency_seconds_bucket{le=\"1\"} 1\n"));
    assert!(text.contains("demo_latency_seconds_sum 0.5\ndemo_latency_seconds_count 1\n"));
    // Undeclared histograms get the default buckets.
    assert!(text.contains("undeclared_seconds_bucket{le=\"0.005\"} 0\n"));
    assert!(
        text.contains(
            "# HELP undeclared_gauge Not in the spec.\n# TYPE undeclared_gauge gauge\nundeclared_gauge -1.5\n"
        )
    );
    assert_eq!(text.matches("# TYPE demo_requests_total").count(), 1);
}

static OPEN: OpenFamily<Counter> =
    OpenFamily::new("demo_requests_total", &[OpenLabel { name: "tenant", max_values: 10 }], 2);
static CLOSED: ClosedFamily<Histogram, 1> = ClosedFamily::new("demo_latency_seconds");

#[test]
fn open_labels_fold_past_their_bound_under_contention() {
    // Overflows are counted under the spec's `label_overflow` self-metric.
    let m = &obspec_generated::SELF_METRICS.label_overflow;
    obspec::metrics::set_self_metrics(&obspec_generated::SELF_METRICS);
    let rec = Arc::new(ObspecRecorder::new(&DESCS));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let rec = Arc::clone(&rec);
            std::thread::spawn(move || {
                metrics::with_local_recorder(&*rec, || {
                    for i in 0..100u64 {
                        let tenant = format!("t{}", (i + t) % 25);
                        let ok = i % 2 == 0;
                        OPEN.row(&[&tenant])
                            .get(usize::from(!ok), |open| {
                                vec![
                                    open_label("tenant", open, 0),
                                    Label::from_static_parts("ok", if ok { "true" } else { "false" }),
                                ]
                            })
                            .increment(1);
                    }
                });
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    metrics::with_local_recorder(&*rec, || CLOSED.get(0, Vec::new).record(0.05));
    let text = rec.exporter().render();
    let mut total = 0u64;
    let mut tenants = std::collections::BTreeSet::new();
    let mut overflow = 0u64;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (head, v) = line.rsplit_once(' ').unwrap();
        if let Some(rest) = head.strip_prefix("demo_requests_total{tenant=\"") {
            total += v.parse::<u64>().unwrap();
            tenants.insert(rest.split('"').next().unwrap().to_owned());
        }
        if head == format!("{}{{{}=\"demo_requests_total\",{}=\"tenant\"}}", m.name, m.labels[0], m.labels[1]) {
            overflow = v.parse().unwrap();
        }
    }
    assert_eq!(total, 400, "no increment lost:\n{text}");
    assert_eq!(tenants.len(), 11, "10 admitted values and `other`: {tenants:?}");
    assert!(tenants.contains("other"));
    assert!(overflow > 0 && overflow < 400);
    assert!(text.contains("demo_latency_seconds_count 1\n"));
}
