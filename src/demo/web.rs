//! The demo shop's web site, as the site's `[[urls]]` test reaches it: a small HTTP/1.1
//! server on 127.0.0.1 serving, in nginx's words, the document root (`srv/www`) of the host
//! the site's DNS record points at: production's, or the DRP server's once a DRP activation
//! switched the record (the demo's DNS server says which).
//!
//! It stands for that host's nginx seen from outside, so it follows its faults: while prod's
//! nginx is stopped nothing listens on its port (the connection is refused), and while prod is
//! dark its connections go through prod's gate (accepted by the kernel, then silence). A host
//! in maintenance (`srv/MAINTENANCE`, the demo's fencing) answers 503.

use super::gate::{Gate, GatedStream, Mode};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The longest request head read; more is refused (nginx's large_client_header_buffers).
const MAX_HEAD: usize = 8 * 1024;
/// A client that sends nothing is dropped after this (nginx's client_header_timeout).
const HEAD_TIMEOUT: Duration = Duration::from_secs(60);

/// The switch of the web site: listening (nginx runs) or not.
#[derive(Debug)]
pub(crate) struct Web {
    port: u16,
    listening: watch::Sender<bool>,
}

impl Web {
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// nginx starts (listens again on the same port) or stops (refuses connections).
    pub(crate) fn set_listening(&self, on: bool) {
        self.listening.send_replace(on);
    }
}

/// A host that can serve the shop: its gate and its data volume (`www`, `MAINTENANCE`).
#[derive(Clone)]
pub(crate) struct Backend {
    pub gate: Arc<Gate>,
    pub srv: PathBuf,
}

/// Which host the site's record points at: `true` for the DRP server.
pub(crate) type Route = Arc<dyn Fn() -> bool + Send + Sync>;

/// How often a closed or open port looks again at where the record points.
const ROUTE_EVERY: Duration = Duration::from_millis(250);

/// Bind 127.0.0.1 on an ephemeral port; the returned future serves until the site stops
/// (prod's gate closes).
pub(crate) async fn start(
    prod: Backend,
    drp: Backend,
    on_drp: Route,
) -> io::Result<(Arc<Web>, impl Future<Output = ()> + Send + 'static)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let (tx, rx) = watch::channel(true);
    let web = Arc::new(Web {
        port,
        listening: tx,
    });
    Ok((web, serve(listener, port, rx, prod, drp, on_drp)))
}

async fn serve(
    listener: TcpListener,
    port: u16,
    mut listening: watch::Receiver<bool>,
    prod: Backend,
    drp: Backend,
    on_drp: Route,
) {
    // prod's nginx listens, or the record points at the DRP server (whose nginx always does).
    let open = |nginx: bool| nginx || on_drp();
    let mut listener = Some(listener);
    loop {
        if prod.gate.mode() == Mode::Closed {
            return;
        }
        if !open(*listening.borrow_and_update()) {
            // Stopped: the socket is closed, connections are refused until nginx starts or
            // the record moves.
            listener = None;
            tokio::select! {
                changed = listening.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(ROUTE_EVERY) => {}
            }
            continue;
        }
        let l = match listener.take() {
            Some(l) => l,
            // Back on the same port (tokio sets SO_REUSEADDR: no wait for TIME_WAIT).
            None => match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(port, error = %e, "demo web site cannot listen again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            },
        };
        let mut look = tokio::time::interval(ROUTE_EVERY);
        loop {
            tokio::select! {
                accepted = l.accept() => {
                    if let Ok((tcp, _)) = accepted {
                        if !open(*listening.borrow()) {
                            // Closed since the last look: as if the port had been.
                            break;
                        }
                        let _ = tcp.set_nodelay(true);
                        let host = if on_drp() { &drp } else { &prod };
                        let stream = GatedStream::new(tcp, &host.gate);
                        tokio::spawn(answer(stream, Arc::new(host.srv.clone())));
                    }
                }
                changed = listening.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if !open(*listening.borrow()) {
                        break;
                    }
                }
                _ = look.tick() => {
                    if prod.gate.mode() == Mode::Closed || !open(*listening.borrow()) {
                        break;
                    }
                }
            }
        }
        drop(l);
    }
}

/// Read one request head and answer it; the connection closes after the answer.
async fn answer<S>(mut stream: S, srv: Arc<PathBuf>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    let read = tokio::time::timeout(HEAD_TIMEOUT, async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            head.extend_from_slice(buf.get(..n).unwrap_or_default());
            if head.len() > MAX_HEAD {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await;
    let reply = match read {
        Ok(Ok(true)) => respond(&head, &srv),
        Ok(Ok(false)) => error(400, "Bad Request", false),
        _ => return,
    };
    let _ = stream.write_all(&reply).await;
    let _ = stream.shutdown().await;
}

/// The answer to a request head, from the host whose data volume is `srv`.
fn respond(head: &[u8], srv: &Path) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut words = text.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return error(405, "Not Allowed", false);
    }
    if srv.join("MAINTENANCE").exists() {
        return error(503, "Service Temporarily Unavailable", head_only);
    }
    let docroot = srv.join("www");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let file = match path {
        "/" | "/index.html" => Some(("index.html", "text/html")),
        "/static/shop.css" => Some(("static/shop.css", "text/css")),
        _ => None,
    };
    match file.and_then(|(f, kind)| std::fs::read(docroot.join(f)).ok().map(|b| (b, kind))) {
        Some((body, kind)) => reply(200, "OK", kind, &body, head_only),
        None => error(404, "Not Found", head_only),
    }
}

/// nginx's own error page.
fn error(code: u16, reason: &str, head_only: bool) -> Vec<u8> {
    let body = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n\
         <center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n\
         </body>\r\n</html>\r\n"
    );
    reply(code, reason, "text/html", body.as_bytes(), head_only)
}

fn reply(code: u16, reason: &str, kind: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    let date = jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S GMT");
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nServer: nginx/1.22.1\r\nDate: {date}\r\n\
         Content-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(port: u16, path: &str) -> io::Result<String> {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: shop\r\n\r\n").as_bytes())
            .await?;
        let mut out = String::new();
        tcp.read_to_string(&mut out).await?;
        Ok(out)
    }

    /// A host's data volume with its web root holding `page`.
    fn srv(dir: &Path, page: &str) -> PathBuf {
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::write(dir.join("www/index.html"), page).unwrap();
        dir.to_path_buf()
    }

    async fn refused(port: u16) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            match get(port, "/").await {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break,
                other => {
                    assert!(tokio::time::Instant::now() < deadline, "{other:?}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    async fn answers(port: u16, what: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            if let Ok(Ok(page)) =
                tokio::time::timeout(Duration::from_millis(300), get(port, "/")).await
                && page.contains(what)
            {
                return page;
            }
            assert!(tokio::time::Instant::now() < deadline, "no {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn serves_the_shop_stops_and_starts_again_on_its_port() {
        let dir = tempfile::tempdir().unwrap();
        let prod = Backend {
            gate: Gate::new(),
            srv: srv(&dir.path().join("prod"), "<h1>Welcome</h1>\n"),
        };
        let drp = Backend {
            gate: Gate::new(),
            srv: srv(&dir.path().join("drp"), "<h1>Welcome, DRP</h1>\n"),
        };
        let gate = prod.gate.clone();
        let switched = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let route: Route = {
            let s = switched.clone();
            Arc::new(move || s.load(std::sync::atomic::Ordering::Relaxed))
        };
        let (web, serving) = start(prod.clone(), drp, route).await.unwrap();
        let task = tokio::spawn(serving);
        let page = get(web.port(), "/").await.unwrap();
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("Content-Length: 17\r\n"), "{page}");
        assert!(page.ends_with("\r\n\r\n<h1>Welcome</h1>\n"), "{page}");
        let missing = get(web.port(), "/wp-login.php").await.unwrap();
        assert!(
            missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{missing}"
        );
        // Fenced: maintenance.
        std::fs::write(prod.srv.join("MAINTENANCE"), "").unwrap();
        let page = get(web.port(), "/").await.unwrap();
        assert!(
            page.starts_with("HTTP/1.1 503 Service Temporarily Unavailable\r\n"),
            "{page}"
        );
        std::fs::remove_file(prod.srv.join("MAINTENANCE")).unwrap();

        // nginx stops: refused (not a hang).
        web.set_listening(false);
        refused(web.port()).await;
        // The record moves to the DRP server: its nginx answers on the shop's address.
        switched.store(true, std::sync::atomic::Ordering::Relaxed);
        answers(web.port(), "Welcome, DRP").await;
        switched.store(false, std::sync::atomic::Ordering::Relaxed);
        refused(web.port()).await;
        web.set_listening(true);
        answers(web.port(), "<h1>Welcome</h1>").await;

        // prod dark: the connection is accepted, nothing is said; unless the record moved.
        gate.set(Mode::Frozen);
        let hung = tokio::time::timeout(Duration::from_millis(300), get(web.port(), "/")).await;
        assert!(hung.is_err(), "a frozen host answers nothing");
        switched.store(true, std::sync::atomic::Ordering::Relaxed);
        answers(web.port(), "Welcome, DRP").await;
        gate.set(Mode::Closed);
        web.set_listening(false);
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("the server ends with the site")
            .unwrap();
    }

    #[test]
    fn methods_and_heads() {
        let dir = tempfile::tempdir().unwrap();
        let srv = srv(dir.path(), "x");
        let r = String::from_utf8(respond(b"HEAD / HTTP/1.1\r\n\r\n", &srv)).unwrap();
        assert!(
            r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("\r\n\r\n"),
            "{r}"
        );
        let r = String::from_utf8(respond(b"POST / HTTP/1.1\r\n\r\n", &srv)).unwrap();
        assert!(r.starts_with("HTTP/1.1 405 Not Allowed\r\n"), "{r}");
        let r = String::from_utf8(respond(b"\xff\xfe", &srv)).unwrap();
        assert!(r.starts_with("HTTP/1.1 405"), "{r}");
    }
}
