//! Screenshots of the console as PNG files (SPEC §7).
//!
//! For now a self-test of the rasterizer: renders a small demo buffer with the dark theme to
//! `target/raster-selftest.png`. Run with `cargo run --example screenshots`; with a theme
//! name (`-- light`) it writes `target/raster-selftest-NAME.png` with that theme.

mod raster;

use std::path::Path;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Gauge, Paragraph, Sparkline, Widget};
use vigie::ui::theme::{Role, Theme};

fn demo(theme: &Theme) -> Buffer {
    let s = |r| theme.style(r);
    let area = Rect::new(0, 0, 72, 20);
    let mut buf = Buffer::empty(area);
    Block::new()
        .style(s(Role::Background))
        .render(area, &mut buf);

    let [top, body, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    Paragraph::new(Line::from(vec![
        Span::styled(" VIGIE ", s(Role::TabActive)),
        Span::raw("  1stKYC  "),
        Span::styled("▲ CRIT", s(Role::Crit)),
        Span::styled(" │ ", s(Role::Muted)),
        Span::raw("loss userdb 52m (max 2h)"),
        Span::styled(" │ ", s(Role::Muted)),
        Span::raw("23:14:05 alice "),
        Span::styled("⟨RO⟩", s(Role::Badge)),
    ]))
    .style(s(Role::Bar))
    .render(top, &mut buf);

    let [left, right] =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Fill(1)]).areas(body);
    let hosts = Block::new()
        .borders(Borders::ALL)
        .border_style(s(Role::BorderFocus))
        .title(Span::styled(" dc1 ", s(Role::Title)))
        .title_bottom(Line::styled(" ├┼┤ ═╬═ ━╋━ ┄┈╌ ", s(Role::Muted)).right_aligned());
    let rows = [
        ("CRIT", Role::Crit, "prod     ", "/srv 93% ▲", false),
        ("WARN", Role::Warn, "backup-b ", "/var 83%  ", false),
        ("OK  ", Role::Ok, "backup-a ", "/var 40%  ", true),
        ("UNK ", Role::Unknown, "drp      ", "—         ", false),
    ];
    let mut lines = vec![Line::styled(
        "STATE HOST      DISK        AGE",
        s(Role::Header),
    )];
    for (word, role, host, disk, selected) in rows {
        let line = Line::from(vec![
            Span::styled(word, s(role)),
            Span::raw("  "),
            Span::styled(host, s(Role::Text)),
            Span::raw(disk),
            Span::styled("  2s ago", s(Role::Muted)),
        ]);
        lines.push(if selected {
            line.patch_style(s(Role::Selection))
        } else {
            line
        });
    }
    lines.push(Line::from(vec![
        Span::styled("dim ", Style::new().add_modifier(Modifier::DIM)),
        Span::styled("bold ", Style::new().add_modifier(Modifier::BOLD)),
        Span::styled("italic", Style::new().add_modifier(Modifier::ITALIC)),
        Span::raw(" "),
        Span::styled("underline", Style::new().add_modifier(Modifier::UNDERLINED)),
        Span::raw(" "),
        Span::styled(" rev ", Style::new().add_modifier(Modifier::REVERSED)),
    ]));
    lines.push(Line::from(vec![
        Span::styled("████", Style::new().fg(Color::Red)),
        Span::styled("████", Style::new().fg(Color::Indexed(208))),
        Span::styled("████", Style::new().fg(Color::Rgb(0xe3, 0xb3, 0x41))),
        Span::styled("░▒▓█", Style::new().fg(Color::LightBlue)),
        Span::styled(" ▮  ▮ ", s(Role::Gauge)),
        Span::raw("✔ é ⠿ 日"),
    ]));
    Paragraph::new(lines).block(hosts).render(left, &mut buf);

    let [spark, gauge, boxes] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Length(3),
        Constraint::Fill(1),
    ])
    .areas(right);
    let history: Vec<u64> = (0..40u64)
        .map(|i| 3 + (i * 7 % 11) + if (18..24).contains(&i) { 14 } else { 0 })
        .collect();
    Sparkline::default()
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .border_style(s(Role::Border))
                .title(Span::styled(" load ", s(Role::Title))),
        )
        .data(&history)
        .style(s(Role::Gauge))
        .render(spark, &mut buf);
    Gauge::default()
        .block(
            Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(s(Role::Border))
                .title(Span::styled(" loss window ", s(Role::Title))),
        )
        .gauge_style(s(Role::Warn))
        .ratio(0.43)
        .label("52m / 2h")
        .render(gauge, &mut buf);
    Paragraph::new("double")
        .block(
            Block::bordered()
                .border_type(BorderType::Double)
                .border_style(s(Role::Border)),
        )
        .style(s(Role::Muted))
        .render(boxes, &mut buf);

    Paragraph::new(Line::from(vec![
        Span::styled(" Enter", s(Role::Key)),
        Span::raw(" host · "),
        Span::styled("Tab", s(Role::Key)),
        Span::raw(" pane · "),
        Span::styled("q", s(Role::Key)),
        Span::raw(" quit"),
    ]))
    .style(s(Role::Bar))
    .render(keys, &mut buf);
    buf
}

fn main() -> anyhow::Result<()> {
    // `cargo run --example screenshots [THEME]`: the dark theme by default.
    let name = std::env::args().nth(1);
    let theme = match &name {
        Some(name) => Theme::load(name)?,
        None => Theme::default(),
    };
    let buf = demo(&theme);
    let file = match &name {
        Some(_) => format!("target/raster-selftest-{}.png", theme.name()),
        None => "target/raster-selftest.png".to_string(),
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let options = raster::Options::for_theme(&theme);
    raster::buffer_to_png_with(&buf, &path, &options)?;
    let (w, h) = options.cell_size();
    println!(
        "wrote {} ({}×{} cells of {w}×{h} px)",
        path.display(),
        buf.area.width,
        buf.area.height
    );
    Ok(())
}
