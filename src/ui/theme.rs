//! Colour themes: TOML files that give a style to each semantic [`Role`] of the console.
//!
//! A theme file maps every role to a style table:
//!
//! ```toml
//! ok   = { fg = "green", bold = true }
//! crit = { fg = "#f85149", bg = 52, bold = true, underlined = true }
//! ```
//!
//! * `fg`, `bg`: a colour, either one of the 16 ANSI names (`black`, `red`, `green`, `yellow`,
//!   `blue`, `magenta`, `cyan`, `gray`/`grey`, `darkgray`, `lightred`, `lightgreen`,
//!   `lightyellow`, `lightblue`, `lightmagenta`, `lightcyan`, `white`), `"reset"` (the
//!   terminal's own default), `"#rrggbb"`, or an index 0–255 of the 256-colour palette. Beware
//!   the ANSI naming: `gray` is colour 7 (often called "white") and `white` is colour 15 (bright
//!   white). An absent `fg`/`bg` leaves the colour underneath unchanged.
//! * `bold`, `dim`, `italic`, `underlined`, `reversed`: `true` adds the modifier, `false`
//!   removes it from what is underneath (e.g. a badge inside a reverse-video bar), absent leaves
//!   it alone.
//!
//! Every theme must define every role; unknown roles and unknown style fields are errors, and
//! errors name the file, the line and the column. The four themes of `themes/` are built into
//! the binary; [`Theme::load`] looks a name up in `$XDG_CONFIG_HOME/vigie/themes/NAME.toml`
//! first, so a user can override or add themes without touching the installation.
//!
//! Terminals without colour: [`for_terminal`] adapts a theme to `NO_COLOR` (every colour
//! dropped, selection in reverse video, states kept apart by modifiers) and to 16-colour
//! terminals (every colour mapped to the nearest ANSI colour).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use crate::config::Location;

/// What a piece of the console means; a theme gives each one a style.
///
/// Styles are patched over one another the way ratatui does: the console paints the
/// [`Role::Background`] over the whole screen, then draws text, borders and states over it, so
/// a role that sets no `bg` keeps the background's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// State OK (the state word and its marks).
    Ok,
    /// State WARN.
    Warn,
    /// State CRIT.
    Crit,
    /// State UNK: not measured, unreachable, stale.
    Unknown,
    /// The selected row or item; must stay visible without colour (reverse video).
    Selection,
    /// Pane borders.
    Border,
    /// The border of the pane that has the focus.
    BorderFocus,
    /// Pane titles.
    Title,
    /// Secondary text: ages, units, hints, the empty part of meters.
    Muted,
    /// Ordinary text.
    Text,
    /// The whole screen, painted first: `fg` and `bg` are the console's defaults.
    Background,
    /// Emphasis that is not a state: the current step, links, the active site.
    Accent,
    /// Column headers of tables.
    Header,
    /// The top bar (site, overall state, clock, operator) and the bottom key-hint line.
    Bar,
    /// The current screen in the tab line.
    TabActive,
    /// Badges such as ⟨RO⟩ (read-only) in the top bar.
    Badge,
    /// Key names in hints and in the help screen.
    Key,
    /// Sparklines, filled part of meters, timeline marks (when no state colours them).
    Gauge,
}

impl Role {
    /// Every role, in the order of theme files.
    pub const ALL: [Role; 18] = [
        Role::Ok,
        Role::Warn,
        Role::Crit,
        Role::Unknown,
        Role::Selection,
        Role::Border,
        Role::BorderFocus,
        Role::Title,
        Role::Muted,
        Role::Text,
        Role::Background,
        Role::Accent,
        Role::Header,
        Role::Bar,
        Role::TabActive,
        Role::Badge,
        Role::Key,
        Role::Gauge,
    ];

    /// The key of the role in a theme file.
    pub fn key(self) -> &'static str {
        match self {
            Role::Ok => "ok",
            Role::Warn => "warn",
            Role::Crit => "crit",
            Role::Unknown => "unknown",
            Role::Selection => "selection",
            Role::Border => "border",
            Role::BorderFocus => "border_focus",
            Role::Title => "title",
            Role::Muted => "muted",
            Role::Text => "text",
            Role::Background => "background",
            Role::Accent => "accent",
            Role::Header => "header",
            Role::Bar => "bar",
            Role::TabActive => "tab_active",
            Role::Badge => "badge",
            Role::Key => "key",
            Role::Gauge => "gauge",
        }
    }

    /// The role of a theme-file key.
    pub fn from_key(key: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == key)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A complete theme: one style per [`Role`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    name: String,
    styles: [Style; Role::ALL.len()],
}

const BUILTINS: [(&str, &str); 4] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

const BUILTIN_NAMES: [&str; 4] = ["dark", "light", "high-contrast", "mono"];

impl Theme {
    /// The theme named `name`, resolved as [`Theme::load_from_dir`] does with the user's theme
    /// directory ([`user_theme_dir`]).
    pub fn load(name: &str) -> Result<Theme, ThemeError> {
        Theme::load_from_dir(name, user_theme_dir().as_deref())
    }

    /// The theme named `name`:
    /// * a path (contains `/` or ends in `.toml`) is read as is;
    /// * otherwise `USER_DIR/NAME.toml` if that file exists (a user theme, which may override a
    ///   built-in), else the built-in theme of that name.
    pub fn load_from_dir(name: &str, user_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        if name.contains('/') || name.ends_with(".toml") {
            return Theme::from_file(Path::new(name));
        }
        let mut searched = Vec::new();
        if let Some(dir) = user_dir
            && !name.is_empty()
        {
            let path = dir.join(format!("{name}.toml"));
            if path.is_file() {
                return Theme::from_file(&path);
            }
            searched.push(path);
        }
        Theme::builtin(name).ok_or_else(|| ThemeError::NotFound {
            name: name.to_string(),
            searched,
        })
    }

    /// A theme built into the binary (one of [`Theme::names`]).
    pub fn builtin(name: &str) -> Option<Theme> {
        let (name, text) = BUILTINS.iter().find(|(n, _)| *n == name)?;
        let origin = PathBuf::from(format!("themes/{name}.toml"));
        // The built-in files are checked by the tests; a broken one is a bug, not user input.
        Some(Theme::parse(name, &origin, text).expect("built-in themes are valid"))
    }

    /// The names of the built-in themes, the default first.
    pub fn names() -> &'static [&'static str] {
        &BUILTIN_NAMES
    }

    /// Reads a theme file; the theme is named after the file (without `.toml`).
    pub fn from_file(path: &Path) -> Result<Theme, ThemeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ThemeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Theme::parse(&name, path, &text)
    }

    /// Parses the text of a theme file; `origin` is the file named in errors.
    pub fn parse(name: &str, origin: &Path, text: &str) -> Result<Theme, ThemeError> {
        let invalid = |problems: Vec<ThemeProblem>| ThemeError::Invalid {
            path: origin.to_path_buf(),
            problems,
        };
        let raw: BTreeMap<Spanned<String>, Spanned<RawStyle>> =
            toml::from_str(text).map_err(|e| {
                let location = e.span().map(|s| Location::of_offset(text, s.start));
                invalid(vec![ThemeProblem {
                    location,
                    message: toml_message(&e, text),
                }])
            })?;

        let mut problems = Vec::new();
        let mut styles: [Option<Style>; Role::ALL.len()] = [None; Role::ALL.len()];
        for (key, value) in &raw {
            let Some(role) = Role::from_key(key.get_ref()) else {
                problems.push(ThemeProblem {
                    location: Some(Location::of_offset(text, key.span().start)),
                    message: format!(
                        "unknown role `{}`, expected one of: {}",
                        key.get_ref(),
                        role_list(Role::ALL.iter().copied())
                    ),
                });
                continue;
            };
            match value.get_ref().to_style(text) {
                Ok(style) => styles[role.index()] = Some(style),
                Err(mut p) => problems.append(&mut p),
            }
        }
        let missing: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| !raw.keys().any(|k| k.get_ref() == r.key()))
            .collect();
        if !missing.is_empty() {
            problems.push(ThemeProblem {
                location: None,
                message: format!(
                    "missing role{} {}: a theme must give a style to every role \
                     (write `{} = {{}}` to keep the terminal's default)",
                    if missing.len() == 1 { "" } else { "s" },
                    role_list(missing.iter().copied()),
                    missing[0].key(),
                ),
            });
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| (p.location.is_none(), p.location));
            return Err(invalid(problems));
        }
        Ok(Theme {
            name: name.to_string(),
            styles: styles.map(|s| s.unwrap_or_default()),
        })
    }

    /// The style of a role.
    pub fn style(&self, role: Role) -> Style {
        self.styles[role.index()]
    }

    /// The theme's name (a built-in's name or the file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The theme without any colour, for `NO_COLOR` and terminals without colours:
    /// * every colour is dropped, modifiers are kept;
    /// * a role that had a background colour (a bar, a badge, the active tab) is shown in
    ///   reverse video instead, except the background itself;
    /// * the selection is always in reverse video;
    /// * if the four states (ok, warn, crit, unknown) are no longer told apart by their
    ///   modifiers, they take those of the `mono` theme (plain, bold, bold reversed,
    ///   underlined).
    pub fn monochrome(&self) -> Theme {
        let mut styles = self.styles.map(|s| {
            let had_bg = matches!(s.bg, Some(c) if c != Color::Reset);
            let mut out = Style::new()
                .add_modifier(s.add_modifier)
                .remove_modifier(s.sub_modifier);
            if had_bg && !s.add_modifier.contains(Modifier::REVERSED) {
                out = out.add_modifier(Modifier::REVERSED);
            }
            out
        });
        styles[Role::Background.index()] = Style::new()
            .add_modifier(self.style(Role::Background).add_modifier - Modifier::REVERSED)
            .remove_modifier(self.style(Role::Background).sub_modifier);
        let sel = &mut styles[Role::Selection.index()];
        *sel = sel.add_modifier(Modifier::REVERSED);
        let states = [Role::Ok, Role::Warn, Role::Crit, Role::Unknown];
        let distinct = states.iter().enumerate().all(|(i, a)| {
            states[i + 1..]
                .iter()
                .all(|b| styles[a.index()] != styles[b.index()])
        });
        if !distinct {
            let mono = Theme::builtin("mono").expect("mono is built in");
            for r in states {
                styles[r.index()] = mono.style(r);
            }
        }
        Theme {
            name: self.name.clone(),
            styles,
        }
    }

    /// The theme with every colour mapped to the nearest of the 16 ANSI colours (see
    /// [`nearest_ansi`]), keeping each foreground apart from the background it is drawn on.
    pub fn ansi16(&self) -> Theme {
        let screen_bg = self.style(Role::Background).bg.map(nearest_ansi);
        let styles = self.styles.map(|s| {
            let bg = s.bg.map(nearest_ansi);
            let under = bg.or(screen_bg);
            let fg = s.fg.map(|fg| {
                let original_under = s.bg.or(self.style(Role::Background).bg);
                match (under, original_under) {
                    (Some(u), Some(ou)) if ou != fg => nearest_ansi_not(fg, u),
                    _ => nearest_ansi(fg),
                }
            });
            Style {
                fg,
                bg,
                underline_color: s.underline_color.map(nearest_ansi),
                ..s
            }
        });
        Theme {
            name: self.name.clone(),
            styles,
        }
    }
}

impl Default for Theme {
    /// The `dark` theme.
    fn default() -> Theme {
        Theme::builtin("dark").expect("dark is built in")
    }
}

/// The theme as the terminal can show it: [`Theme::monochrome`] when `no_color` (the
/// `NO_COLOR` convention, <https://no-color.org>: see [`no_color_env`]) or when the terminal has
/// fewer than 8 colours; [`Theme::ansi16`] when it has at most 16 colours (`colors` as reported
/// by e.g. `crossterm::style::available_color_count()`); the theme unchanged otherwise.
pub fn for_terminal(theme: Theme, no_color: bool, colors: u16) -> Theme {
    if no_color || colors < 8 {
        theme.monochrome()
    } else if colors <= 16 {
        theme.ansi16()
    } else {
        theme
    }
}

/// Whether `NO_COLOR` asks for no colour: set and not empty, whatever its value.
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Where user themes live: `$XDG_CONFIG_HOME/vigie/themes`, or `~/.config/vigie/themes` when
/// `XDG_CONFIG_HOME` is unset, empty or relative (as the XDG base directory spec says).
pub fn user_theme_dir() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(config.join("vigie").join("themes"))
}

/// One thing wrong with a theme file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeProblem {
    /// Where in the file; `None` for problems of the whole file (missing roles).
    pub location: Option<Location>,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Why a theme could not be loaded.
#[derive(Debug)]
pub enum ThemeError {
    /// No user theme file and no built-in theme of that name.
    NotFound {
        name: String,
        searched: Vec<PathBuf>,
    },
    /// The theme file could not be read.
    Read { path: PathBuf, source: io::Error },
    /// The theme file is not a valid theme: one or more problems, in file order.
    Invalid {
        path: PathBuf,
        problems: Vec<ThemeProblem>,
    },
}

impl fmt::Display for ThemeError {
    /// One problem per line, `PATH:LINE:COL: message`, the way compilers do.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThemeError::NotFound { name, searched } => {
                write!(f, "unknown theme `{name}`: ")?;
                for p in searched {
                    write!(f, "no file {}, ", p.display())?;
                }
                write!(
                    f,
                    "and the built-in themes are {} (or give a path to a .toml file)",
                    BUILTIN_NAMES.join(", ")
                )
            }
            ThemeError::Read { path, source } => {
                let what = match source.kind() {
                    io::ErrorKind::NotFound => "no such theme file".to_string(),
                    io::ErrorKind::IsADirectory => {
                        "is a directory, expected a theme file".to_string()
                    }
                    _ => format!("cannot read the theme file: {source}"),
                };
                write!(f, "{}: {what}", path.display())
            }
            ThemeError::Invalid { path, problems } => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    match p.location {
                        Some(loc) => write!(f, "{}:{loc}: {}", path.display(), p.message)?,
                        None => write!(f, "{}: {}", path.display(), p.message)?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ThemeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ThemeError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn role_list(roles: impl Iterator<Item = Role>) -> String {
    roles.map(Role::key).collect::<Vec<_>>().join(", ")
}

/// The message of a TOML error without the snippet toml adds (we give the location ourselves).
fn toml_message(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim_end().replace('\n', "; ");
    // "duplicate key" does not say which: the span does.
    let key = e
        .span()
        .and_then(|s| text.get(s))
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.contains(['\n', '=']));
    match key {
        Some(key) if message == "duplicate key" => format!("duplicate key `{key}`"),
        _ => message,
    }
}

/// A style table as written in a theme file.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a style table such as { fg = \"green\", bold = true } \
                 (fields: fg, bg, bold, dim, italic, underlined, reversed)"
)]
struct RawStyle {
    fg: Option<Spanned<toml::Value>>,
    bg: Option<Spanned<toml::Value>>,
    bold: Option<bool>,
    dim: Option<bool>,
    italic: Option<bool>,
    underlined: Option<bool>,
    reversed: Option<bool>,
}

impl RawStyle {
    fn to_style(&self, text: &str) -> Result<Style, Vec<ThemeProblem>> {
        let mut problems = Vec::new();
        let mut colour = |v: &Option<Spanned<toml::Value>>| -> Option<Color> {
            let v = v.as_ref()?;
            match parse_colour_value(v.get_ref()) {
                Ok(c) => Some(c),
                Err(message) => {
                    problems.push(ThemeProblem {
                        location: Some(Location::of_offset(text, v.span().start)),
                        message,
                    });
                    None
                }
            }
        };
        let mut style = Style::new();
        if let Some(c) = colour(&self.fg) {
            style = style.fg(c);
        }
        if let Some(c) = colour(&self.bg) {
            style = style.bg(c);
        }
        for (flag, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underlined, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            style = match flag {
                Some(true) => style.add_modifier(m),
                Some(false) => style.remove_modifier(m),
                None => style,
            };
        }
        if problems.is_empty() {
            Ok(style)
        } else {
            Err(problems)
        }
    }
}

const EXPECTED_COLOUR: &str = "expected one of the 16 ANSI colour names (black, red, green, \
     yellow, blue, magenta, cyan, gray, darkgray, lightred, lightgreen, lightyellow, lightblue, \
     lightmagenta, lightcyan, white), \"reset\", \"#rrggbb\" or an index 0-255";

fn parse_colour_value(v: &toml::Value) -> Result<Color, String> {
    match v {
        toml::Value::String(s) => {
            parse_colour(s).ok_or_else(|| format!("unknown colour {s:?}: {EXPECTED_COLOUR}"))
        }
        toml::Value::Integer(i) => u8::try_from(*i)
            .map(Color::Indexed)
            .map_err(|_| format!("colour index {i} is out of range: expected 0-255")),
        other => Err(format!(
            "a colour cannot be a {}: {EXPECTED_COLOUR}",
            other.type_str()
        )),
    }
}

/// Parses a colour as written in theme files (see the module documentation); case, `-`, `_`
/// and spaces in names do not matter (`light-red`, `DarkGrey`).
pub fn parse_colour(s: &str) -> Option<Color> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let n = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8));
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u8>().ok().map(Color::Indexed);
    }
    let key: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Some(match key.as_str() {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

/// The 16 ANSI colours in palette order.
pub const ANSI16: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// The RGB value of entry `index` of xterm's default 256-colour palette (16 system colours,
/// a 6×6×6 cube, 24 greys).
pub fn xterm_rgb(index: u8) -> [u8; 3] {
    const SYSTEM: [[u8; 3]; 16] = [
        [0, 0, 0],
        [205, 0, 0],
        [0, 205, 0],
        [205, 205, 0],
        [0, 0, 238],
        [205, 0, 205],
        [0, 205, 205],
        [229, 229, 229],
        [127, 127, 127],
        [255, 0, 0],
        [0, 255, 0],
        [255, 255, 0],
        [92, 92, 255],
        [255, 0, 255],
        [0, 255, 255],
        [255, 255, 255],
    ];
    match index {
        0..=15 => SYSTEM[index as usize],
        16..=231 => {
            let i = index - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            [level(i / 36), level((i / 6) % 6), level(i % 6)]
        }
        232..=255 => {
            let g = 8 + 10 * (index - 232);
            [g, g, g]
        }
    }
}

/// The RGB value of a colour with xterm's palette; `None` for [`Color::Reset`] (the terminal's
/// default, which only the terminal knows).
pub fn colour_rgb(c: Color) -> Option<[u8; 3]> {
    match c {
        Color::Reset => None,
        Color::Rgb(r, g, b) => Some([r, g, b]),
        Color::Indexed(i) => Some(xterm_rgb(i)),
        named => ansi_index(named).map(xterm_rgb),
    }
}

fn ansi_index(c: Color) -> Option<u8> {
    ANSI16.iter().position(|&a| a == c).map(|i| i as u8)
}

/// The nearest of the 16 ANSI colours ([`ANSI16`]) to `c`, by perceptual ("redmean")
/// distance to xterm's palette. ANSI colours, indexes 0–15 and `Reset` map to themselves (as
/// names).
pub fn nearest_ansi(c: Color) -> Color {
    ranked_ansi(c)[0]
}

/// [`nearest_ansi`], but never `avoid` (unless `c` is `avoid` itself): a foreground stays
/// visible on its background when both would map to the same ANSI colour.
fn nearest_ansi_not(c: Color, avoid: Color) -> Color {
    let ranked = ranked_ansi(c);
    if ranked[0] != avoid || c == avoid {
        ranked[0]
    } else {
        ranked[1]
    }
}

fn ranked_ansi(c: Color) -> Vec<Color> {
    let rgb = match c {
        Color::Reset => return vec![Color::Reset, Color::Reset],
        Color::Indexed(i) if i < 16 => {
            let named = ANSI16[i as usize];
            return vec![named, named];
        }
        Color::Rgb(..) | Color::Indexed(_) => colour_rgb(c).expect("not reset"),
        named => return vec![named, named],
    };
    let mut ranked: Vec<(u32, Color)> = ANSI16
        .iter()
        .enumerate()
        .map(|(i, &a)| (redmean(rgb, xterm_rgb(i as u8)), a))
        .collect();
    ranked.sort_by_key(|(d, _)| *d);
    ranked.into_iter().map(|(_, a)| a).collect()
}

/// Squared "redmean" colour distance (a cheap approximation of perceived difference).
fn redmean(a: [u8; 3], b: [u8; 3]) -> u32 {
    let rm = (a[0] as i32 + b[0] as i32) / 2;
    let dr = a[0] as i32 - b[0] as i32;
    let dg = a[1] as i32 - b[1] as i32;
    let db = a[2] as i32 - b[2] as i32;
    (((512 + rm) * dr * dr) / 256 + 4 * dg * dg + ((767 - rm) * db * db) / 256) as u32
}
