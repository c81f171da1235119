//! Just enough XML for crm_mon's output: elements, their attributes, their enclosing elements
//! and their text. No validation, no namespaces; comments, processing instructions, DOCTYPE
//! and CDATA are skipped. Lenient with broken input (an unmatched end tag closes up to its
//! match, or nothing), bounded (at most [`MAX_ELEMENTS`] elements), never panics.

/// An element, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element<'a> {
    pub name: &'a str,
    pub attrs: Vec<(&'a str, String)>,
    /// The names of the enclosing elements, outermost first.
    pub path: Vec<&'a str>,
    /// The text directly inside the element, entities decoded.
    pub text: String,
}

impl Element<'_> {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The attribute is exactly "true".
    pub fn is(&self, key: &str) -> bool {
        self.attr(key) == Some("true")
    }

    /// The element's parent is `parent`.
    pub fn under(&self, parent: &str) -> bool {
        self.path.last() == Some(&parent)
    }

    /// Some enclosing element is `ancestor`.
    pub fn within(&self, ancestor: &str) -> bool {
        self.path.contains(&ancestor)
    }
}

pub(crate) const MAX_ELEMENTS: usize = 100_000;
const MAX_DEPTH: usize = 64;

/// `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` and numeric references; anything else as is.
fn decode(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(rest.get(..at).unwrap_or(""));
        let tail = rest.get(at..).unwrap_or("");
        let entity = tail.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = tail.get(1..end)?;
            let c = match name {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let n = if let Some(hex) = name.strip_prefix("#x") {
                        u32::from_str_radix(hex, 16).ok()?
                    } else {
                        name.strip_prefix('#')?.parse().ok()?
                    };
                    char::from_u32(n)?
                }
            };
            Some((c, end + 1))
        });
        match entity {
            Some((c, len)) => {
                out.push(c);
                rest = tail.get(len..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = tail.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

/// `name="value"` pairs of a start tag's inside.
fn attributes(mut s: &str) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        let end = s.find(|c: char| !is_name_char(c)).unwrap_or(s.len());
        let (key, rest) = s.split_at(end);
        if key.is_empty() {
            return out;
        }
        let Some(rest) = rest.trim_start().strip_prefix('=') else {
            return out;
        };
        let rest = rest.trim_start();
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            return out;
        };
        let value_and_more = rest.get(1..).unwrap_or("");
        let Some(close) = value_and_more.find(quote) else {
            return out;
        };
        out.push((key, decode(value_and_more.get(..close).unwrap_or(""))));
        s = value_and_more.get(close + 1..).unwrap_or("");
    }
}

/// The elements of `xml`, in document order.
pub(crate) fn elements(xml: &str) -> Vec<Element<'_>> {
    let mut out: Vec<Element<'_>> = Vec::new();
    // Indexes into `out` of the open elements.
    let mut stack: Vec<usize> = Vec::new();
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let text = rest.get(..lt).unwrap_or("");
        if let Some(&top) = stack.last()
            && !text.trim().is_empty()
            && let Some(e) = out.get_mut(top)
            && e.text.len() < 4096
        {
            e.text.push_str(&decode(text));
        }
        let tag = rest.get(lt..).unwrap_or("");
        let skip_to = |end: &str| tag.find(end).map(|i| i + end.len());
        let consumed = if tag.starts_with("<!--") {
            skip_to("-->")
        } else if tag.starts_with("<![CDATA[") {
            skip_to("]]>")
        } else if tag.starts_with("<?") {
            skip_to("?>")
        } else if tag.starts_with("<!") {
            skip_to(">")
        } else if let Some(name) = tag.strip_prefix("</") {
            let end = name.find('>');
            let name = name.get(..end.unwrap_or(0)).unwrap_or("").trim();
            if let Some(pos) = stack
                .iter()
                .rposition(|&i| out.get(i).is_some_and(|e| e.name == name))
            {
                stack.truncate(pos);
            }
            end.map(|e| e + 3)
        } else {
            match tag.find('>') {
                None => None,
                Some(gt) => {
                    let inner = tag.get(1..gt).unwrap_or("");
                    let (inner, closed) = match inner.strip_suffix('/') {
                        Some(i) => (i, true),
                        None => (inner, false),
                    };
                    let name_end = inner
                        .find(|c: char| !is_name_char(c))
                        .unwrap_or(inner.len());
                    let (name, attrs) = inner.split_at(name_end);
                    if !name.is_empty() && out.len() < MAX_ELEMENTS {
                        let path = stack
                            .iter()
                            .filter_map(|&i| out.get(i).map(|e| e.name))
                            .collect();
                        out.push(Element {
                            name,
                            attrs: attributes(attrs),
                            path,
                            text: String::new(),
                        });
                        if !closed && stack.len() < MAX_DEPTH {
                            stack.push(out.len() - 1);
                        }
                    }
                    Some(gt + 1)
                }
            }
        };
        match consumed.and_then(|c| tag.get(c..)) {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_paths_attributes_and_text() {
        let xml = "<?xml version=\"1.0\"?>\n<!-- c --><r a='1'><nodes>\
                   <node name=\"n&amp;1\" online=\"true\"/><node name='n2'></node></nodes>\
                   <e>x &lt; y</e></r>";
        let v = elements(xml);
        let names: Vec<&str> = v.iter().map(|e| e.name).collect();
        assert_eq!(names, ["r", "nodes", "node", "node", "e"]);
        assert_eq!(v[2].attr("name"), Some("n&1"));
        assert!(v[2].is("online") && v[2].under("nodes") && v[2].within("r"));
        assert_eq!(v[3].path, ["r", "nodes"]);
        assert_eq!(v[4].text, "x < y");
        assert_eq!(v[4].path, ["r"], "nodes was closed");
        assert_eq!(decode("&#65;&#x42;&bogus;&"), "AB&bogus;&");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            let _ = elements(&s);
            let _ = elements(&format!("<a b=\"{s}\">{s}</a><{s}"));
        }

        #[test]
        fn tag_soup_never_panics(s in "[<>/=\"'a-c &;#x!?\\-\\[\\]]{0,200}") {
            let _ = elements(&s);
        }
    }
}
