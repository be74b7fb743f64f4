//! Test harness: a real `stoa serve` process on an ephemeral loopback port, and a TCP relay that can cut links.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use stoa_sdk::{Client, ClientConfig, Event, RetryConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

pub const APP: &str = "0123456789abcdef0123456789abcdef";
pub const CERT: &str = "fedcba9876543210fedcba9876543210";
pub const OPEN_APP: &str = "00000000000000000000000000000001";

/// Timeouts short enough for tests: a session ends 1.5 s after its last frame, clients ping every 200 ms, and
/// token warnings come 2 s before expiry.
pub const FAST_CONFIG: &str = r#"
[timeouts]
session_timeout_ms = 1500
keepalive_ms = 200
token_will_expire_lead_ms = 2000
"#;

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub app_ids: Vec<String>,
    pub data: std::path::PathBuf,
    _config: tempfile::NamedTempFile,
}

impl Server {
    /// `stoa serve` with FAST_CONFIG, a fresh data folder, and the given extra arguments.
    pub fn start(extra: &[&str]) -> Server {
        let data = tempfile::tempdir().unwrap().keep();
        Server::start_in(&data, extra)
    }

    pub fn start_in(data: &std::path::Path, extra: &[&str]) -> Server {
        let config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(config.path(), FAST_CONFIG).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_stoa"))
            .arg("serve")
            .arg("--http")
            .arg("127.0.0.1:0")
            .arg("--data")
            .arg(data)
            .arg("--config")
            .arg(config.path())
            .args(extra)
            .env(
                "STOA_LOG",
                std::env::var("STOA_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("stoa binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut app_ids = Vec::new();
        let addr = loop {
            let line = lines.next().expect("stoa prints its address").unwrap();
            if let Some(id) = line.strip_prefix("app id: ") {
                app_ids.push(id.to_string());
            }
            if let Some(url) = line.strip_prefix("listening: http://") {
                break url.parse().unwrap();
            }
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            addr,
            app_ids,
            data: data.to_path_buf(),
            _config: config,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay in front of the server. `cut()` drops every relayed connection; while `refuse(true)`, new ones are
/// accepted and closed at once, like a network that is down.
pub struct Relay {
    pub addr: SocketAddr,
    refusing: Arc<AtomicBool>,
    cut: broadcast::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let refusing = Arc::new(AtomicBool::new(false));
        let (cut, _) = broadcast::channel(4);
        let task = {
            let refusing = refusing.clone();
            let cut = cut.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else {
                        return;
                    };
                    if refusing.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let mut cut_rx = cut.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = TcpStream::connect(target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut_rx.recv() => {}
                        }
                    });
                }
            })
        };
        Relay {
            addr,
            refusing,
            cut,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn cut(&self) {
        let _ = self.cut.send(());
    }

    pub fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A client with quick retries, so tests of failure paths stay short.
pub fn client(server_url: &str, config: ClientConfig) -> Client {
    let quick = RetryConfig {
        timeout: Duration::from_millis(100),
        timeout_factor: 1.5,
        max_retry_count: Some(3),
        max_retry_timeout: Duration::from_millis(300),
    };
    let websocket_retry = RetryConfig {
        max_retry_count: None,
        ..quick.clone()
    };
    Client::new(
        server_url,
        ClientConfig {
            http_retry: quick,
            websocket_retry,
            ..config
        },
    )
    .unwrap()
}

/// Waits up to `secs` for an event matching `pred`, returning it.
pub async fn wait_for(events: &mut broadcast::Receiver<Event>, secs: f64, pred: impl Fn(&Event) -> bool) -> Event {
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(secs);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(event)) if pred(&event) => return event,
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => panic!("event stream failed: {e}"),
            Err(_) => panic!("no matching event within {secs} s"),
        }
    }
}

/// Collects every event that arrives within `secs`.
pub async fn collect_for(events: &mut broadcast::Receiver<Event>, secs: f64) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(secs);
    let mut seen = Vec::new();
    while let Ok(Ok(event)) = tokio::time::timeout_at(deadline, events.recv()).await {
        seen.push(event);
    }
    seen
}

pub fn now_unix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// The server's `/metrics` text.
pub async fn metrics_text(server: &Server) -> String {
    reqwest::get(format!("{}/metrics", server.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// One series of `/metrics`, labels included (`stoa_media_tracks`, `stoa_errors_total{code="UID_CONFLICT"}`); None
/// when the server has not reported it.
pub async fn metric(server: &Server, series: &str) -> Option<f64> {
    metrics_text(server)
        .await
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}
