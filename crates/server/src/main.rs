//! `stoa`: the server (`stoa serve`) and its tools (`stoa token`, and `stoa join` with the `bot` feature).

#[cfg(feature = "bot")]
mod join;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use stoa_proto::token::{Role, build_token_with_uid, build_token_with_user_account};
use stoa_server::config::{AppConfig, Config};

#[derive(Parser)]
#[command(
    name = "stoa",
    version,
    about = "Stoa: self-hosted real-time audio and video, with Agora's Web SDK API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server. With no app configured, a development app (no certificate, tokens optional) is used.
    Serve(ServeArgs),
    /// Print an AccessToken2 ("007") RTC token and nothing else.
    Token(TokenArgs),
    /// Join a channel as a bot on the Rust SDK: publish a tone, a file or a test pattern, record everyone else,
    /// print a JSON summary when leaving. Needs a build with `--features bot`.
    Join(JoinArgs),
}

#[derive(clap::Args)]
pub(crate) struct JoinArgs {
    /// The Stoa server, http(s)://host:port.
    #[arg(long)]
    server: String,
    #[arg(long)]
    app_id: String,
    #[arg(long)]
    channel: String,
    /// An RTC token, for apps with a certificate.
    #[arg(long)]
    token: Option<String>,
    /// A number uid or a string uid (user account); by default the server assigns a number.
    #[arg(long)]
    uid: Option<String>,
    /// Publish audio: `sine:HZ` (a tone), or an audio file path or http(s) URL (wav, flac, ogg, mp3, aac/m4a),
    /// played in a loop.
    #[arg(long)]
    audio: Option<String>,
    /// Publish video: `testsrc:WIDTHxHEIGHT@FPS`, a test pattern (frames carry a counter).
    #[arg(long)]
    video: Option<String>,
    /// The video codec: vp8, vp9 or h264.
    #[arg(long, default_value = "vp8")]
    codec: String,
    /// Record remote users into this folder: `<uid>.wav` (audio) and `<uid>.video.json` (a video summary).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Leave after this many seconds; by default stay until Ctrl-C.
    #[arg(long)]
    duration: Option<f64>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file; flags and STOA_* variables override it.
    #[arg(long, env = "STOA_CONFIG")]
    config: Option<PathBuf>,
    /// HTTP and WebSocket listener (port 0 picks a free port). Default 127.0.0.1:8080.
    #[arg(long, env = "STOA_HTTP")]
    http: Option<SocketAddr>,
    /// Media (UDP) listener of the first media worker; the others take the next ports (all ephemeral with port 0).
    #[arg(long, env = "STOA_UDP")]
    udp: Option<SocketAddr>,
    /// Media worker threads, each with its own UDP port and SFU router. Default: one per core.
    #[arg(long, env = "STOA_MEDIA_WORKERS")]
    media_workers: Option<usize>,
    /// Folder of the embedded store. Default ./stoa-data.
    #[arg(long, env = "STOA_DATA")]
    data: Option<PathBuf>,
    /// An app as ID or ID:CERTIFICATE (32 hex characters each); repeatable. STOA_APP takes a comma-separated list.
    #[arg(long = "app", env = "STOA_APP", value_delimiter = ',', value_parser = AppConfig::parse_flag)]
    apps: Vec<AppConfig>,
}

#[derive(Clone, Copy, ValueEnum)]
enum TokenRole {
    Publisher,
    Subscriber,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["uid", "account"])))]
struct TokenArgs {
    #[arg(long)]
    app_id: String,
    #[arg(long)]
    app_certificate: String,
    #[arg(long)]
    channel: String,
    /// Number uid; 0 lets any uid join.
    #[arg(long)]
    uid: Option<u32>,
    /// String uid (user account).
    #[arg(long)]
    account: Option<String>,
    #[arg(long, value_enum, default_value = "publisher")]
    role: TokenRole,
    /// Lifetime in seconds, for the token and each privilege.
    #[arg(long, default_value_t = 3600)]
    expire: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Token(args) => token(args),
        Command::Join(args) => return join(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stoa: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the bot. Errors print the catalog code (stderr) and a JSON object `{"error": {"code", "message"}}`
/// (stdout), and exit non-zero.
#[cfg(feature = "bot")]
fn join(args: JoinArgs) -> ExitCode {
    match join::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stoa join: {}: {}", e.code.as_str(), e.detail);
            println!(
                "{}",
                serde_json::json!({ "error": { "code": e.code.as_str(), "message": e.detail } })
            );
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "bot"))]
fn join(_args: JoinArgs) -> ExitCode {
    eprintln!(
        "stoa: `stoa join` is not in this build. It runs on the Rust SDK, which links libopus and libvpx: install \
         them (Debian: apt-get install libopus-dev libvpx-dev pkg-config nasm), then build with \
         `cargo build --release --features bot` (or `cargo run --release --features bot -- join ...`)."
    );
    ExitCode::from(2)
}

fn token(args: TokenArgs) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let role = match args.role {
        TokenRole::Publisher => Role::Publisher,
        TokenRole::Subscriber => Role::Subscriber,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as u32;
    let salt = rand::random_range(1..=99_999_999);
    let token = match (args.uid, &args.account) {
        (Some(uid), None) => build_token_with_uid(
            &args.app_id,
            &args.app_certificate,
            &args.channel,
            uid,
            role,
            args.expire,
            args.expire,
            now,
            salt,
        )?,
        (None, Some(account)) => build_token_with_user_account(
            &args.app_id,
            &args.app_certificate,
            &args.channel,
            account,
            role,
            args.expire,
            args.expire,
            now,
            salt,
        )?,
        _ => unreachable!("clap requires exactly one of --uid and --account"),
    };
    println!("{token}");
    Ok(())
}

fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("STOA_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(http) = args.http {
        config.server.http = http;
    }
    if let Some(udp) = args.udp {
        config.server.udp = udp;
    }
    if let Some(data) = args.data {
        config.server.data = data;
    }
    if let Some(workers) = args.media_workers {
        config.media.workers = workers;
    }
    config.apps.extend(args.apps);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let running = stoa_server::start(config).await?;
        for app in &running.apps {
            println!("app id: {}", app.id);
        }
        println!("listening: http://{}", running.local_addr);
        let media: Vec<String> = running.media_addrs.iter().map(|a| format!("udp://{a}")).collect();
        println!("media: {}", media.join(" "));
        println!("demo: http://{}/", running.local_addr);
        tracing::info!(addr = %running.local_addr, "serving");
        tokio::select! {
            result = running.wait() => result,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}
