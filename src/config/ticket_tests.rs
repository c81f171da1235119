use super::*;
use proptest::prelude::*;

const HEAD: &str = r#"
[site]
name = "t"
[ssh]
use_ssh_config = false
user = "root"
"#;

fn load(ticket: &str) -> Result<crate::config::Config, String> {
    crate::config::parse(
        &format!("{HEAD}{ticket}"),
        Path::new("/etc/vigie/vigie.toml"),
    )
    .map_err(|e| e.to_string())
}

/// SPEC §6's example section.
const SPEC: &str = r#"[ticket]
url = "https://tickets.example.test/api/tickets"
token_file = "/etc/vigie/ticket.token"
template = '{"title": "{{title}}", "body": "{{body}}"}'
id_pointer = "/id"
"#;

#[test]
fn the_spec_example_is_read() {
    let t = load(SPEC).unwrap().ticket.unwrap();
    assert_eq!(t.url.as_str(), "https://tickets.example.test/api/tickets");
    assert_eq!(t.token_file, PathBuf::from("/etc/vigie/ticket.token"));
    assert_eq!(t.id_pointer, "/id");
    assert_eq!(t.ca_file, None);
    assert_eq!(
        t.template.placeholders().collect::<Vec<_>>(),
        ["title", "body"]
    );
}

#[test]
fn values_cannot_break_the_json() {
    let t = Template::parse(r#"{"title": "[DRP] {{ title }}", "text": "{{body}} ({{site}})"}"#)
        .unwrap();
    let body = t
        .render(|name| {
            Some(match name {
                "title" => "Activation \"now\"".to_string(),
                "body" => "line 1\nline 2 \\ {{site}} \u{7}".to_string(),
                _ => "1stKYC".to_string(),
            })
        })
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["title"], "[DRP] Activation \"now\"");
    // A value holding a placeholder is not expanded again.
    assert_eq!(v["text"], "line 1\nline 2 \\ {{site}} \u{7} (1stKYC)");
    assert_eq!(t.render(|_| None), Err("title".to_string()));
}

#[test]
fn template_mistakes_are_found_at_load() {
    let e = load(&SPEC.replace("{{body}}", "{{bodyy}}")).unwrap_err();
    assert!(
        e.contains("vigie.toml:10:12: `template`: unknown placeholder {{bodyy}}: expected one of `title`, `body`"),
        "{e}"
    );
    let e = load(&SPEC.replace("{{body}}\"}", "{{body\"}")).unwrap_err();
    assert!(
        e.contains("`template`: unclosed placeholder at `{{body\"}`"),
        "{e}"
    );
    // Outside a JSON string, a filled placeholder is not JSON.
    let e = load(&SPEC.replace("\"{{body}}\"", "{{body}}")).unwrap_err();
    assert!(
        e.contains("`template`: not valid JSON once its placeholders are filled"),
        "{e}"
    );
    let e = load(&SPEC.replace("}'", "'")).unwrap_err();
    assert!(e.contains("not valid JSON"), "{e}");
}

#[test]
fn url_pointer_and_fields_are_checked() {
    let e = load(
        &SPEC
            .replace("https://tickets", "https://user:pw@tickets")
            .replace("\"/id\"", "\"id\""),
    )
    .unwrap_err();
    assert!(e.contains("credentials in `url` are refused"), "{e}");
    assert!(!e.contains("pw"), "{e}");
    assert!(
        e.contains("`id_pointer`: \"id\" is not a JSON pointer: it starts with `/`"),
        "{e}"
    );
    let e = load(
        &SPEC
            .replace("https://", "ftp://")
            .replace("\"/id\"", "\"/a~2b\""),
    )
    .unwrap_err();
    assert!(e.contains("unsupported URL scheme `ftp`"), "{e}");
    assert!(e.contains("`~` is written `~0`"), "{e}");
    let e = load(&SPEC.replace("id_pointer = \"/id\"\n", "token = \"abc\"\n")).unwrap_err();
    assert!(e.contains("unknown field `token`"), "{e}");
    let e = load(&format!("{SPEC}ca_file = \"/nonexistent/ca.pem\"\n")).unwrap_err();
    assert!(
        e.contains("`ca_file`: cannot read /nonexistent/ca.pem"),
        "{e}"
    );
    let e = load(&SPEC.replace("\"/etc/vigie/ticket.token\"", "\"\"")).unwrap_err();
    assert!(e.contains("empty `token_file`"), "{e}");
}

#[test]
fn pointers() {
    for ok in ["", "/id", "/data/0/id", "/a~1b", "/~0"] {
        assert_eq!(check_pointer(ok), Ok(()), "{ok}");
    }
    for bad in ["id", "/a~", "/a~2"] {
        assert!(check_pointer(bad).is_err(), "{bad}");
    }
}

proptest! {
    /// Whatever the values, a valid template renders to valid JSON holding them unchanged.
    #[test]
    fn any_value_renders_to_valid_json(title in any::<String>(), body in any::<String>()) {
        let t = Template::parse(r#"{"t": "{{title}}", "b": ["{{body}}", "x{{title}}"]}"#).unwrap();
        let out = t.render(|n| Some(if n == "title" { title.clone() } else { body.clone() })).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        prop_assert_eq!(v["t"].as_str(), Some(title.as_str()));
        prop_assert_eq!(v["b"][0].as_str(), Some(body.as_str()));
    }

    /// Parsing never panics, whatever the text.
    #[test]
    fn parse_never_panics(text in any::<String>()) {
        let _ = Template::parse(&text);
        let _ = check_pointer(&text);
    }
}
