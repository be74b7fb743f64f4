//! Configuration: embedded defaults, then a TOML file, then `STOA_*` environment variables and command-line flags
//! (clap merges the last two, flags winning).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration, as read from TOML. Every field has a default, so an empty file is valid.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub limits: Limits,
    pub timeouts: Timeouts,
    pub media: MediaConfig,
    /// Apps to create or update at start. Without any (here or on the command line), the development app is used.
    pub apps: Vec<AppConfig>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// HTTP and WebSocket listener.
    pub http: SocketAddr,
    /// Media (UDP) listener, used by the media plane.
    pub udp: SocketAddr,
    /// Folder of the embedded store.
    pub data: PathBuf,
    /// Base URL clients reach this server at (e.g. `https://rtc.example.com`), used in discovery answers. When
    /// unset, the Host header of the request is used.
    pub public_url: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest WebSocket text frame read (bytes); larger frames are answered `INVALID_PARAMS`.
    pub max_frame_bytes: usize,
    /// Frames a connection may send per second (burst of twice that); excess frames are answered and dropped.
    pub max_frames_per_second: u32,
    /// A connection that keeps flooding past this many refused frames is closed.
    pub max_refused_frames: u32,
    pub max_users_per_channel: usize,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Media worker threads, each with its own UDP port (`server.udp`'s port, then the next ones; all ephemeral
    /// when it is 0) and SFU router; a channel's users share one worker. 0 (the default) is one per core.
    pub workers: usize,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// A session with no frame for this long ends with user-left `ServerTimeOut`. Agora uses 20 s.
    pub session_timeout_ms: u64,
    /// How often clients ping.
    pub keepalive_ms: u64,
    /// How long before token expiry `token-privilege-will-expire` is sent. Agora uses 30 s.
    pub token_will_expire_lead_ms: u64,
    /// A WebSocket that has not joined within this time is closed.
    pub join_timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    pub id: String,
    /// With a certificate, joins need a valid AccessToken2; without one the app is in testing mode.
    #[serde(default)]
    pub certificate: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            http: "127.0.0.1:8080".parse().expect("valid address"),
            udp: "127.0.0.1:0".parse().expect("valid address"),
            data: PathBuf::from("stoa-data"),
            public_url: None,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: stoa_proto::signal::MAX_FRAME_BYTES,
            max_frames_per_second: 50,
            max_refused_frames: 100,
            max_users_per_channel: 10_000,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            session_timeout_ms: 20_000,
            keepalive_ms: 3_000,
            token_will_expire_lead_ms: 30_000,
            join_timeout_ms: 30_000,
        }
    }
}

impl Config {
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Config::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

impl AppConfig {
    /// Parses the `--app ID[:CERTIFICATE]` form.
    pub fn parse_flag(value: &str) -> Result<AppConfig, String> {
        let (id, certificate) = match value.split_once(':') {
            Some((id, cert)) => (id, Some(cert.to_string())),
            None => (value, None),
        };
        let app = AppConfig {
            id: id.to_string(),
            certificate,
        };
        app.validate()?;
        Ok(app)
    }

    /// App ids and certificates are 32 hex characters, like Agora's (tokens cannot be built for others).
    pub fn validate(&self) -> Result<(), String> {
        let hex32 = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex32(&self.id) {
            return Err(format!("app id {:?} must be 32 hex characters", self.id));
        }
        if let Some(cert) = &self.certificate
            && !hex32(cert)
        {
            return Err(format!("certificate of app {} must be 32 hex characters", self.id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_toml_is_the_defaults_and_fields_override() {
        assert_eq!(Config::from_toml("").unwrap(), Config::default());
        let config = Config::from_toml(
            r#"
            [server]
            http = "0.0.0.0:9000"
            [timeouts]
            session_timeout_ms = 5000
            [media]
            workers = 3
            [[apps]]
            id = "0123456789abcdef0123456789abcdef"
            certificate = "fedcba9876543210fedcba9876543210"
            "#,
        )
        .unwrap();
        assert_eq!(config.server.http.port(), 9000);
        assert_eq!(config.timeouts.session_timeout_ms, 5000);
        assert_eq!(config.timeouts.keepalive_ms, 3000);
        assert_eq!(config.media.workers, 3);
        assert_eq!(config.apps.len(), 1);
        assert!(
            Config::from_toml("[server]\nhttps = 1")
                .unwrap_err()
                .contains("unknown field")
        );
    }

    #[test]
    fn app_flags_take_an_optional_certificate() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(AppConfig::parse_flag(id).unwrap().certificate, None);
        let app = AppConfig::parse_flag(&format!("{id}:{id}")).unwrap();
        assert_eq!(app.certificate.as_deref(), Some(id));
        assert!(AppConfig::parse_flag("short").is_err());
        assert!(AppConfig::parse_flag(&format!("{id}:nothex")).is_err());
    }
}
