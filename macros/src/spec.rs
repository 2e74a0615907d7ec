//! Finding, loading and validating the spec at compile time, and the `spec!` macro.

use std::path::{Path, PathBuf};

use obspec_codegen::load::Loaded;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Attribute, LitStr, Path as SynPath};

/// The settings of `#[obspec(spec = "…", vocab = "…")]`.
#[derive(Default)]
pub struct Settings {
    /// Spec directory, relative to `CARGO_MANIFEST_DIR`.
    pub spec: Option<LitStr>,
    /// Module holding `ErrorToken`.
    pub vocab: Option<SynPath>,
}

/// Parses every `#[obspec(...)]` attribute.
pub fn settings(attrs: &[Attribute]) -> syn::Result<Settings> {
    let mut s = Settings::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("obspec")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("spec") {
                s.spec = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("vocab") {
                let lit: LitStr = meta.value()?.parse()?;
                s.vocab = Some(lit.parse()?);
                Ok(())
            } else {
                Err(meta.error("expected `spec = \"dir\"` or `vocab = \"path::to::module\"`"))
            }
        })?;
    }
    Ok(s)
}

fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default()
}

fn find_up(start: &Path) -> Option<PathBuf> {
    start.ancestors().map(|d| d.join("spec")).find(|d| d.is_dir())
}

/// The spec directory: the explicit one, else the first `spec/` above the
/// crate being compiled, else the one of the workspace these macros were
/// built in (what a test crate generated outside the workspace needs).
fn locate(explicit: Option<&LitStr>) -> syn::Result<PathBuf> {
    let manifest = manifest_dir();
    if let Some(lit) = explicit {
        let p = PathBuf::from(lit.value());
        let p = if p.is_absolute() { p } else { manifest.join(p) };
        return if p.is_dir() {
            Ok(p)
        } else {
            Err(syn::Error::new(lit.span(), format!("no spec directory at `{}`", p.display())))
        };
    }
    find_up(&manifest).or_else(|| find_up(Path::new(env!("CARGO_MANIFEST_DIR")))).ok_or_else(|| {
        syn::Error::new(
            Span::call_site(),
            format!(
                "no `spec/` directory above `{}`\n= help: add #[obspec(spec = \"path/to/spec\")]",
                manifest.display()
            ),
        )
    })
}

/// A loaded, valid spec and the tokens that make the compiler track its files.
pub struct SpecInput {
    /// The spec.
    pub loaded: Loaded,
    /// `const _: &[u8] = include_bytes!(…);` per file read.
    pub track: TokenStream,
}

/// `include_bytes!` of a file, relative to `CARGO_MANIFEST_DIR` when it can be.
fn track_file(path: &Path, manifest: &Path) -> TokenStream {
    let common = manifest.ancestors().find(|a| path.starts_with(a) && !a.as_os_str().is_empty());
    match common.and_then(|c| path.strip_prefix(c).ok().map(|rest| (c, rest))) {
        Some((c, rest)) => {
            let ups = manifest.strip_prefix(c).map(|m| m.components().count()).unwrap_or(0);
            let rel = format!("{}{}", "../".repeat(ups), rest.display());
            let rel = format!("/{rel}");
            quote!(
                const _: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), #rel));
            )
        }
        None => {
            let abs = path.display().to_string();
            quote!(
                const _: &[u8] = include_bytes!(#abs);
            )
        }
    }
}

/// Finds, reads and validates the spec; problems become one `syn::Error`
/// listing every diagnostic.
pub fn load(explicit: Option<&LitStr>) -> syn::Result<SpecInput> {
    let span = explicit.map_or_else(Span::call_site, LitStr::span);
    let dir = locate(explicit)?;
    let io = |e: std::io::Error| syn::Error::new(span, format!("cannot read the spec at `{}`: {e}", dir.display()));
    let files = obspec_codegen::load::spec_files(&dir).map_err(io)?;
    let inputs = obspec_codegen::load::read_dir(&dir, "spec").map_err(io)?;
    let manifest = manifest_dir();
    let track = files.iter().map(|f| track_file(f, &manifest)).collect();
    match obspec_codegen::check(&inputs) {
        Ok(loaded) => Ok(SpecInput { loaded, track }),
        Err(diags) => Err(syn::Error::new(
            span,
            format!("the obspec spec at `{}` is invalid:\n{}", dir.display(), obspec_codegen::diag::render_all(&diags)),
        )),
    }
}

/// `spec!("dir")`.
pub fn expand_spec_macro(lit: &LitStr) -> TokenStream {
    match load(Some(lit)) {
        Ok(SpecInput { loaded, track }) => {
            let body = obspec_codegen::render::rust::tokens(&loaded.spec);
            quote! { #track #body }
        }
        Err(e) => e.into_compile_error(),
    }
}

/// `a, b, c` for a help line.
pub fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_spec_is_one_error_listing_every_diagnostic() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/invalid-spec");
        let Err(e) = load(Some(&LitStr::new(dir, Span::call_site()))) else { panic!("the fixture is invalid") };
        let msg = e.to_string();
        assert!(msg.starts_with("the obspec spec at"), "{msg}");
        assert!(msg.contains("BadName") && msg.contains("nope") && msg.contains("nowhere"), "{msg}");
        assert!(msg.contains("spec/metrics.yaml:"), "diagnostics carry file:line:col: {msg}");
    }

    #[test]
    fn a_missing_spec_directory_is_an_error() {
        let Err(e) = load(Some(&LitStr::new("/nonexistent/obspec-spec", Span::call_site()))) else { panic!() };
        assert!(e.to_string().contains("no spec directory"));
    }
}
