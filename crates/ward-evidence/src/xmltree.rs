//! A small element tree over quick-xml for documents read whole (CycloneDX XML): names without
//! namespace prefixes, attributes, trimmed text, children. A document type declaration is
//! refused outright, so no entity is ever expanded and nothing external is fetched; depth and
//! element count are bounded.

use crate::EvidenceError;
use quick_xml::events::{BytesStart, Event};

const MAX_DEPTH: usize = 64;
/// About 100 bytes of memory each: at most ~50 MB for a tree.
const MAX_ELEMENTS: usize = 500_000;

/// One element.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first child called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child called `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child called `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str()).filter(|t| !t.is_empty())
    }
}

fn local(name: &[u8]) -> String {
    let n = name.rsplit(|b| *b == b':').next().unwrap_or(name);
    String::from_utf8_lossy(n).into_owned()
}

fn open(e: &BytesStart<'_>, format: &'static str) -> Result<Element, EvidenceError> {
    let mut el = Element {
        name: local(e.name().as_ref()),
        ..Element::default()
    };
    for a in e.attributes() {
        let a = a.map_err(|err| EvidenceError::Malformed {
            format,
            reason: format!("bad attribute: {err}"),
        })?;
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| EvidenceError::Malformed {
                format,
                reason: format!("bad attribute value: {err}"),
            })?;
        el.attrs
            .push((String::from_utf8_lossy(a.key.as_ref()).into_owned(), v.into_owned()));
    }
    Ok(el)
}

/// Parses `bytes` into its root element, leaving out (but still checking the well-formedness of)
/// the subtrees of elements named in `skip`.
pub(crate) fn parse(bytes: &[u8], format: &'static str, skip: &[&str]) -> Result<Element, EvidenceError> {
    let malformed = |reason: String| EvidenceError::Malformed { format, reason };
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(format!("at byte {pos}: {e}")))?;
        let finished = match event {
            Event::DocType(_) => {
                return Err(malformed(
                    "document type declarations (DTDs, entities) are not accepted".into(),
                ));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed("elements nested too deeply".into()));
                }
                if skip.iter().any(|n| e.local_name().as_ref() == n.as_bytes()) {
                    let end = e.to_end().into_owned();
                    let mut skipped = Vec::new();
                    reader
                        .read_to_end_into(end.name(), &mut skipped)
                        .map_err(|err| malformed(format!("at byte {pos}: {err}")))?;
                    None
                } else {
                    stack.push(open(&e, format)?);
                    None
                }
            }
            Event::Empty(e) if skip.iter().any(|n| e.local_name().as_ref() == n.as_bytes()) => None,
            Event::Empty(e) => Some(open(&e, format)?),
            Event::End(_) => stack.pop(),
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let s = t
                        .xml10_content()
                        .map_err(|e| malformed(format!("at byte {pos}: {e}")))?;
                    top.text.push_str(&s);
                }
                None
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                    let c = match name.as_str() {
                        "lt" => "<".to_string(),
                        "gt" => ">".to_string(),
                        "amp" => "&".to_string(),
                        "apos" => "'".to_string(),
                        "quot" => "\"".to_string(),
                        _ => match r.resolve_char_ref() {
                            Ok(Some(c)) => c.to_string(),
                            _ => return Err(malformed(format!("unknown entity &{name};"))),
                        },
                    };
                    top.text.push_str(&c);
                }
                None
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
                None
            }
            Event::Eof => break,
            _ => None,
        };
        if let Some(mut el) = finished {
            count += 1;
            if count > MAX_ELEMENTS {
                return Err(malformed("too many elements".into()));
            }
            el.text = el.text.trim().to_string();
            match stack.last_mut() {
                Some(parent) => parent.children.push(el),
                None if root.is_none() => root = Some(el),
                None => return Err(malformed("more than one root element".into())),
            }
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(malformed("the document ends inside an element".into()));
    }
    root.ok_or_else(|| malformed("no root element".into()))
}
