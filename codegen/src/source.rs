//! YAML parsing that keeps positions.
//!
//! `yaml-rust2`'s event parser gives a marker for every node. We build a
//! `serde_json::Value` for serde and, beside it, a map from each YAML path
//! (`metrics[3].labels[0]`) to the line and column of its key and value, so
//! validation can point at the exact place of a problem.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Number, Value};
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path into a YAML document, displayed as `metrics[3].name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YamlPath(pub Vec<Seg>);

impl YamlPath {
    /// The root path.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        Self(segs)
    }

    /// This path extended by an index.
    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Self(segs)
    }

    /// The parent path, or the root for the root.
    pub fn parent(&self) -> Self {
        let mut segs = self.0.clone();
        segs.pop();
        Self(segs)
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column, and the width of the token there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
    /// Width of the token in characters (at least 1).
    pub len: usize,
}

/// Where a node of the document sits.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodePos {
    /// The mapping key that leads to the node, if any.
    pub key: Option<Pos>,
    /// The node's value.
    pub value: Pos,
}

/// A parsed YAML file: its text, its value and the position of every node.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown in diagnostics (relative to the workspace when possible).
    pub name: String,
    /// The text.
    pub text: String,
    /// Positions of every node, by path.
    pub positions: HashMap<YamlPath, NodePos>,
}

impl SourceFile {
    /// The position to report for `path`: its value, or the closest ancestor.
    pub fn pos(&self, path: &YamlPath) -> Pos {
        let mut p = path.clone();
        loop {
            if let Some(n) = self.positions.get(&p) {
                return n.value;
            }
            if p.0.is_empty() {
                return Pos { line: 1, col: 1, len: 1 };
            }
            p = p.parent();
        }
    }

    /// The position of the key leading to `path`, falling back to [`Self::pos`].
    pub fn key_pos(&self, path: &YamlPath) -> Pos {
        match self.positions.get(path).and_then(|n| n.key) {
            Some(k) => k,
            None => self.pos(path),
        }
    }

    /// The text of 1-based line `line`, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        self.text.lines().nth(line.saturating_sub(1)).unwrap_or("")
    }
}

/// A YAML syntax problem, or a construct the spec does not allow.
#[derive(Debug, Clone)]
pub struct ParseProblem {
    /// Where.
    pub pos: Pos,
    /// Path of the enclosing node.
    pub path: YamlPath,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// Parses `text` into a JSON value and a position index.
///
/// Syntax errors stop parsing (YAML cannot be resynchronised reliably);
/// duplicate keys and unsupported constructs are collected and parsing goes on.
pub fn parse(name: &str, text: &str) -> (Option<Value>, SourceFile, Vec<ParseProblem>) {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    let result = parser.load(&mut builder, false);
    let mut problems = std::mem::take(&mut builder.problems);
    let value = match result {
        Ok(()) => Some(builder.root.take().unwrap_or(Value::Null)),
        Err(e) => {
            let m = e.marker();
            problems.push(ParseProblem {
                pos: Pos { line: m.line(), col: m.col() + 1, len: 1 },
                path: builder.current_path(),
                message: format!("YAML syntax error: {}", e.info()),
                help: "fix the YAML syntax here; the rest of this file was not read".to_owned(),
            });
            None
        }
    };
    let file = SourceFile { name: name.to_owned(), text: text.to_owned(), positions: builder.positions };
    (value, file, problems)
}

/// A container being built.
#[derive(Debug)]
enum Frame {
    Seq { path: YamlPath, items: Vec<Value>, anchor: usize },
    Map { path: YamlPath, map: Map<String, Value>, pending_key: Option<(String, Pos)>, anchor: usize },
}

#[derive(Debug, Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    positions: HashMap<YamlPath, NodePos>,
    anchors: HashMap<usize, Value>,
    problems: Vec<ParseProblem>,
}

impl Builder {
    fn current_path(&self) -> YamlPath {
        match self.stack.last() {
            Some(Frame::Seq { path, items, .. }) => path.index(items.len()),
            Some(Frame::Map { path, pending_key: Some((k, _)), .. }) => path.key(k),
            Some(Frame::Map { path, .. }) => path.clone(),
            None => YamlPath::root(),
        }
    }

    /// Where the next node goes: its path and, in a mapping, its key position.
    /// Returns `None` when the next scalar is a mapping key.
    fn slot(&self) -> Option<(YamlPath, Option<Pos>)> {
        match self.stack.last() {
            Some(Frame::Seq { path, items, .. }) => Some((path.index(items.len()), None)),
            Some(Frame::Map { path, pending_key: Some((k, kp)), .. }) => Some((path.key(k), Some(*kp))),
            Some(Frame::Map { .. }) => None,
            None => Some((YamlPath::root(), None)),
        }
    }

    fn push_value(&mut self, value: Value, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, pending_key, .. }) => {
                if let Some((k, _)) = pending_key.take() {
                    map.insert(k, value);
                }
            }
            None => self.root = Some(value),
        }
    }

    fn start(&mut self, frame: Frame, mark: Marker) {
        let (path, key) = match self.slot() {
            Some(s) => s,
            None => {
                let path = self.current_path();
                self.problems.push(ParseProblem {
                    pos: to_pos(mark, 1),
                    path: path.clone(),
                    message: "a mapping key must be a plain string".to_owned(),
                    help: "write the key as a plain word".to_owned(),
                });
                (path, None)
            }
        };
        self.positions.insert(path.clone(), NodePos { key, value: to_pos(mark, 1) });
        let frame = match frame {
            Frame::Seq { anchor, .. } => Frame::Seq { path, items: Vec::new(), anchor },
            Frame::Map { anchor, .. } => Frame::Map { path, map: Map::new(), pending_key: None, anchor },
        };
        self.stack.push(frame);
    }
}

fn to_pos(mark: Marker, len: usize) -> Pos {
    // yaml-rust2 markers have a 1-based line and a 0-based column.
    Pos { line: mark.line(), col: mark.col() + 1, len: len.max(1) }
}

fn scalar_value(text: &str, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match Yaml::from_str(text) {
        Yaml::Integer(i) => Value::Number(Number::from(i)),
        Yaml::Real(r) => {
            r.parse::<f64>().ok().and_then(Number::from_f64).map_or_else(|| Value::String(r.clone()), Value::Number)
        }
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Null => Value::Null,
        _ => Value::String(text.to_owned()),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let width = text.chars().count()
                    + if matches!(style, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted) { 2 } else { 0 };
                let pos = to_pos(mark, width);
                match self.slot() {
                    Some((path, key)) => {
                        self.positions.insert(path, NodePos { key, value: pos });
                        self.push_value(scalar_value(&text, style), anchor);
                    }
                    None => {
                        // A mapping key.
                        if let Some(Frame::Map { path, map, pending_key, .. }) = self.stack.last_mut() {
                            if map.contains_key(&text) {
                                self.problems.push(ParseProblem {
                                    pos,
                                    path: path.key(&text),
                                    message: format!("duplicate key `{text}`"),
                                    help: "YAML keeps only the last one; remove or rename one of them".to_owned(),
                                });
                            }
                            *pending_key = Some((text, pos));
                        }
                    }
                }
            }
            Event::SequenceStart(anchor, _) => {
                self.start(Frame::Seq { path: YamlPath::root(), items: Vec::new(), anchor }, mark);
            }
            Event::MappingStart(anchor, _) => {
                self.start(Frame::Map { path: YamlPath::root(), map: Map::new(), pending_key: None, anchor }, mark);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let (value, anchor) = match frame {
                        Frame::Seq { items, anchor, .. } => (Value::Array(items), anchor),
                        Frame::Map { map, anchor, .. } => (Value::Object(map), anchor),
                    };
                    self.push_value(value, anchor);
                }
            }
            Event::Alias(id) => {
                let value = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                if let Some((path, key)) = self.slot() {
                    self.positions.insert(path, NodePos { key, value: to_pos(mark, 1) });
                    self.push_value(value, 0);
                } else {
                    let path = self.current_path();
                    self.problems.push(ParseProblem {
                        pos: to_pos(mark, 1),
                        path,
                        message: "an alias cannot be a mapping key".to_owned(),
                        help: "write the key as a plain word".to_owned(),
                    });
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_keys_and_values() {
        let text = "a:\n  - name: x\n    n: 3\n  - name: \"y\"\n";
        let (value, file, problems) = parse("t.yaml", text);
        assert!(problems.is_empty());
        let value = value.unwrap();
        assert_eq!(value["a"][1]["name"], "y");
        assert_eq!(value["a"][0]["n"], 3);
        let p = YamlPath::root().key("a").index(1).key("name");
        assert_eq!(file.pos(&p), Pos { line: 4, col: 11, len: 3 });
        assert_eq!(file.key_pos(&p), Pos { line: 4, col: 5, len: 4 });
        assert_eq!(p.to_string(), "a[1].name");
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let (_, _, problems) = parse("t.yaml", "a: 1\nb: 2\na: 3\n");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pos.line, 3);
        assert!(problems[0].message.contains("duplicate key `a`"));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let (value, _, problems) = parse("t.yaml", "a: [1, 2\nb: 3\n");
        assert!(value.is_none());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.starts_with("YAML syntax error"));
    }

    #[test]
    fn anchors_and_aliases_resolve() {
        let (value, _, problems) = parse("t.yaml", "a: &x [1, 2]\nb: *x\n");
        assert!(problems.is_empty());
        assert_eq!(value.unwrap()["b"][1], 2);
    }
}
