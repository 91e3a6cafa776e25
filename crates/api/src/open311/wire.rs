//! One document, two formats. GeoReport v2 defines its answers in XML and maps them to JSON
//! mechanically (the spec's "Spark" convention): a container of repeated elements becomes a JSON
//! array and loses its name, an empty element is `null`. Each answer is built once as a [`Node`]
//! and written either way, so the two formats cannot drift apart.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The format named by a resource's suffix (`services.json`, `services.xml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// `services.json` → (`services`, Json). An unknown or missing suffix is `Err(stem)`.
pub fn split_format(file: &str) -> Result<(&str, Format), &str> {
    match file.rsplit_once('.') {
        Some((stem, "json")) => Ok((stem, Format::Json)),
        Some((stem, "xml")) => Ok((stem, Format::Xml)),
        Some((stem, _)) => Err(stem),
        None => Err(file),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// Named children, in order.
    Obj(Vec<(&'static str, Node)>),
    /// Repeated children, each under the item tag (`service`, `request`…): a JSON array.
    List(&'static str, Vec<Node>),
}

impl Node {
    pub fn text(s: impl Into<String>) -> Node {
        Node::Text(s.into())
    }

    pub fn opt_text(s: Option<impl Into<String>>) -> Node {
        s.map_or(Node::Null, |s| Node::Text(s.into()))
    }

    pub fn to_json(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Node::Text(s) => Value::String(s.clone()),
            Node::Obj(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), v.to_json()))
                    .collect(),
            ),
            Node::List(_, items) => Value::Array(items.iter().map(Node::to_json).collect()),
        }
    }

    /// The element's content (not the element itself).
    fn write_xml(&self, out: &mut String) {
        match self {
            Node::Null => {}
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Int(i) => out.push_str(&i.to_string()),
            Node::Float(f) => out.push_str(&f.to_string()),
            Node::Text(s) => escape_into(s, out),
            Node::Obj(fields) => {
                for (k, v) in fields {
                    element(k, v, out);
                }
            }
            Node::List(item, items) => {
                for v in items {
                    element(item, v, out);
                }
            }
        }
    }
}

fn element(tag: &str, v: &Node, out: &mut String) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    v.write_xml(out);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Text as XML character data. Characters XML 1.0 cannot carry at all (most C0 controls) are
/// dropped: a description pasted with a stray control byte must not make the document unreadable.
fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// A whole document: `root` is the XML root element (`services`, `service_requests`,
/// `discovery`…); JSON has no root name.
pub fn render(format: Format, root: &str, body: &Node) -> Vec<u8> {
    match format {
        Format::Json => serde_json::to_vec(&body.to_json()).unwrap_or_default(),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
            element(root, body, &mut out);
            out.into_bytes()
        }
    }
}

pub fn respond(status: StatusCode, format: Format, root: &str, body: &Node) -> Response {
    let mut res = (status, render(format, root, body)).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    // Open311 answers are public and meant for any client, browsers included.
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Node {
        Node::List(
            "service",
            vec![Node::Obj(vec![
                ("service_code", Node::text("a-1")),
                ("metadata", Node::Bool(true)),
                ("description", Node::Null),
                ("keywords", Node::text("井盖 <破损> & \"缺失\"")),
            ])],
        )
    }

    #[test]
    fn json_is_the_spark_mapping_of_the_xml() {
        let j = services().to_json();
        assert_eq!(j[0]["service_code"], "a-1");
        assert_eq!(j[0]["metadata"], true);
        assert!(j[0]["description"].is_null());
        let x = String::from_utf8(render(Format::Xml, "services", &services())).unwrap();
        assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service>"));
        assert!(x.contains("<description></description>"));
        assert!(x.contains("<keywords>井盖 &lt;破损&gt; &amp; &quot;缺失&quot;</keywords>"));
        assert!(x.ends_with("</service></services>"));
    }

    #[test]
    fn control_characters_cannot_break_the_xml() {
        let mut out = String::new();
        escape_into("a\u{1}b\u{0}c\td", &mut out);
        assert_eq!(out, "abc\td");
    }

    #[test]
    fn suffix_names_the_format() {
        assert_eq!(
            split_format("services.json"),
            Ok(("services", Format::Json))
        );
        assert_eq!(split_format("2026.xml"), Ok(("2026", Format::Xml)));
        assert_eq!(split_format("services.html"), Err("services"));
        assert_eq!(split_format("services"), Err("services"));
    }
}
