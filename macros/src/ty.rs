//! A rough classification of field types, enough to check them against the
//! spec's field types without type information.

use syn::{GenericArgument, PathArguments, Type};

/// What a field's type looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// `&str` (any lifetime).
    Str,
    /// `String`.
    String,
    /// `bool`.
    Bool,
    /// An unsigned integer (`u8`…`u128`, `usize`), by name.
    Uint(String),
    /// A type named `ErrorToken`.
    Token,
    /// `Option<T>`.
    Option(Box<Shape>),
    /// `Vec<T>` or `&[T]`.
    List(Box<Shape>),
    /// Any other named type (a user enum…).
    Other(String),
    /// Anything else.
    Unknown,
}

fn last_arg(args: &PathArguments) -> Option<&Type> {
    match args {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

/// Classifies a type.
pub fn shape(ty: &Type) -> Shape {
    match ty {
        Type::Reference(r) => match &*r.elem {
            Type::Path(p) if p.path.is_ident("str") => Shape::Str,
            Type::Slice(s) => Shape::List(Box::new(shape(&s.elem))),
            _ => Shape::Unknown,
        },
        Type::Group(g) => shape(&g.elem),
        Type::Paren(p) => shape(&p.elem),
        Type::Path(p) if p.qself.is_none() => {
            let Some(seg) = p.path.segments.last() else { return Shape::Unknown };
            let name = seg.ident.to_string();
            match name.as_str() {
                "String" => Shape::String,
                "bool" => Shape::Bool,
                "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => Shape::Uint(name),
                "ErrorToken" => Shape::Token,
                "Option" => last_arg(&seg.arguments).map_or(Shape::Unknown, |t| Shape::Option(Box::new(shape(t)))),
                "Vec" => last_arg(&seg.arguments).map_or(Shape::Unknown, |t| Shape::List(Box::new(shape(t)))),
                _ => Shape::Other(name),
            }
        }
        _ => Shape::Unknown,
    }
}
