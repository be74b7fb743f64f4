//! The media engine: local and remote tracks, and the WebRTC transports that carry them.
//!
//! Each joined [`crate::Client`] that publishes or subscribes gets one engine: a tokio task that owns two UDP
//! sockets and an [`core::EngineCore`] (two str0m `Rtc`s in frame mode, full ICE against the server's ICE-lite
//! sessions). The client's driver carries the SDP exchanges over signalling; tracks talk to the task through
//! channels and never block on it:
//!
//! ```text
//! LocalAudioTrack::push ── Opus frames ──▶ engine task ── SRTP ──▶ stoa serve ── SRTP ──▶ engine task
//!                                            (publisher transport)     (subscriber transport) │ decode
//!                                                                                            ▼
//!                                                             RemoteAudioTrack::frames() receivers
//! ```

mod core;
#[cfg(test)]
mod tests;
mod track;
mod video;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stoa_proto::{ErrorCode, RtcError};
use str0m::media::Mid;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use self::core::EngineCore;
pub(crate) use self::core::{NewTrack, Side};
pub use track::{
    EncodedAudioFrame, FRAME_QUEUE, LocalAudioTrack, LocalAudioTrackStats, LocalTrack, RemoteAudioTrack,
    RemoteAudioTrackStats, RemoteTrack,
};
pub(crate) use track::{Publication, RemoteShared};
pub use video::{
    ENCODED_VIDEO_QUEUE, EncodedVideoFrame, LocalVideoTrack, LocalVideoTrackStats, RemoteVideoTrack,
    RemoteVideoTrackStats, VIDEO_FRAME_QUEUE,
};

use crate::media::EncodedAudio;
use crate::media::video::{EncodedVideo, VideoCodec};

/// An encoded frame on its way to the engine task.
pub(crate) enum Outbound {
    Audio(EncodedAudio),
    Video(VideoCodec, EncodedVideo),
}

/// Encoded frames waiting for the engine task; more are dropped (and counted by the track).
const MEDIA_QUEUE: usize = 256;
/// Largest datagram read.
const MAX_DATAGRAM: usize = 2048;

type Reply<T> = oneshot::Sender<Result<T, RtcError>>;

/// Told when a transport loses its UDP path (`true`) and when it has it back (`false`); runs on the engine task.
pub(crate) type OnReconnect = Box<dyn Fn(Side, bool) + Send>;

/// Work for the engine task other than media.
enum Control {
    PublishOffer {
        tracks: Vec<NewTrack>,
        reply: Reply<(String, Vec<Mid>)>,
    },
    PublishAnswer {
        answer: String,
        reply: Reply<()>,
    },
    PublishCancel,
    /// An ICE restart offer for the publisher transport; its answer goes through `PublishAnswer`.
    PublishRestartOffer {
        reply: Reply<String>,
    },
    /// A subscriber offer that restarts ICE (no new m-line).
    SubscribeRestartOffer {
        offer: String,
        reply: Reply<String>,
    },
    Unpublish(Mid),
    SubscribeOffer {
        offer: String,
        track: Arc<RemoteShared>,
        reply: Reply<(String, Mid)>,
    },
    Forget(Mid),
    Rebind(Mid, Arc<RemoteShared>),
}

/// A handle to an engine task: cheap to clone, held by the client and by published tracks.
#[derive(Clone)]
pub(crate) struct EngineSender {
    control: mpsc::UnboundedSender<Control>,
    media: mpsc::Sender<(Mid, Outbound)>,
}

fn gone() -> RtcError {
    RtcError::new(ErrorCode::OperationAborted, "the media engine has stopped")
}

impl EngineSender {
    /// Queues an encoded frame; false when it was dropped (queue full or engine gone).
    pub(crate) fn audio(&self, mid: Mid, packet: EncodedAudio) -> bool {
        self.media.try_send((mid, Outbound::Audio(packet))).is_ok()
    }

    /// Queues an encoded video frame; false when it was dropped (queue full or engine gone).
    pub(crate) fn video(&self, mid: Mid, codec: VideoCodec, frame: EncodedVideo) -> bool {
        self.media.try_send((mid, Outbound::Video(codec, frame))).is_ok()
    }

    pub(crate) fn unpublish(&self, mid: Mid) {
        let _ = self.control.send(Control::Unpublish(mid));
    }

    pub(crate) fn forget(&self, mid: Mid) {
        let _ = self.control.send(Control::Forget(mid));
    }

    /// Delivers what arrives on `mid` to `track` from now on (a dormant subscription comes back).
    pub(crate) fn rebind(&self, mid: Mid, track: Arc<RemoteShared>) {
        let _ = self.control.send(Control::Rebind(mid, track));
    }

    pub(crate) fn publish_cancel(&self) {
        let _ = self.control.send(Control::PublishCancel);
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Control) -> Result<T, RtcError> {
        let (tx, rx) = oneshot::channel();
        self.control.send(make(tx)).map_err(|_| gone())?;
        rx.await.unwrap_or_else(|_| Err(gone()))
    }

    pub(crate) async fn publish_offer(&self, tracks: Vec<NewTrack>) -> Result<(String, Vec<Mid>), RtcError> {
        self.call(|reply| Control::PublishOffer { tracks, reply }).await
    }

    pub(crate) async fn publish_answer(&self, answer: String) -> Result<(), RtcError> {
        self.call(|reply| Control::PublishAnswer { answer, reply }).await
    }

    /// An offer for the publisher transport with new ICE credentials, answered like a publish offer.
    pub(crate) async fn publish_restart_offer(&self) -> Result<String, RtcError> {
        self.call(|reply| Control::PublishRestartOffer { reply }).await
    }

    /// Answers the server's subscriber offer that restarts ICE.
    pub(crate) async fn subscribe_restart_offer(&self, offer: String) -> Result<String, RtcError> {
        self.call(|reply| Control::SubscribeRestartOffer { offer, reply }).await
    }

    pub(crate) async fn subscribe_offer(
        &self,
        offer: String,
        track: Arc<RemoteShared>,
    ) -> Result<(String, Mid), RtcError> {
        self.call(|reply| Control::SubscribeOffer { offer, track, reply }).await
    }
}

/// A running engine. Dropping it stops the task and ends every remote track.
pub(crate) struct Engine {
    sender: EngineSender,
    _shutdown: oneshot::Sender<()>,
}

impl Engine {
    /// Binds two UDP sockets on the local address that routes to `server_url`'s host (or to `media_address`, which
    /// then replaces the server's ICE candidates) and starts the task.
    pub(crate) async fn start(
        server_url: &str,
        media_address: Option<SocketAddr>,
        on_reconnect: OnReconnect,
    ) -> Result<Engine, RtcError> {
        let ip = match media_address {
            Some(address) => route_ip(&format!("udp://{address}")).await?,
            None => route_ip(server_url).await?,
        };
        let bind = |ip: IpAddr| async move {
            UdpSocket::bind(SocketAddr::new(ip, 0)).await.map_err(|e| {
                RtcError::new(
                    ErrorCode::NoIceCandidate,
                    format!("cannot bind a media socket on {ip}: {e}"),
                )
            })
        };
        let publisher = bind(ip).await?;
        let subscriber = bind(ip).await?;
        let local = |socket: &UdpSocket| {
            socket
                .local_addr()
                .map_err(|e| RtcError::new(ErrorCode::NoIceCandidate, format!("media socket address: {e}")))
        };
        let mut core = EngineCore::new(local(&publisher)?, local(&subscriber)?, Instant::now())?;
        core.set_media_address(media_address);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (media_tx, media_rx) = mpsc::channel(MEDIA_QUEUE);
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        tracing::debug!(
            publisher = %core.local_addr(Side::Publisher),
            subscriber = %core.local_addr(Side::Subscriber),
            "media engine started"
        );
        tokio::spawn(run(
            core,
            [publisher, subscriber],
            control_rx,
            media_rx,
            shutdown_rx,
            on_reconnect,
        ));
        Ok(Engine {
            sender: EngineSender {
                control: control_tx,
                media: media_tx,
            },
            _shutdown: shutdown_tx,
        })
    }

    pub(crate) fn sender(&self) -> EngineSender {
        self.sender.clone()
    }
}

/// The local IP of the route to the host of `server_url` (the ICE host candidate): 127.0.0.1 for a loopback server.
async fn route_ip(server_url: &str) -> Result<IpAddr, RtcError> {
    let no_route = |detail: String| RtcError::new(ErrorCode::NoIceCandidate, detail);
    let url = reqwest::Url::parse(server_url).map_err(|e| no_route(format!("server url {server_url:?}: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| no_route(format!("server url {server_url:?} has no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let target = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| no_route(format!("cannot resolve {host}: {e}")))?
        .next()
        .ok_or_else(|| no_route(format!("{host} has no address")))?;
    if target.ip().is_loopback() {
        return Ok(target.ip());
    }
    let unspecified: IpAddr = if target.is_ipv4() {
        IpAddr::from([0u8; 4])
    } else {
        IpAddr::from([0u16; 8])
    };
    let probe = std::net::UdpSocket::bind(SocketAddr::new(unspecified, 0))
        .and_then(|socket| socket.connect(target).map(|()| socket))
        .and_then(|socket| socket.local_addr())
        .map_err(|e| no_route(format!("no route to {target}: {e}")))?;
    Ok(probe.ip())
}

/// The engine task: datagrams, control, media and time into the core; datagrams out.
async fn run(
    mut core: EngineCore,
    sockets: [UdpSocket; 2],
    mut control: mpsc::UnboundedReceiver<Control>,
    mut media: mpsc::Receiver<(Mid, Outbound)>,
    mut shutdown: oneshot::Receiver<()>,
    on_reconnect: OnReconnect,
) {
    let [publisher, subscriber] = sockets;
    let mut buf_pub = vec![0u8; MAX_DATAGRAM];
    let mut buf_sub = vec![0u8; MAX_DATAGRAM];
    loop {
        while let Some((side, lost)) = core.poll_reconnect() {
            on_reconnect(side, lost);
        }
        while let Some(t) = core.poll_transmit() {
            let socket = match t.side {
                Side::Publisher => &publisher,
                Side::Subscriber => &subscriber,
            };
            if let Err(e) = socket.send_to(&t.contents, t.destination).await {
                tracing::debug!(destination = %t.destination, "media send failed: {e}");
            }
        }
        let wake = core
            .next_timeout()
            .max(Instant::now())
            .min(Instant::now() + Duration::from_secs(1));
        tokio::select! {
            _ = &mut shutdown => break,
            received = publisher.recv_from(&mut buf_pub) => match received {
                Ok((len, source)) => core.handle_datagram(Side::Publisher, source, &buf_pub[..len], Instant::now()),
                Err(e) => tracing::debug!("media receive failed: {e}"),
            },
            received = subscriber.recv_from(&mut buf_sub) => match received {
                Ok((len, source)) => core.handle_datagram(Side::Subscriber, source, &buf_sub[..len], Instant::now()),
                Err(e) => tracing::debug!("media receive failed: {e}"),
            },
            Some((mid, frame)) = media.recv() => match frame {
                Outbound::Audio(packet) => core.write_audio(mid, packet, Instant::now()),
                Outbound::Video(codec, frame) => core.write_video(mid, codec, frame, Instant::now()),
            },
            command = control.recv() => match command {
                Some(command) => apply(&mut core, command),
                None => break,
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => core.handle_timeout(Instant::now()),
        }
    }
    core.close();
    tracing::debug!("media engine stopped");
}

fn apply(core: &mut EngineCore, command: Control) {
    let now = Instant::now();
    match command {
        Control::PublishOffer { tracks, reply } => {
            let _ = reply.send(core.publish_offer(tracks, now));
        }
        Control::PublishAnswer { answer, reply } => {
            let _ = reply.send(core.publish_answer(&answer, now));
        }
        Control::PublishCancel => core.publish_cancel(),
        Control::PublishRestartOffer { reply } => {
            let _ = reply.send(core.publish_restart_offer(now));
        }
        Control::SubscribeRestartOffer { offer, reply } => {
            let _ = reply.send(core.subscribe_restart_offer(&offer, now));
        }
        Control::Unpublish(mid) => core.unpublish(mid),
        Control::SubscribeOffer { offer, track, reply } => {
            let _ = reply.send(core.subscribe_offer(&offer, track, now));
        }
        Control::Forget(mid) => core.forget(mid),
        Control::Rebind(mid, track) => core.rebind(mid, track),
    }
}
