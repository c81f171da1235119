//! Themes: the built-in files, errors of broken files, NO_COLOR and 16-colour terminals.

use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use vigie::config::Location;
use vigie::ui::theme::{ANSI16, Role, Theme, ThemeError, for_terminal, nearest_ansi, parse_colour};

fn themes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("themes")
}

fn dark_text() -> String {
    std::fs::read_to_string(themes_dir().join("dark.toml")).unwrap()
}

/// The dark theme's text with the line of `role` replaced by `line` (an empty `line` drops it).
fn dark_with(role: &str, line: &str) -> String {
    let text = dark_text();
    let mut found = false;
    let out: Vec<&str> = text
        .lines()
        .map(|l| {
            if l.split('=').next().is_some_and(|k| k.trim() == role) {
                found = true;
                line
            } else {
                l
            }
        })
        .collect();
    assert!(found, "dark.toml has no line for {role}");
    out.join("\n") + "\n"
}

fn problems_of(text: &str) -> (PathBuf, Vec<(Option<Location>, String)>) {
    match Theme::parse("broken", Path::new("/etc/themes/broken.toml"), text) {
        Ok(_) => panic!("the theme should be rejected:\n{text}"),
        Err(ThemeError::Invalid { path, problems }) => (
            path,
            problems
                .into_iter()
                .map(|p| (p.location, p.message))
                .collect(),
        ),
        Err(e) => panic!("expected an invalid-theme error, got {e:?}"),
    }
}

/// The 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines().position(|l| l.starts_with(prefix)).unwrap() + 1
}

fn at(line: usize, column: usize) -> Option<Location> {
    Some(Location { line, column })
}

fn all_styles(t: &Theme) -> Vec<(Role, Style)> {
    Role::ALL.into_iter().map(|r| (r, t.style(r))).collect()
}

// ---------------------------------------------------------------------------------------------
// Built-in themes

#[test]
fn names_are_the_four_builtins_default_first() {
    assert_eq!(Theme::names(), ["dark", "light", "high-contrast", "mono"]);
    assert_eq!(Theme::default(), Theme::builtin("dark").unwrap());
    assert!(Theme::builtin("solarized").is_none());
}

#[test]
fn every_builtin_parses_from_its_file_and_defines_every_role() {
    for name in Theme::names() {
        let path = themes_dir().join(format!("{name}.toml"));
        let from_file = Theme::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let builtin = Theme::builtin(name).unwrap();
        assert_eq!(builtin.name(), *name);
        assert_eq!(from_file, builtin, "{name}: the embedded copy is the file");
        // Every role is written in the file (none left to a default).
        let text = std::fs::read_to_string(&path).unwrap();
        for role in Role::ALL {
            let written = text
                .lines()
                .any(|l| l.split('=').next().is_some_and(|k| k.trim() == role.key()));
            assert!(written, "{name}.toml does not define {role}");
        }
    }
}

#[test]
fn every_theme_file_documents_every_role_and_is_built_in() {
    for entry in std::fs::read_dir(themes_dir()).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(
            Theme::names().contains(&stem.as_str()),
            "{} is not built in",
            path.display()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        for role in Role::ALL {
            let documented = text.lines().any(|l| {
                l.strip_prefix('#')
                    .and_then(|c| c.split_whitespace().next())
                    .is_some_and(|w| w == role.key())
            });
            assert!(documented, "{stem}.toml has no comment for {role}");
        }
    }
}

#[test]
fn roles_round_trip_through_their_keys() {
    for (i, role) in Role::ALL.into_iter().enumerate() {
        assert_eq!(Role::from_key(role.key()), Some(role));
        assert_eq!(role.to_string(), role.key());
        assert!(!Role::ALL[..i].contains(&role));
    }
    assert_eq!(Role::from_key("OK"), None);
}

#[test]
fn states_are_told_apart_in_every_builtin() {
    let states = [Role::Ok, Role::Warn, Role::Crit, Role::Unknown];
    for name in Theme::names() {
        let t = Theme::builtin(name).unwrap();
        for (i, a) in states.iter().enumerate() {
            for b in &states[i + 1..] {
                assert_ne!(t.style(*a), t.style(*b), "{name}: {a} looks like {b}");
            }
        }
        // The selection changes how a row looks.
        assert_ne!(t.style(Role::Selection), Style::new(), "{name}");
    }
}

#[test]
fn mono_has_no_colour_and_a_reversed_selection() {
    let mono = Theme::builtin("mono").unwrap();
    for (role, s) in all_styles(&mono) {
        assert_eq!((s.fg, s.bg), (None, None), "mono {role}");
    }
    assert!(
        mono.style(Role::Selection)
            .add_modifier
            .contains(Modifier::REVERSED)
    );
    assert_eq!(
        mono.style(Role::Crit),
        Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
    );
    // `reversed = false` removes reverse video (a badge inside the reversed bar).
    assert!(
        mono.style(Role::Badge)
            .sub_modifier
            .contains(Modifier::REVERSED)
    );
}

#[test]
fn dark_theme_styles() {
    let dark = Theme::builtin("dark").unwrap();
    assert_eq!(
        dark.style(Role::Ok),
        Style::new()
            .fg(Color::Rgb(0x3f, 0xb9, 0x50))
            .add_modifier(Modifier::BOLD)
    );
    assert_eq!(
        dark.style(Role::Background).bg,
        Some(Color::Rgb(0x10, 0x14, 0x1a))
    );
}

// ---------------------------------------------------------------------------------------------
// Broken theme files

#[test]
fn a_bad_colour_is_located_and_says_what_is_expected() {
    let text = dark_with("warn", r##"warn = { fg = "orang", bold = true }"##);
    let line = line_of(&text, "warn");
    let (path, problems) = problems_of(&text);
    assert_eq!(path, Path::new("/etc/themes/broken.toml"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, at(line, 15));
    assert!(
        problems[0]
            .1
            .starts_with("unknown colour \"orang\": expected one of the 16 ANSI")
    );
    assert!(problems[0].1.contains("\"#rrggbb\" or an index 0-255"));
}

#[test]
fn every_bad_colour_is_reported_at_once() {
    let text = dark_with("ok", r##"ok = { fg = "#12345", bg = 256 }"##);
    let text = text.replace(r##"{ fg = "#8b949e" }"##, r##"{ fg = true }"##);
    let (_, problems) = problems_of(&text);
    let ok = line_of(&text, "ok");
    let muted = line_of(&text, "muted");
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert_eq!(problems[0].0, at(ok, 13));
    assert!(problems[0].1.starts_with("unknown colour \"#12345\""));
    assert_eq!(problems[1].0, at(ok, 28));
    assert_eq!(
        problems[1].1,
        "colour index 256 is out of range: expected 0-255"
    );
    assert_eq!(problems[2].0, at(muted, 23));
    assert!(
        problems[2]
            .1
            .starts_with("a colour cannot be a boolean: expected")
    );
}

#[test]
fn an_unknown_role_is_rejected_with_the_list_of_roles() {
    let text = dark_text() + "sparkline = { fg = \"red\" }\n";
    let line = line_of(&text, "sparkline");
    let (_, problems) = problems_of(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, at(line, 1));
    assert!(
        problems[0]
            .1
            .starts_with("unknown role `sparkline`, expected one of: ok, warn, crit, unknown,"),
        "{}",
        problems[0].1
    );
}

#[test]
fn an_unknown_style_field_is_rejected() {
    let text = dark_with("crit", r#"crit = { fg = "red", blink = true }"#);
    let line = line_of(&text, "crit");
    let (_, problems) = problems_of(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, at(line, 22));
    assert!(
        problems[0]
            .1
            .starts_with("unknown field `blink`, expected one of `fg`, `bg`")
    );
}

#[test]
fn a_role_that_is_not_a_table_says_what_a_style_looks_like() {
    let text = dark_with("crit", r#"crit = "red""#);
    let line = line_of(&text, "crit");
    let (_, problems) = problems_of(&text);
    assert_eq!(problems[0].0, at(line, 8));
    assert!(
        problems[0]
            .1
            .contains("expected a style table such as { fg = \"green\", bold = true }"),
        "{}",
        problems[0].1
    );
    let text = dark_with("crit", r#"crit = { bold = "yes" }"#);
    let (_, problems) = problems_of(&text);
    assert_eq!(problems[0].0, at(line, 17));
    assert!(problems[0].1.contains("expected a boolean"));
}

#[test]
fn missing_roles_are_all_named() {
    let text = dark_with("header", "");
    let text = text
        .lines()
        .filter(|l| !l.starts_with("gauge"))
        .collect::<Vec<_>>()
        .join("\n");
    let (_, problems) = problems_of(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, None);
    assert!(
        problems[0]
            .1
            .starts_with("missing roles header, gauge: a theme must give a style to every role"),
        "{}",
        problems[0].1
    );
    let err = Theme::parse("x", Path::new("x.toml"), &dark_with("bar", "")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.toml: missing role bar: a theme must give a style to every role \
         (write `bar = {}` to keep the terminal's default)"
    );
}

#[test]
fn a_toml_syntax_error_is_located() {
    let text = dark_with("key", r#"key = { fg = red }"#);
    let line = line_of(&text, "key");
    let err = Theme::parse("broken", Path::new("/t/broken.toml"), &text).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("/t/broken.toml:{line}:14: string values must be quoted, expected literal string")
    );
    let err = Theme::parse("broken", Path::new("/t/broken.toml"), "[ok\nfg = 1\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/t/broken.toml:1:4: unclosed table, expected `]`"
    );

    let (_, problems) = problems_of("ok = {}\nok = {}\n");
    assert_eq!(problems, [(at(2, 1), "duplicate key `ok`".to_string())]);
}

#[test]
fn problems_display_one_per_line_in_file_order_with_missing_roles_last() {
    let text = dark_with("gauge", "").replace(r##""#3fb950""##, r#""greenish""#) + "extra = {}\n";
    let err = Theme::parse("x", Path::new("my.toml"), &text).unwrap_err();
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "{shown}");
    assert!(lines[0].starts_with(&format!(
        "my.toml:{}:23: unknown colour",
        line_of(&text, "ok")
    )));
    assert!(lines[1].starts_with(&format!(
        "my.toml:{}:1: unknown role `extra`",
        line_of(&text, "extra")
    )));
    assert!(lines[2].starts_with("my.toml: missing role gauge"));
}

// ---------------------------------------------------------------------------------------------
// Finding themes

#[test]
fn a_user_theme_overrides_a_builtin_and_adds_new_names() {
    let dir = tempfile::tempdir().unwrap();
    let mono = std::fs::read_to_string(themes_dir().join("mono.toml")).unwrap();
    std::fs::write(dir.path().join("dark.toml"), &mono).unwrap();
    std::fs::write(dir.path().join("site.toml"), dark_text()).unwrap();

    let dark = Theme::load_from_dir("dark", Some(dir.path())).unwrap();
    assert_eq!(dark.name(), "dark");
    assert_eq!(
        dark.style(Role::Crit),
        Theme::builtin("mono").unwrap().style(Role::Crit)
    );

    let site = Theme::load_from_dir("site", Some(dir.path())).unwrap();
    assert_eq!(site.name(), "site");
    assert_eq!(site.style(Role::Ok), Theme::default().style(Role::Ok));

    // Not in the user directory: the built-in.
    let light = Theme::load_from_dir("light", Some(dir.path())).unwrap();
    assert_eq!(light, Theme::builtin("light").unwrap());
    assert_eq!(
        Theme::load_from_dir("mono", None).unwrap(),
        Theme::builtin("mono").unwrap()
    );
}

#[test]
fn an_unknown_name_says_where_it_looked_and_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let err = Theme::load_from_dir("solarized", Some(dir.path())).unwrap_err();
    let wanted = dir.path().join("solarized.toml");
    assert!(matches!(&err, ThemeError::NotFound { name, searched }
        if name == "solarized" && searched == std::slice::from_ref(&wanted)));
    assert_eq!(
        err.to_string(),
        format!(
            "unknown theme `solarized`: no file {}, and the built-in themes are dark, light, \
             high-contrast, mono (or give a path to a .toml file)",
            wanted.display()
        )
    );
}

#[test]
fn a_path_is_read_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.toml");
    std::fs::write(&path, dark_text()).unwrap();
    let t = Theme::load_from_dir(path.to_str().unwrap(), None).unwrap();
    assert_eq!(t.name(), "ops");

    // A broken file found by name is reported against its path.
    std::fs::write(dir.path().join("bad.toml"), "ok = { fg = 1000 }\n").unwrap();
    let err = Theme::load_from_dir("bad", Some(dir.path())).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}:1:13: colour index 1000 is out of range",
            dir.path().join("bad.toml").display()
        )),
        "{shown}"
    );

    // A path that does not exist is not looked up among the built-ins.
    let err = Theme::load_from_dir("themes/dark-blue.toml", None).unwrap_err();
    assert!(matches!(err, ThemeError::Read { .. }));
    assert_eq!(err.to_string(), "themes/dark-blue.toml: no such theme file");
    let err = Theme::load_from_dir("dark.toml", None).unwrap_err();
    assert!(matches!(err, ThemeError::Read { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Colours

#[test]
fn colours_are_names_hex_or_indexes() {
    assert_eq!(parse_colour("green"), Some(Color::Green));
    assert_eq!(parse_colour("Light-Red"), Some(Color::LightRed));
    assert_eq!(parse_colour("darkgrey"), Some(Color::DarkGray));
    assert_eq!(parse_colour("grey"), Some(Color::Gray));
    assert_eq!(parse_colour("white"), Some(Color::White));
    assert_eq!(parse_colour("reset"), Some(Color::Reset));
    assert_eq!(parse_colour("#FF8000"), Some(Color::Rgb(255, 128, 0)));
    assert_eq!(parse_colour("42"), Some(Color::Indexed(42)));
    for bad in ["", "#fff", "#gg0000", "256", "orange", "rgb(1,2,3)"] {
        assert_eq!(parse_colour(bad), None, "{bad:?}");
    }
    let t = Theme::parse(
        "t",
        Path::new("t.toml"),
        &dark_with("gauge", "gauge = { fg = 208, bg = \"reset\" }"),
    )
    .unwrap();
    assert_eq!(
        t.style(Role::Gauge),
        Style::new().fg(Color::Indexed(208)).bg(Color::Reset)
    );
}

#[test]
fn nearest_ansi_colour() {
    assert_eq!(nearest_ansi(Color::Rgb(255, 0, 0)), Color::LightRed);
    assert_eq!(nearest_ansi(Color::Rgb(200, 10, 10)), Color::Red);
    assert_eq!(nearest_ansi(Color::Rgb(12, 14, 20)), Color::Black);
    assert_eq!(nearest_ansi(Color::Rgb(250, 250, 250)), Color::White);
    assert_eq!(nearest_ansi(Color::Rgb(120, 125, 130)), Color::DarkGray);
    assert_eq!(nearest_ansi(Color::Rgb(0x3f, 0xb9, 0x50)), Color::Green);
    assert_eq!(nearest_ansi(Color::Rgb(0x58, 0xa6, 0xff)), Color::LightBlue);
    assert_eq!(nearest_ansi(Color::Rgb(0xe3, 0xb3, 0x41)), Color::Yellow);
    // Indexed: the system colours are the named ones; the cube and greys are mapped.
    assert_eq!(nearest_ansi(Color::Indexed(1)), Color::Red);
    assert_eq!(nearest_ansi(Color::Indexed(15)), Color::White);
    assert_eq!(nearest_ansi(Color::Indexed(196)), Color::LightRed);
    assert_eq!(nearest_ansi(Color::Indexed(21)), Color::Blue);
    assert_eq!(nearest_ansi(Color::Indexed(232)), Color::Black);
    assert_eq!(nearest_ansi(Color::Indexed(244)), Color::DarkGray);
    // Already ANSI, or the terminal's default: unchanged.
    for c in ANSI16 {
        assert_eq!(nearest_ansi(c), c);
    }
    assert_eq!(nearest_ansi(Color::Reset), Color::Reset);
}

fn is_ansi(c: Option<Color>) -> bool {
    c.is_none_or(|c| c == Color::Reset || ANSI16.contains(&c))
}

#[test]
fn sixteen_colour_terminals_get_only_ansi_colours() {
    for name in Theme::names() {
        let theme = Theme::builtin(name).unwrap();
        for colors in [8, 16] {
            let t = for_terminal(theme.clone(), false, colors);
            assert_eq!(t.name(), *name);
            for (role, s) in all_styles(&t) {
                assert!(is_ansi(s.fg) && is_ansi(s.bg), "{name} {role}: {s:?}");
                // Modifiers are untouched.
                assert_eq!(s.add_modifier, theme.style(role).add_modifier);
            }
        }
        // With 256 colours or more, nothing changes.
        assert_eq!(for_terminal(theme.clone(), false, 256), theme);
        assert_eq!(for_terminal(theme.clone(), false, u16::MAX), theme);
    }
}

#[test]
fn sixteen_colours_keep_foregrounds_off_their_background() {
    let dark = for_terminal(Theme::builtin("dark").unwrap(), false, 16);
    let screen = dark.style(Role::Background).bg;
    assert_eq!(screen, Some(Color::Black));
    for (role, s) in all_styles(&dark) {
        let under = s.bg.or(screen);
        assert_ne!(s.fg, under, "dark {role} vanishes on 16 colours");
    }
    // A border a little lighter than the screen: both are nearest to black, so the border
    // takes the next nearest colour.
    let subtle = dark_with("border", r##"border = { fg = "#1c2026" }"##);
    let subtle = Theme::parse("subtle", Path::new("subtle.toml"), &subtle).unwrap();
    assert_eq!(nearest_ansi(Color::Rgb(0x1c, 0x20, 0x26)), Color::Black);
    let subtle = for_terminal(subtle, false, 16);
    assert_eq!(subtle.style(Role::Border).fg, Some(Color::DarkGray));
    // A foreground the theme itself puts on its own colour is left alone.
    let same = dark_with("badge", r##"badge = { fg = "#10141a", bg = "#10141a" }"##);
    let same = Theme::parse("same", Path::new("same.toml"), &same).unwrap();
    let badge = for_terminal(same, false, 16).style(Role::Badge);
    assert_eq!(
        (badge.fg, badge.bg),
        (Some(Color::Black), Some(Color::Black))
    );
    // Text on a coloured bar stays readable too.
    let light = for_terminal(Theme::builtin("light").unwrap(), false, 16);
    for (role, s) in all_styles(&light) {
        if let (Some(fg), Some(bg)) = (s.fg, s.bg) {
            assert_ne!(fg, bg, "light {role}");
        }
    }
}

#[test]
fn no_color_drops_every_colour_and_reverses_the_selection() {
    for name in Theme::names() {
        let theme = Theme::builtin(name).unwrap();
        for colors in [256, 16, u16::MAX] {
            let t = for_terminal(theme.clone(), true, colors);
            assert_eq!(t.name(), *name);
            for (role, s) in all_styles(&t) {
                assert_eq!(
                    (s.fg, s.bg, s.underline_color),
                    (None, None, None),
                    "{name} {role}"
                );
            }
            let sel = t.style(Role::Selection);
            assert!(sel.add_modifier.contains(Modifier::REVERSED), "{name}");
            assert!(!sel.sub_modifier.contains(Modifier::REVERSED), "{name}");
            // The screen is never reversed.
            assert!(
                !t.style(Role::Background)
                    .add_modifier
                    .contains(Modifier::REVERSED)
            );
            // The states stay apart without colour.
            let states = [Role::Ok, Role::Warn, Role::Crit, Role::Unknown];
            for (i, a) in states.iter().enumerate() {
                for b in &states[i + 1..] {
                    assert_ne!(t.style(*a), t.style(*b), "{name}: {a} and {b}");
                }
            }
        }
    }
}

#[test]
fn no_color_keeps_modifiers_and_turns_backgrounds_into_reverse_video() {
    let hc = Theme::builtin("high-contrast").unwrap().monochrome();
    // The bar was black on white: now reverse video.
    assert_eq!(
        hc.style(Role::Bar),
        Style::new().add_modifier(Modifier::REVERSED)
    );
    // The header keeps bold and underline.
    assert_eq!(
        hc.style(Role::Header),
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    );
    // The dark theme's states differ only by colour: they take mono's modifiers.
    let dark = Theme::builtin("dark").unwrap().monochrome();
    let mono = Theme::builtin("mono").unwrap();
    for r in [Role::Ok, Role::Warn, Role::Crit, Role::Unknown] {
        assert_eq!(dark.style(r), mono.style(r), "{r}");
    }
    // The mono theme is already colourless.
    assert_eq!(mono.monochrome(), mono);
    // A terminal without colours is treated as NO_COLOR.
    assert_eq!(
        for_terminal(Theme::builtin("dark").unwrap(), false, 2),
        dark
    );
}

#[test]
fn states_with_their_own_modifiers_keep_them_without_colour() {
    let text = dark_with("ok", r##"ok = { fg = "green" }"##)
        .replace(
            r##"warn         = { fg = "#e3b341", bold = true }"##,
            r##"warn = { fg = "yellow", italic = true }"##,
        )
        .replace(
            r##"crit         = { fg = "#ff6a69", bold = true }"##,
            r##"crit = { fg = "red", bg = "black", bold = true }"##,
        );
    let t = Theme::parse("t", Path::new("t.toml"), &text)
        .unwrap()
        .monochrome();
    assert_eq!(t.style(Role::Ok), Style::new());
    assert_eq!(
        t.style(Role::Warn),
        Style::new().add_modifier(Modifier::ITALIC)
    );
    assert_eq!(
        t.style(Role::Crit),
        Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
    );
    assert_eq!(
        t.style(Role::Unknown),
        Style::new().add_modifier(Modifier::BOLD)
    );
}
