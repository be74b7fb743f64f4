//! Stoa's Rust SDK: the client model of Agora Web SDK NG (`IAgoraRTCClient`) for native apps, bots, AI agents and
//! load generators: join and leave, roles, token renewal, presence events and reconnection, and audio and video
//! tracks that are published and subscribed through a WebRTC media engine (str0m; Opus, VP8, VP9 and H.264).
//!
//! ```no_run
//! # async fn run() -> Result<(), stoa_sdk::RtcError> {
//! use stoa_sdk::media::{AudioEncoderPreset, AudioFrame};
//! use stoa_sdk::{Client, ClientConfig, Event, LocalAudioTrack, MediaType};
//! let client = Client::new("http://127.0.0.1:8080", ClientConfig::default())?;
//! let mut events = client.events();
//! let uid = client.join("0123456789abcdef0123456789abcdef", "lobby", None, None).await?;
//! println!("joined as {uid}");
//!
//! // Publish PCM audio pushed by the application.
//! let track = LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard)?;
//! client.publish([&track]).await?;
//! track.push(&AudioFrame::new(48_000, 1, vec![0; 960]))?; // 20 ms of silence, every 20 ms
//!
//! // Receive everyone else's audio.
//! while let Ok(event) = events.recv().await {
//!     if let Event::UserPublished(user, MediaType::Audio) = event {
//!         let remote = client.subscribe_audio(&user).await?;
//!         let mut frames = remote.frames();
//!         tokio::spawn(async move {
//!             while let Some(frame) = frames.recv().await {
//!                 println!("{} samples from {}", frame.samples.len(), remote.uid());
//!             }
//!         });
//!     }
//! }
//! client.leave().await
//! # }
//! ```
//!
//! Video works the same way: [`LocalVideoTrack::custom`] takes I420 frames and encodes them with the client's
//! [`ClientConfig::codec`]; [`Client::subscribe_video`] gives a [`RemoteVideoTrack`] whose `frames()` are decoded
//! I420 pictures. `examples/publish_testsrc.rs` publishes both.
//!
//! ```no_run
//! # async fn run(client: stoa_sdk::Client, user: stoa_sdk::RemoteUser) -> Result<(), stoa_sdk::RtcError> {
//! use stoa_sdk::media::video::{VideoEncoderPreset, VideoFrame};
//! use stoa_sdk::LocalVideoTrack;
//! let preset: VideoEncoderPreset = "360p_1".parse()?; // 640×360, 15 fps, 400 Kbps
//! let video = LocalVideoTrack::custom(preset)?;
//! client.publish([&video]).await?;
//! video.push(&VideoFrame::black(640, 360)?)?; // one picture, every 1/15 s
//!
//! let remote = client.subscribe_video(&user).await?;
//! let mut frames = remote.frames();
//! while let Some(frame) = frames.recv().await {
//!     println!("{}x{} from {}", frame.width, frame.height, remote.uid());
//! }
//! # Ok(()) }
//! ```

mod client;
mod engine;
pub mod media;
pub mod state;

pub use client::{Client, ClientConfig, Codec, RetryConfig};
pub use engine::{
    ENCODED_VIDEO_QUEUE, EncodedAudioFrame, EncodedVideoFrame, FRAME_QUEUE, LocalAudioTrack, LocalAudioTrackStats,
    LocalTrack, LocalVideoTrack, LocalVideoTrackStats, RemoteAudioTrack, RemoteAudioTrackStats, RemoteTrack,
    RemoteVideoTrack, RemoteVideoTrackStats, VIDEO_FRAME_QUEUE,
};
pub use media::buffer_source::BufferSourceAudioTrack;
pub use state::{ConnectionState, Event, NetworkQuality, RemoteUser, Uid};
pub use stoa_proto::signal::{ClientRole, DisconnectReason, MediaType, Mode, UserInfoMessage, UserLeftReason};
pub use stoa_proto::{ErrorCode, RtcError};
