//! The real `vigie` binary in a real terminal: tmux, driven like a person would (send-keys,
//! capture-pane). Each session gets its own tmux server socket, killed on drop.

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tty {
    socket: String,
}

impl Tty {
    /// A shell in a `width`×`height` terminal; `command` is typed into it.
    pub fn start(name: &str, width: u16, height: u16, command: &str) -> Tty {
        let tty = Tty {
            socket: format!("vigie-test-{name}-{}", std::process::id()),
        };
        tty.tmux(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "bash --norc --noprofile",
        ]);
        tty.tmux(&["set-option", "-t", "t", "remain-on-exit", "on"]);
        tty.keys(&[command, "Enter"]);
        tty
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux is part of the test environment (tests/lab/install-deps.sh)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Keys as tmux names them ("Enter", "Tab", "q", …).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Send `signal` (e.g. "TERM") to the programs the shell in the terminal started.
    pub fn signal_children(&self, signal: &str) {
        let shell = self.tmux(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
        let out = Command::new("pkill")
            .arg(format!("-{signal}"))
            .arg("-P")
            .arg(shell.trim())
            .output()
            .expect("pkill (procps) is part of the test environment");
        assert!(
            out.status.success(),
            "nothing to signal under the shell {shell}"
        );
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-t", "t", "-p"])
    }

    /// Wait until the screen satisfies `ok`; panic with the screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("waited {timeout:?} for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// The line of the Overview that shows `host`.
pub fn host_line<'a>(screen: &'a str, host: &str) -> Option<&'a str> {
    screen.lines().find(|l| {
        l.split_whitespace().any(|w| w == host)
            && (l.contains("OK") || l.contains("CRIT") || l.contains("WARN") || l.contains("UNK"))
    })
}

/// After the console quit: the shell is back in cooked mode with echo, off the alternate
/// screen.
pub fn terminal_is_sane(tty: &Tty) {
    // Let the console finish: keys typed while it still runs would be read by it.
    tty.wait_for(
        "the console to leave the screen",
        Duration::from_secs(10),
        |s| !s.contains("VIGIE") && s.contains("vigie"),
    );
    // The marker is computed by the shell, so only the output line carries "STTY-42", never
    // the command line typed to get it.
    tty.keys(&[
        "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo STTY-$((40+2))",
        "Enter",
    ]);
    let screen = tty.wait_for("the shell after quitting", Duration::from_secs(10), |s| {
        s.lines().any(|l| l.contains("STTY-42"))
    });
    let line = screen
        .lines()
        .find(|l| l.contains("STTY-42"))
        .unwrap_or_default();
    assert!(
        line.contains("icanon") && !line.contains("-icanon"),
        "raw mode left on: {line}"
    );
    assert!(
        line.contains("echo") && !line.contains("-echo"),
        "echo left off: {line}"
    );
    // Out of the alternate screen: the command that started the console is visible again.
    assert!(
        screen.contains("vigie"),
        "still on the alternate screen:\n{screen}"
    );
}
