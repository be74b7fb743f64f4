//! Stoa's Rust SDK: the client model of Agora Web SDK NG (`IAgoraRTCClient`) for native apps, bots, AI agents and
//! load generators. This release has the control plane: join and leave, roles, token renewal, presence events and
//! reconnection. Media tracks come with the media plane.
//!
//! ```no_run
//! # async fn run() -> Result<(), stoa_sdk::RtcError> {
//! use stoa_sdk::{Client, ClientConfig, Event};
//! let client = Client::new("http://127.0.0.1:8080", ClientConfig::default())?;
//! let mut events = client.events();
//! let uid = client.join("0123456789abcdef0123456789abcdef", "lobby", None, None).await?;
//! println!("joined as {uid}");
//! while let Ok(event) = events.recv().await {
//!     if let Event::UserJoined(user) = event {
//!         println!("{} is here", user.uid);
//!     }
//! }
//! client.leave().await
//! # }
//! ```

mod client;
pub mod media;
pub mod state;

pub use client::{Client, ClientConfig, Codec, RetryConfig};
pub use state::{ConnectionState, Event, RemoteUser, Uid};
pub use stoa_proto::signal::{ClientRole, DisconnectReason, Mode, UserLeftReason};
pub use stoa_proto::{ErrorCode, RtcError};
