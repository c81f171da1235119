//! Drawing only what changed (SPEC §7: "redraw only on input or new data").
//!
//! The console renders a frame whenever something may have changed (a key, a snapshot, the
//! clock's second), but writes to the terminal only when the frame differs from the one on
//! screen: a snapshot that changes nothing shown, or a second that moves no age, costs a render
//! in memory and not one byte on the operator's (often slow, tmux-in-SSH) terminal. ratatui
//! already sends only the changed cells, but every `Terminal::draw` also writes colour resets
//! and a cursor hide; this module skips the whole write instead.

use ratatui::backend::Backend;
use ratatui::buffer::Buffer;
use ratatui::{Frame, Terminal};

/// How long new data waits for more before its frame is drawn: snapshots come in bursts (a
/// 500-host site's refreshes end within some 100 ms of one another), and a burst drawn once
/// costs one render instead of hundreds. Keys are drawn at once.
pub const DATA_FRAME: std::time::Duration = std::time::Duration::from_millis(100);

/// What is on the terminal, to compare the next frame with.
#[derive(Debug, Default)]
pub struct Presenter {
    shown: Option<Buffer>,
    /// Frames rendered (in memory) and frames written to the terminal, for the benchmarks
    /// and the structural tests.
    pub rendered: u64,
    pub written: u64,
}

impl Presenter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget what is on screen (after a resize, which may garble the terminal): the next
    /// [`present`](Self::present) writes.
    pub fn invalidate(&mut self) {
        self.shown = None;
    }

    /// Render a frame with `render`; write it to the terminal only when it differs from the
    /// one on screen. Returns whether anything was written.
    ///
    /// Like `Terminal::draw` with no cursor shown (the console never shows one: its text
    /// fields draw their own caret).
    pub fn present<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        render: impl FnOnce(&mut Frame),
    ) -> Result<bool, B::Error> {
        terminal.autoresize()?;
        let mut frame = terminal.get_frame();
        render(&mut frame);
        self.rendered += 1;
        let frame = terminal.current_buffer_mut();
        if self.shown.as_ref() == Some(&*frame) {
            // The next render starts from a clean buffer, as after a draw.
            frame.reset();
            return Ok(false);
        }
        self.shown = Some(frame.clone());
        terminal.apply_buffer()?;
        self.written += 1;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::CrosstermBackend;
    use ratatui::layout::Rect;
    use ratatui::widgets::Paragraph;
    use ratatui::{TerminalOptions, Viewport};
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// The bytes a terminal would receive.
    #[derive(Clone, Default)]
    struct Wire(Arc<Mutex<Vec<u8>>>);

    impl Write for Wire {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Wire {
        fn take(&self) -> Vec<u8> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }

    fn terminal(wire: &Wire) -> Terminal<CrosstermBackend<Wire>> {
        Terminal::with_options(
            CrosstermBackend::new(wire.clone()),
            TerminalOptions {
                viewport: Viewport::Fixed(Rect::new(0, 0, 20, 3)),
            },
        )
        .unwrap()
    }

    #[test]
    fn an_unchanged_frame_writes_nothing_and_a_change_writes_only_itself() {
        let wire = Wire::default();
        let mut term = terminal(&wire);
        let mut p = Presenter::new();
        let text =
            |t: &'static str| move |f: &mut Frame| f.render_widget(Paragraph::new(t), f.area());
        assert!(p.present(&mut term, text("12:00 all OK")).unwrap());
        let first = wire.take();
        let first = String::from_utf8_lossy(&first);
        assert!(first.contains("12:00") && first.contains("OK"), "{first:?}");
        for _ in 0..5 {
            assert!(!p.present(&mut term, text("12:00 all OK")).unwrap());
        }
        assert!(
            wire.take().is_empty(),
            "identical frames wrote to the terminal"
        );
        assert!(p.present(&mut term, text("12:01 all OK")).unwrap());
        let change = String::from_utf8_lossy(&wire.take()).into_owned();
        assert!(
            change.contains('1') && !change.contains("all OK"),
            "{change:?}"
        );
        assert_eq!((p.rendered, p.written), (7, 2));
    }

    #[test]
    fn a_skipped_frame_leaves_nothing_behind_for_the_next() {
        let wire = Wire::default();
        let mut term = terminal(&wire);
        let mut p = Presenter::new();
        p.present(&mut term, |f| {
            f.render_widget(Paragraph::new("long text"), f.area())
        })
        .unwrap();
        p.present(&mut term, |f| {
            f.render_widget(Paragraph::new("long text"), f.area())
        })
        .unwrap();
        // A shorter text must not keep the tail of the skipped render.
        p.present(&mut term, |f| {
            f.render_widget(Paragraph::new("short"), f.area())
        })
        .unwrap();
        let shown = p.shown.as_ref().unwrap();
        let line: String = (0..20).map(|x| shown[(x, 0)].symbol()).collect();
        assert_eq!(line.trim_end(), "short");
    }

    #[test]
    fn invalidate_forces_a_write() {
        let wire = Wire::default();
        let mut term = terminal(&wire);
        let mut p = Presenter::new();
        let same = |f: &mut Frame| f.render_widget(Paragraph::new("x"), f.area());
        p.present(&mut term, same).unwrap();
        wire.take();
        p.invalidate();
        assert!(p.present(&mut term, same).unwrap());
    }
}
