//! Turns a ratatui [`Buffer`] into a PNG that looks like a terminal screenshot.
//!
//! * Fixed cells sized from DejaVu Sans Mono (`assets/fonts/`, embedded) at 16 px; bold cells
//!   use the Bold face; italic is slanted.
//! * Colours: named ANSI colours and indexes with xterm's 256-colour palette, RGB as is,
//!   `Reset` as the default foreground/background of [`Options`] (the theme's background role
//!   with [`Options::for_theme`]).
//! * REVERSED swaps foreground and background, DIM fades the foreground towards the
//!   background, HIDDEN hides it, UNDERLINED and CROSSED_OUT draw lines.
//! * Box drawing (light, heavy, double, dashed, rounded) and block elements (eighths, halves,
//!   quadrants, shades, ▮) are drawn geometrically so that they join seamlessly from cell to
//!   cell; braille dots too. Everything else comes from the font, `?` when it has no glyph.
//!   Wide characters (CJK, emoji) take two cells.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::Context;
use fontdue::{Font, FontSettings, Metrics};
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use ratatui::text::Span;
use vigie::ui::theme::{Role, Theme, colour_rgb};

type Rgb = [u8; 3];

/// How to render: font size, default colours, margin.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Font size in pixels; the cell size follows (10×19 at 16 px).
    pub font_px: f32,
    /// The colour of `Color::Reset` foregrounds.
    pub default_fg: Rgb,
    /// The colour of `Color::Reset` backgrounds, and of the margin.
    pub default_bg: Rgb,
    /// Margin around the cells, in pixels, like a terminal window's padding.
    pub padding: u32,
}

impl Default for Options {
    /// The default theme's colours, 16 px, 8 px of margin.
    fn default() -> Options {
        Options::for_theme(&Theme::default())
    }
}

impl Options {
    /// `Reset` is the theme's background role (its `fg` and `bg`), or a dark terminal's
    /// default colours when the theme leaves them to the terminal (mono).
    pub fn for_theme(theme: &Theme) -> Options {
        let base = theme.style(Role::Background);
        Options {
            font_px: 16.0,
            default_fg: base.fg.and_then(colour_rgb).unwrap_or([0xd1, 0xd7, 0xe0]),
            default_bg: base.bg.and_then(colour_rgb).unwrap_or([0x10, 0x14, 0x1a]),
            padding: 8,
        }
    }

    /// The size of one cell in pixels (width, height).
    #[cfg(test)]
    pub fn cell_size(&self) -> (u32, u32) {
        let m = CellMetrics::new(fonts(), self.font_px);
        (m.w, m.h)
    }
}

/// An RGB image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// Row-major RGB triplets.
    pub data: Vec<u8>,
}

impl Image {
    fn new(width: u32, height: u32, fill: Rgb) -> Image {
        let data = fill
            .iter()
            .copied()
            .cycle()
            .take((width * height * 3) as usize)
            .collect();
        Image {
            width,
            height,
            data,
        }
    }

    /// The colour of a pixel.
    #[cfg(test)]
    pub fn pixel(&self, x: u32, y: u32) -> Rgb {
        let i = ((y * self.width + x) * 3) as usize;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    fn fill(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: Rgb) {
        self.blend_rect(x0, y0, x1, y1, c, 1.0);
    }

    fn blend_rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: Rgb, alpha: f32) {
        let (x0, x1) = (x0.max(0), x1.min(self.width as i32));
        let (y0, y1) = (y0.max(0), y1.min(self.height as i32));
        for y in y0..y1 {
            for x in x0..x1 {
                self.blend(x, y, c, alpha);
            }
        }
    }

    /// Mixes `c` into a pixel with coverage `alpha`, in linear light (as text renderers do, so
    /// that light text on dark backgrounds keeps its weight).
    fn blend(&mut self, x: i32, y: i32, c: Rgb, alpha: f32) {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 || alpha <= 0.0 {
            return;
        }
        let i = ((y as u32 * self.width + x as u32) * 3) as usize;
        if alpha >= 1.0 {
            self.data[i..i + 3].copy_from_slice(&c);
            return;
        }
        for (px, &over) in self.data[i..i + 3].iter_mut().zip(&c) {
            let (under, over) = (to_linear(*px), to_linear(over));
            *px = to_srgb(under + (over - under) * alpha);
        }
    }
}

fn to_linear(v: u8) -> f32 {
    let v = v as f32 / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn to_srgb(v: f32) -> u8 {
    let v = v.clamp(0.0, 1.0);
    let s = if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    };
    (s * 255.0).round() as u8
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let m = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
    [m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2])]
}

struct Fonts {
    regular: Font,
    bold: Font,
}

fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        let load = |bytes: &'static [u8]| {
            Font::from_bytes(bytes, FontSettings::default()).expect("DejaVu Sans Mono loads")
        };
        Fonts {
            regular: load(include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/fonts/DejaVuSansMono.ttf"
            ))),
            bold: load(include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/fonts/DejaVuSansMono-Bold.ttf"
            ))),
        }
    })
}

/// Cell geometry derived from the font.
#[derive(Debug, Clone, Copy)]
struct CellMetrics {
    w: u32,
    h: u32,
    /// Baseline, from the top of the cell.
    baseline: i32,
    /// Thickness of light lines (box drawing, underline).
    light: i32,
    /// Thickness of heavy lines.
    heavy: i32,
}

impl CellMetrics {
    fn new(fonts: &Fonts, px: f32) -> CellMetrics {
        let line = fonts
            .regular
            .horizontal_line_metrics(px)
            .expect("a horizontal font");
        let w = fonts
            .regular
            .metrics('M', px)
            .advance_width
            .round()
            .max(1.0) as u32;
        let h = line.new_line_size.ceil().max(1.0) as u32;
        let extra = h as f32 - (line.ascent - line.descent);
        let baseline = (line.ascent + extra / 2.0).round() as i32;
        let light = (px / 16.0).round().max(1.0) as i32;
        CellMetrics {
            w,
            h,
            baseline,
            light,
            heavy: light * 2 + 1,
        }
    }
}

#[derive(Hash, PartialEq, Eq, Clone, Copy)]
struct GlyphKey {
    c: char,
    bold: bool,
}

struct Rasterizer<'f> {
    fonts: &'f Fonts,
    px: f32,
    m: CellMetrics,
    glyphs: HashMap<GlyphKey, (Metrics, Vec<u8>)>,
}

impl<'f> Rasterizer<'f> {
    fn glyph(&mut self, c: char, bold: bool) -> &(Metrics, Vec<u8>) {
        let (fonts, px) = (self.fonts, self.px);
        self.glyphs.entry(GlyphKey { c, bold }).or_insert_with(|| {
            let font = if bold && fonts.bold.has_glyph(c) {
                &fonts.bold
            } else {
                &fonts.regular
            };
            font.rasterize(c, px)
        })
    }

    fn has_glyph(&self, c: char) -> bool {
        self.fonts.regular.has_glyph(c)
    }

    /// Draws a character from the font with its origin at the left of a `cells`-wide box.
    #[allow(clippy::too_many_arguments)]
    fn draw_glyph(
        &mut self,
        img: &mut Image,
        x: i32,
        y: i32,
        cells: u32,
        c: char,
        bold: bool,
        italic: bool,
        fg: Rgb,
    ) {
        let m = self.m;
        let (metrics, coverage) = self.glyph(c, bold);
        // Centre the advance in the box (the advance is a bit narrower than the cell).
        let slack = (m.w * cells) as f32 - metrics.advance_width;
        let left = x + (slack / 2.0).floor() as i32 + metrics.xmin;
        let top = y + m.baseline - metrics.ymin - metrics.height as i32;
        for gy in 0..metrics.height {
            let py = top + gy as i32;
            let shear = if italic {
                ((y + m.baseline - py) as f32 * 0.2).round() as i32 - 1
            } else {
                0
            };
            for gx in 0..metrics.width {
                let a = coverage[gy * metrics.width + gx];
                if a > 0 {
                    img.blend(left + gx as i32 + shear, py, fg, a as f32 / 255.0);
                }
            }
        }
    }
}

impl Rasterizer<'_> {
    /// Draws the grapheme of a cell: geometrically, or from the font (`?` if it has no glyph
    /// for the first character; combining marks it lacks are left out).
    fn draw_symbol(
        &mut self,
        img: &mut Image,
        (x, y): (i32, i32),
        cells: u32,
        symbol: &str,
        modifier: Modifier,
        look: &Look,
    ) {
        let mut chars = symbol.chars();
        let Some(first) = chars.next() else { return };
        if first == ' ' || draw_geometric(img, &self.m, x, y, first, look.fg, look.bg) {
            return;
        }
        let bold = modifier.contains(Modifier::BOLD);
        let italic = modifier.contains(Modifier::ITALIC);
        let first = if self.has_glyph(first) { first } else { '?' };
        let fonts = self.fonts;
        for c in std::iter::once(first).chain(chars.filter(|&c| fonts.regular.has_glyph(c))) {
            self.draw_glyph(img, x, y, cells, c, bold, italic, look.fg);
        }
    }
}

/// Renders the buffer and writes it as a PNG.
pub fn buffer_to_png_with(buffer: &Buffer, path: &Path, options: &Options) -> anyhow::Result<()> {
    let img = render(buffer, options);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), img.width, img.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder
        .write_header()
        .with_context(|| format!("writing {}", path.display()))?;
    writer
        .write_image_data(&img.data)
        .with_context(|| format!("writing {}", path.display()))?;
    writer
        .finish()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The resolved colours and attributes of one cell.
struct Look {
    fg: Rgb,
    bg: Rgb,
    line: Rgb,
}

fn look(cell: &ratatui::buffer::Cell, o: &Options) -> Look {
    let mut fg = colour_rgb(cell.fg).unwrap_or(o.default_fg);
    let mut bg = colour_rgb(cell.bg).unwrap_or(o.default_bg);
    let m = cell.modifier;
    if m.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    if m.contains(Modifier::DIM) {
        fg = mix(fg, bg, 0.45);
    }
    if m.contains(Modifier::HIDDEN) {
        fg = bg;
    }
    let line = match cell.underline_color {
        Color::Reset => fg,
        c => colour_rgb(c).unwrap_or(fg),
    };
    Look { fg, bg, line }
}

/// Renders the buffer into an image: `padding` + cells + `padding` in each direction.
pub fn render(buffer: &Buffer, o: &Options) -> Image {
    let fonts = fonts();
    let m = CellMetrics::new(fonts, o.font_px);
    let area = buffer.area;
    let pad = o.padding as i32;
    let width = area.width as u32 * m.w + 2 * o.padding;
    let height = area.height as u32 * m.h + 2 * o.padding;
    let mut img = Image::new(width, height, o.default_bg);
    let mut r = Rasterizer {
        fonts,
        px: o.font_px,
        m,
        glyphs: HashMap::new(),
    };
    let origin = |col: u16, row: u16| {
        (
            pad + (col as u32 * m.w) as i32,
            pad + (row as u32 * m.h) as i32,
        )
    };

    // The cells to draw: (column, row, width in cells), wide characters covering the cells
    // after them the way a terminal shows them.
    let mut cells = Vec::new();
    for row in 0..area.height {
        let mut col = 0;
        while col < area.width {
            let cell = &buffer[(area.x + col, area.y + row)];
            let w = (Span::raw(cell.symbol()).width().max(1) as u16).min(area.width - col);
            cells.push((col, row, w));
            col += w;
        }
    }

    // Backgrounds first, so that glyphs may overhang their cell.
    for &(col, row, w) in &cells {
        let cell = &buffer[(area.x + col, area.y + row)];
        let (x, y) = origin(col, row);
        let look = look(cell, o);
        img.fill(x, y, x + (w as u32 * m.w) as i32, y + m.h as i32, look.bg);
    }

    for &(col, row, w) in &cells {
        let cell = &buffer[(area.x + col, area.y + row)];
        let (x, y) = origin(col, row);
        let look = look(cell, o);
        let modifier = cell.modifier;
        if !modifier.contains(Modifier::HIDDEN) {
            r.draw_symbol(&mut img, (x, y), w as u32, cell.symbol(), modifier, &look);
        }
        let x1 = x + (w as u32 * m.w) as i32;
        if modifier.contains(Modifier::UNDERLINED) {
            let uy = y + m.baseline + (m.h as i32 - m.baseline) / 3;
            img.fill(x, uy, x1, uy + m.light, look.line);
        }
        if modifier.contains(Modifier::CROSSED_OUT) {
            let sy = y + m.baseline - (o.font_px * 0.3).round() as i32;
            img.fill(x, sy, x1, sy + m.light, look.fg);
        }
    }
    img
}

// ---------------------------------------------------------------------------------------------
// Geometric characters

/// The weight of one arm of a box-drawing character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum W {
    None,
    Light,
    Heavy,
    Double,
}

/// Arms in the order up, right, down, left.
type Arms = [W; 4];
const UP: usize = 0;
const RIGHT: usize = 1;
const DOWN: usize = 2;
const LEFT: usize = 3;

/// The box-drawing characters made of straight arms (U+2500–U+257F except dashes, arcs and
/// diagonals), as "up right down left" with `.` none, `l` light, `h` heavy, `d` double.
const BOX: &[(char, &str)] = &[
    ('─', ".l.l"),
    ('━', ".h.h"),
    ('│', "l.l."),
    ('┃', "h.h."),
    ('┌', ".ll."),
    ('┍', ".hl."),
    ('┎', ".lh."),
    ('┏', ".hh."),
    ('┐', "..ll"),
    ('┑', "..lh"),
    ('┒', "..hl"),
    ('┓', "..hh"),
    ('└', "ll.."),
    ('┕', "lh.."),
    ('┖', "hl.."),
    ('┗', "hh.."),
    ('┘', "l..l"),
    ('┙', "l..h"),
    ('┚', "h..l"),
    ('┛', "h..h"),
    ('├', "lll."),
    ('┝', "lhl."),
    ('┞', "hll."),
    ('┟', "llh."),
    ('┠', "hlh."),
    ('┡', "hhl."),
    ('┢', "lhh."),
    ('┣', "hhh."),
    ('┤', "l.ll"),
    ('┥', "l.lh"),
    ('┦', "h.ll"),
    ('┧', "l.hl"),
    ('┨', "h.hl"),
    ('┩', "h.lh"),
    ('┪', "l.hh"),
    ('┫', "h.hh"),
    ('┬', ".lll"),
    ('┭', ".llh"),
    ('┮', ".hll"),
    ('┯', ".hlh"),
    ('┰', ".lhl"),
    ('┱', ".lhh"),
    ('┲', ".hhl"),
    ('┳', ".hhh"),
    ('┴', "ll.l"),
    ('┵', "ll.h"),
    ('┶', "lh.l"),
    ('┷', "lh.h"),
    ('┸', "hl.l"),
    ('┹', "hl.h"),
    ('┺', "hh.l"),
    ('┻', "hh.h"),
    ('┼', "llll"),
    ('┽', "lllh"),
    ('┾', "lhll"),
    ('┿', "lhlh"),
    ('╀', "hlll"),
    ('╁', "llhl"),
    ('╂', "hlhl"),
    ('╃', "hllh"),
    ('╄', "hhll"),
    ('╅', "llhh"),
    ('╆', "lhhl"),
    ('╇', "hhlh"),
    ('╈', "lhhh"),
    ('╉', "hlhh"),
    ('╊', "hhhl"),
    ('╋', "hhhh"),
    ('═', ".d.d"),
    ('║', "d.d."),
    ('╒', ".dl."),
    ('╓', ".ld."),
    ('╔', ".dd."),
    ('╕', "..ld"),
    ('╖', "..dl"),
    ('╗', "..dd"),
    ('╘', "ld.."),
    ('╙', "dl.."),
    ('╚', "dd.."),
    ('╛', "l..d"),
    ('╜', "d..l"),
    ('╝', "d..d"),
    ('╞', "ldl."),
    ('╟', "dld."),
    ('╠', "ddd."),
    ('╡', "l.ld"),
    ('╢', "d.dl"),
    ('╣', "d.dd"),
    ('╤', ".dld"),
    ('╥', ".ldl"),
    ('╦', ".ddd"),
    ('╧', "ld.d"),
    ('╨', "dl.l"),
    ('╩', "dd.d"),
    ('╪', "ldld"),
    ('╫', "dldl"),
    ('╬', "dddd"),
    ('╴', "...l"),
    ('╵', "l..."),
    ('╶', ".l.."),
    ('╷', "..l."),
    ('╸', "...h"),
    ('╹', "h..."),
    ('╺', ".h.."),
    ('╻', "..h."),
    ('╼', ".h.l"),
    ('╽', "l.h."),
    ('╾', ".l.h"),
    ('╿', "h.l."),
];

fn box_arms(c: char) -> Option<Arms> {
    let (_, code) = BOX.iter().find(|(b, _)| *b == c)?;
    let mut arms = [W::None; 4];
    for (arm, b) in arms.iter_mut().zip(code.bytes()) {
        *arm = match b {
            b'l' => W::Light,
            b'h' => W::Heavy,
            b'd' => W::Double,
            _ => W::None,
        };
    }
    Some(arms)
}

/// Draws `c` geometrically if it is a box-drawing, block or braille character; `false` for
/// characters left to the font.
fn draw_geometric(
    img: &mut Image,
    m: &CellMetrics,
    x: i32,
    y: i32,
    c: char,
    fg: Rgb,
    bg: Rgb,
) -> bool {
    let (w, h) = (m.w as i32, m.h as i32);
    if let Some(arms) = box_arms(c) {
        draw_box(img, m, x, y, arms, fg);
        return true;
    }
    // Fractions of the cell, rounded so that neighbouring cells meet exactly.
    let fy = |num: i32, den: i32| (h * num + den / 2) / den;
    let fx = |num: i32, den: i32| (w * num + den / 2) / den;
    let mut rect =
        |x0: i32, y0: i32, x1: i32, y1: i32| img.fill(x + x0, y + y0, x + x1, y + y1, fg);
    match c {
        // Lower eighths: ▁▂▃▄▅▆▇█
        '\u{2581}'..='\u{2588}' => {
            let k = c as i32 - 0x2580;
            rect(0, h - fy(k, 8), w, h);
        }
        '▀' => rect(0, 0, w, fy(1, 2)),
        '▔' => rect(0, 0, w, fy(1, 8)),
        // Left eighths: ▉▊▋▌▍▎▏ (7/8 down to 1/8)
        '\u{2589}'..='\u{258F}' => {
            let k = 0x2590 - c as i32;
            rect(0, 0, fx(k, 8), h);
        }
        '▐' => rect(fx(1, 2), 0, w, h),
        '▕' => rect(w - fx(1, 8), 0, w, h),
        // Quadrants ▖▗▘▙▚▛▜▝▞▟: bits upper-left, upper-right, lower-left, lower-right.
        '\u{2596}'..='\u{259F}' => {
            const Q: [u8; 10] = [
                0b0010, 0b0001, 0b1000, 0b1011, 0b1001, 0b1110, 0b1101, 0b0100, 0b0110, 0b0111,
            ];
            let q = Q[c as usize - 0x2596];
            let (mx, my) = (fx(1, 2), fy(1, 2));
            if q & 0b1000 != 0 {
                rect(0, 0, mx, my);
            }
            if q & 0b0100 != 0 {
                rect(mx, 0, w, my);
            }
            if q & 0b0010 != 0 {
                rect(0, my, mx, h);
            }
            if q & 0b0001 != 0 {
                rect(mx, my, w, h);
            }
        }
        // Shades ░▒▓: flat tints rather than dither patterns.
        '░' | '▒' | '▓' => {
            let a = match c {
                '░' => 0.25,
                '▒' => 0.5,
                _ => 0.75,
            };
            img.fill(x, y, x + w, y + h, mix(bg, fg, a));
        }
        // ▮ black vertical rectangle: a tall bar between the cap height and the baseline.
        '▮' => {
            let bw = fx(3, 5).max(1);
            let x0 = (w - bw) / 2;
            rect(x0, fy(1, 5), x0 + bw, m.baseline);
        }
        // Dashed lines: ╌╍╎╏ (2), ┄┅┆┇ (3), ┈┉┊┋ (4).
        '╌' | '╍' | '┄' | '┅' | '┈' | '┉' => {
            let (n, t) = dashes(c, m);
            let y0 = h / 2 - t / 2;
            for k in 0..n {
                let (a, b) = (w * k / n, w * (k + 1) / n);
                let gap = ((b - a) / 3).max(1);
                rect(a + gap / 2, y0, b - (gap - gap / 2), y0 + t);
            }
        }
        '╎' | '╏' | '┆' | '┇' | '┊' | '┋' => {
            let (n, t) = dashes(c, m);
            let x0 = w / 2 - t / 2;
            for k in 0..n {
                let (a, b) = (h * k / n, h * (k + 1) / n);
                let gap = ((b - a) / 3).max(1);
                rect(x0, a + gap / 2, x0 + t, b - (gap - gap / 2));
            }
        }
        '╭' | '╮' | '╯' | '╰' => draw_arc(img, m, x, y, c, fg),
        // Braille: 2×4 dots.
        '\u{2800}'..='\u{28FF}' => {
            let bits = c as u32 - 0x2800;
            const DOTS: [(i32, i32); 8] = [
                (0, 0),
                (0, 1),
                (0, 2),
                (1, 0),
                (1, 1),
                (1, 2),
                (0, 3),
                (1, 3),
            ];
            let s = (w / 4).max(1);
            for (i, (dx, dy)) in DOTS.iter().enumerate() {
                if bits & (1 << i) != 0 {
                    let cx = fx(1 + 2 * dx, 4);
                    let cy = fy(1 + 2 * dy, 8);
                    rect(cx - s / 2, cy - s / 2, cx - s / 2 + s, cy - s / 2 + s);
                }
            }
        }
        _ => return false,
    }
    true
}

/// Number of dashes and thickness of a dashed box-drawing character.
fn dashes(c: char, m: &CellMetrics) -> (i32, i32) {
    let n = match c {
        '╌' | '╍' | '╎' | '╏' => 2,
        '┄' | '┅' | '┆' | '┇' => 3,
        _ => 4,
    };
    let heavy = matches!(c, '╍' | '╏' | '┅' | '┇' | '┉' | '┋');
    (n, if heavy { m.heavy } else { m.light })
}

fn thickness(m: &CellMetrics, w: W) -> i32 {
    match w {
        W::None => 0,
        W::Light | W::Double => m.light,
        W::Heavy => m.heavy,
    }
}

/// Draws a box-drawing character from its arms. Each arm runs from the centre of the cell to
/// the middle of an edge, so arms of neighbouring cells meet; arms reach back over the centre
/// far enough to close the joints with the crossing arms.
fn draw_box(img: &mut Image, m: &CellMetrics, x: i32, y: i32, arms: Arms, fg: Rgb) {
    let (w, h) = (m.w as i32, m.h as i32);
    let (cx, cy) = (w / 2, h / 2);
    // Offset of the two strokes of a double line from the centre line.
    let g = m.light + 1;
    let perpendicular = |d: usize| [(d + 1) % 4, (d + 3) % 4];
    let opposite = |d: usize| (d + 2) % 4;

    // A stroke along direction `d`, `offset` pixels off the centre line (towards right/down
    // being positive), from `start` pixels past the centre (negative: before it) to the edge.
    let mut stroke = |d: usize, offset: i32, start: i32, t: i32| {
        let half = t / 2;
        match d {
            RIGHT => img.fill(
                x + cx + start,
                y + cy + offset - half,
                x + w,
                y + cy + offset - half + t,
                fg,
            ),
            LEFT => img.fill(
                x,
                y + cy + offset - half,
                x + cx - start + 1,
                y + cy + offset - half + t,
                fg,
            ),
            DOWN => img.fill(
                x + cx + offset - half,
                y + cy + start,
                x + cx + offset - half + t,
                y + h,
                fg,
            ),
            _ => img.fill(
                x + cx + offset - half,
                y,
                x + cx + offset - half + t,
                y + cy - start + 1,
                fg,
            ),
        }
    };
    // The signed offset of the side `s` of an arm (up/left negative).
    let side_sign = |s: usize| if s == UP || s == LEFT { -1 } else { 1 };

    for d in 0..4 {
        match arms[d] {
            W::None => {}
            W::Light | W::Heavy => {
                let t = thickness(m, arms[d]);
                let reach = perpendicular(d)
                    .iter()
                    .map(|&s| match arms[s] {
                        W::None => 0,
                        W::Double => g + m.light / 2,
                        other => thickness(m, other) / 2,
                    })
                    .max()
                    .unwrap_or(0)
                    .max(t / 2);
                stroke(d, 0, -reach, t);
            }
            W::Double => {
                for s in perpendicular(d) {
                    let start = match (arms[s], arms[opposite(d)], arms[opposite(s)]) {
                        (W::Double, _, _) => g,
                        (W::Light | W::Heavy, _, _) => -(thickness(m, arms[s]) / 2),
                        (W::None, o, _) if o != W::None => 0,
                        (W::None, _, W::Double) => -g,
                        (W::None, _, other) => -(thickness(m, other) / 2),
                    };
                    stroke(d, side_sign(s) * g, start, m.light);
                }
            }
        }
    }
}

/// Rounded corners ╭╮╯╰: a quarter circle joining the middles of two edges, anti-aliased.
fn draw_arc(img: &mut Image, m: &CellMetrics, x: i32, y: i32, c: char, fg: Rgb) {
    let (w, h) = (m.w as i32, m.h as i32);
    let (cx, cy) = (w / 2, h / 2);
    let t = m.light as f32;
    // Which edges the arc joins.
    let (right, down) = match c {
        '╭' => (true, true),
        '╮' => (false, true),
        '╯' => (false, false),
        _ => (true, false),
    };
    let r = (cx.min(w - cx).min(cy).min(h - cy) - 1).max(1) as f32;
    // Centre of the circle, in pixel-centre coordinates of the cell.
    let ox = cx as f32 + 0.5 + if right { r } else { -r };
    let oy = cy as f32 + 0.5 + if down { r } else { -r };
    // The straight parts from the end of the arc to the edges.
    let hx = if right {
        (ox.floor() as i32, w)
    } else {
        (0, ox.ceil() as i32)
    };
    let vy = if down {
        (oy.floor() as i32, h)
    } else {
        (0, oy.ceil() as i32)
    };
    let half = m.light / 2;
    img.fill(
        x + hx.0,
        y + cy - half,
        x + hx.1,
        y + cy - half + m.light,
        fg,
    );
    img.fill(
        x + cx - half,
        y + vy.0,
        x + cx - half + m.light,
        y + vy.1,
        fg,
    );
    // The arc: the quadrant of the circle facing the corner.
    for py in 0..h {
        for px in 0..w {
            let (fxp, fyp) = (px as f32 + 0.5, py as f32 + 0.5);
            let in_quadrant = (if right { fxp <= ox } else { fxp >= ox })
                && (if down { fyp <= oy } else { fyp >= oy });
            if !in_quadrant {
                continue;
            }
            let d = ((fxp - ox).powi(2) + (fyp - oy).powi(2)).sqrt();
            let cover = (t / 2.0 + 0.5 - (d - r).abs()).clamp(0.0, 1.0);
            img.blend(x + px, y + py, fg, cover);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::BufReader::new(File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut data = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut data).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        data.truncate(info.buffer_size());
        (info.width, info.height, data)
    }

    #[test]
    fn a_10x3_buffer_becomes_a_png_with_a_red_cell() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 10, 3));
        buffer.set_string(0, 0, "vigie", Style::new().fg(Color::White));
        buffer[(3, 1)].set_symbol(" ").set_bg(Color::Red);
        buffer[(4, 1)].set_symbol("█").set_fg(Color::Rgb(255, 0, 0));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.png");
        let o = Options::default();
        buffer_to_png_with(&buffer, &path, &o).unwrap();

        let (cw, ch) = o.cell_size();
        assert_eq!((cw, ch), (10, 19));
        let (width, height, data) = decode(&path);
        assert_eq!(width, 10 * cw + 2 * o.padding);
        assert_eq!(height, 3 * ch + 2 * o.padding);
        let px = |x: u32, y: u32| {
            let i = ((y * width + x) * 3) as usize;
            [data[i], data[i + 1], data[i + 2]]
        };
        // Every pixel of the red cells is red (xterm's red, then pure red).
        for (col, red) in [(3, [205, 0, 0]), (4, [255, 0, 0])] {
            let (x0, y0) = (o.padding + col * cw, o.padding + ch);
            for y in y0..y0 + ch {
                for x in x0..x0 + cw {
                    assert_eq!(px(x, y), red, "pixel {x},{y} of cell {col},1");
                }
            }
        }
        // The margin and the empty cells are the default background; text is drawn.
        assert_eq!(px(0, 0), o.default_bg);
        assert_eq!(
            px(o.padding + 9 * cw + 5, o.padding + 2 * ch + 5),
            o.default_bg
        );
        let text = (o.padding..o.padding + 5 * cw)
            .flat_map(|x| (o.padding..o.padding + ch).map(move |y| (x, y)))
            .filter(|&(x, y)| px(x, y) != o.default_bg)
            .count();
        assert!(text > 40, "{text} pixels of text");
    }

    #[test]
    fn box_lines_join_across_cells() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 3, 3));
        buffer.set_string(0, 0, "┌─┐", Style::new());
        buffer.set_string(0, 1, "│ ║", Style::new());
        buffer.set_string(0, 2, "└━╝", Style::new());
        let o = Options {
            padding: 0,
            ..Options::default()
        };
        let img = render(&buffer, &o);
        let (cw, ch) = o.cell_size();
        let fg = o.default_fg;
        // The top line is continuous along the whole middle row of the first line.
        let row = ch / 2;
        for x in cw / 2..3 * cw - cw / 2 {
            assert_eq!(img.pixel(x, row), fg, "x={x}");
        }
        // The left line is continuous from the first row's middle to the last one's.
        for y in ch / 2..3 * ch - ch / 2 {
            assert_eq!(img.pixel(cw / 2, y), fg, "y={y}");
        }
    }

    #[test]
    fn reverse_and_reset_colours() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 2, 1));
        buffer[(0, 0)]
            .set_symbol(" ")
            .set_fg(Color::Indexed(21))
            .set_style(Style::new().add_modifier(Modifier::REVERSED));
        let o = Options {
            padding: 0,
            ..Options::default()
        };
        let img = render(&buffer, &o);
        assert_eq!(img.pixel(2, 2), [0, 0, 255]);
        assert_eq!(img.pixel(12, 2), o.default_bg);
    }
}
