//! Checks of the `project` section: budgets, ID length, scrape interval, the
//! Prometheus Operator's namespace and rule labels.

use super::Cx;

pub(super) fn check(cx: &mut Cx<'_>) {
    let p = &cx.spec.project;
    let loc = cx.spec.project.loc.clone();
    if p.cardinality_budget == 0 {
        cx.err(
            &loc.key("cardinality_budget"),
            "the cardinality budget is 0",
            "set the most series one metric may have, e.g. 5000",
        );
    }
    if p.id_max_len == 0 {
        cx.err(
            &loc.key("id_max_len"),
            "`id_max_len` is 0",
            "set the longest ID a log line or trail may carry, e.g. 64",
        );
    }
    if !p.scrape_interval.is_empty() {
        cx.duration(&p.scrape_interval.clone(), &loc.key("scrape_interval"));
    }
    check_prometheus_operator(cx);
}

/// Checks `project.prometheus_operator`: a DNS-1123 namespace and Kubernetes label keys and values.
fn check_prometheus_operator(cx: &mut Cx<'_>) {
    let po = cx.spec.project.prometheus_operator.clone();
    let loc = cx.spec.project.loc.key("prometheus_operator");
    if let Some(ns) = &po.namespace
        && !k8s_dns_label(ns)
    {
        cx.err(
            &loc.key("namespace"),
            format!("`{ns}` is not a Kubernetes namespace name"),
            "use at most 63 lower-case letters, digits and `-`, starting and ending with a letter or digit, e.g. `monitoring`",
        );
    }
    for (k, v) in &po.rule_labels {
        let at = loc.key("rule_labels").key(k);
        if !k8s_label_key(k) {
            cx.err_key(
                &at,
                format!("`{k}` is not a Kubernetes label key"),
                "write `name` or `prefix/name`: the name at most 63 letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit; the prefix a DNS subdomain (e.g. `app.kubernetes.io/part-of`)",
            );
        }
        if !k8s_label_value(v) {
            cx.err(
                &at,
                format!("`{v}` is not a Kubernetes label value"),
                "use at most 63 letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit (the value the Prometheus object's `ruleSelector` matches)",
            );
        }
    }
}

fn k8s_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A label value (also a key's name part): empty, or alphanumerics with `-_.` inside.
fn k8s_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

fn k8s_label_key(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    let prefix_ok = prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(k8s_dns_label));
    prefix_ok && !name.is_empty() && k8s_label_value(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_names() {
        assert!(k8s_dns_label("monitoring"));
        assert!(!k8s_dns_label("Monitoring") && !k8s_dns_label("-a") && !k8s_dns_label(""));
        assert!(k8s_label_key("release") && k8s_label_key("app.kubernetes.io/part-of"));
        assert!(!k8s_label_key("a/b/c") && !k8s_label_key("/x") && !k8s_label_key("x/") && !k8s_label_key("bad key"));
        assert!(k8s_label_value("") && k8s_label_value("kube-prometheus"));
        assert!(!k8s_label_value("-x") && !k8s_label_value(&"a".repeat(64)));
    }
}
