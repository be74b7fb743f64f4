//! The client: `join`, `leave`, roles and tokens over the signalling protocol, with reconnection, and publishing
//! and subscribing through the media engine ([`crate::engine`]). One task (the driver) owns the WebSocket; the
//! [`Client`] handle talks to it through a channel and reads the shared state. Media negotiations (publish,
//! unpublish, subscribe, unsubscribe) run one at a time, each in a task of its own so that dropping the caller's
//! future never leaves the client and the server disagreeing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use stoa_proto::signal::{
    ClientFrame, ClientRole, DisconnectReason, GatewayRequest, GatewayResponse, JoinRequest, Joined, MediaType, Mode,
    Request, ServerFrame, TrackState,
};
use stoa_proto::{ErrorCode, RtcError, validate};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::engine::{
    Engine, EngineSender, LocalAudioTrack, LocalTrack, LocalVideoTrack, NewTrack, Publication, RemoteAudioTrack,
    RemoteShared, RemoteTrack, RemoteVideoTrack, Side,
};
use crate::media::video::VideoCodec;
use crate::state::{ClientState, ConnectionState, Event, LinkSample, NetworkQuality, RemoteUser, Uid};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Video codec preference, `ClientConfig.codec`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Codec {
    #[default]
    Vp8,
    Vp9,
    H264,
    Av1,
    H265,
}

impl Codec {
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Vp8 => "vp8",
            Codec::Vp9 => "vp9",
            Codec::H264 => "h264",
            Codec::Av1 => "av1",
            Codec::H265 => "h265",
        }
    }
}

/// `RetryConfiguration`: the wait before retry `n` is `timeout * timeout_factor^n`, capped at `max_retry_timeout`.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryConfig {
    pub timeout: Duration,
    pub timeout_factor: f64,
    /// `None` retries forever.
    pub max_retry_count: Option<u32>,
    pub max_retry_timeout: Duration,
}

impl RetryConfig {
    /// Agora's defaults (500 ms, x1.5, waits capped at 10 s) with the given retry count.
    pub fn agora(max_retry_count: Option<u32>) -> Self {
        RetryConfig {
            timeout: Duration::from_millis(500),
            timeout_factor: 1.5,
            max_retry_count,
            max_retry_timeout: Duration::from_secs(10),
        }
    }

    pub fn delay(&self, retry: u32) -> Duration {
        let factor = self.timeout_factor.max(0.0).powi(retry.min(64) as i32);
        self.timeout.mul_f64(factor.min(1e6)).min(self.max_retry_timeout)
    }

    fn may_retry(&self, retries_done: u32) -> bool {
        self.max_retry_count.is_none_or(|max| retries_done < max)
    }
}

/// `ClientConfig` of `createClient`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    pub mode: Mode,
    pub codec: Codec,
    /// In live mode the default role is audience, as in the Web SDK; in rtc mode it is always host.
    pub role: Option<ClientRole>,
    /// Discovery requests (and the first WebSocket connection): by default 6 retries, about 10 s in all.
    pub http_retry: RetryConfig,
    /// Reconnection after the link drops: by default forever, until `leave`.
    pub websocket_retry: RetryConfig,
    /// A signalling request with no answer for this long fails with `NETWORK_TIMEOUT` (Agora: 10 s).
    pub request_timeout: Duration,
    /// Sends media to this UDP address instead of the one the server announces in its SDP: for a port forward or
    /// a UDP relay in front of the server (tests use it to put a lossy link between one client and the server).
    /// `None` (the default) uses the server's candidate.
    pub media_server_address: Option<std::net::SocketAddr>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            mode: Mode::Rtc,
            codec: Codec::Vp8,
            role: None,
            http_retry: RetryConfig::agora(Some(6)),
            websocket_retry: RetryConfig::agora(None),
            request_timeout: Duration::from_secs(10),
            media_server_address: None,
        }
    }
}

/// How long `leave` waits for the server's answer before closing anyway (Agora: 3 s).
const LEAVE_TIMEOUT: Duration = Duration::from_secs(3);
/// One HTTP or WebSocket connection attempt (Agora's HTTP_CONNECT_TIMEOUT).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

enum Command {
    Leave(oneshot::Sender<()>),
    Request(Request, oneshot::Sender<Result<Reply, RtcError>>),
}

/// A successful answer to a request.
#[derive(Debug)]
enum Reply {
    Ok,
    /// `published`: the SDP answer for the publisher transport.
    Published(String),
    /// `subscribed`: the SDP offer of the subscriber transport.
    Subscribed(String),
}

/// A subscription: the remote track and its m-line on the subscriber transport.
struct Subscription {
    uid: u32,
    media_type: MediaType,
    mid: str0m::media::Mid,
    track: RemoteTrack,
}

/// The media side of a joined client.
#[derive(Default)]
struct MediaState {
    engine: Option<Engine>,
    published: Vec<LocalTrack>,
    subscriptions: Vec<Subscription>,
    /// Transports whose UDP path is lost now.
    lost_paths: Vec<Side>,
    /// Transports with an ICE restart loop running (see [`restart_ice_while_lost`]).
    restarting: Vec<Side>,
}

impl MediaState {
    /// Releases everything: tracks are no longer published, subscriptions end, the engine stops.
    fn reset(&mut self) {
        for track in self.published.drain(..) {
            track.detach();
        }
        for subscription in self.subscriptions.drain(..) {
            subscription.track.end();
        }
        self.engine = None;
        // Restart loops see no engine and end.
        self.lost_paths.clear();
    }

    /// Brings the subscriptions in line with `users` after a rejoin: those of users who left are dropped, those of
    /// tracks no longer available end (dormant, as after `user_unpublished`).
    fn sync_with(&mut self, users: &[RemoteUser]) {
        let sender = self.engine_sender();
        self.subscriptions
            .retain(|s| match users.iter().find(|u| u.uint_uid == s.uid) {
                None => {
                    s.track.end();
                    if let Some(sender) = &sender {
                        sender.forget(s.mid);
                    }
                    false
                }
                Some(user) => {
                    if !user.has(s.media_type) {
                        s.track.end();
                    }
                    true
                }
            });
    }

    fn engine_sender(&self) -> Option<EngineSender> {
        self.engine.as_ref().map(Engine::sender)
    }

    /// Records a lost or restored path; true when a lost path needs an ICE restart loop started.
    fn path_changed(&mut self, side: Side, lost: bool) -> bool {
        self.lost_paths.retain(|s| *s != side);
        if !lost {
            return false;
        }
        self.lost_paths.push(side);
        if self.restarting.contains(&side) {
            return false;
        }
        self.restarting.push(side);
        true
    }

    /// The engine to restart `side` on while its path is still lost; else the loop ends (and is no longer running).
    fn still_lost(&mut self, side: Side) -> Option<EngineSender> {
        let engine = self.engine_sender().filter(|_| self.lost_paths.contains(&side));
        if engine.is_none() {
            self.restarting.retain(|s| *s != side);
        }
        engine
    }

    /// Ends the remote tracks a push makes void.
    ///
    /// - `user_unpublished` (unpublished, muted or disabled): the track ends, as the Web SDK's `audioTrack` goes
    ///   away, but the subscription stays **dormant**: the server keeps subscriptions to muted and disabled tracks
    ///   and answers a later `subscribe` with `ok`, and then a new track is bound to the same m-line. (After a
    ///   real unpublish the server has dropped it, and the next `subscribe` brings a new m-line instead.)
    /// - `user_left`: the server dropped the user's subscriptions; so does the client.
    fn on_push(&mut self, frame: &ServerFrame) {
        match frame {
            ServerFrame::UserUnpublished { uid, media_type } => {
                for s in &self.subscriptions {
                    if s.uid == *uid && s.media_type == *media_type {
                        s.track.end();
                    }
                }
            }
            ServerFrame::UserLeft { uid, .. } => {
                let sender = self.engine_sender();
                self.subscriptions.retain(|s| {
                    if s.uid != *uid {
                        return true;
                    }
                    s.track.end();
                    if let Some(sender) = &sender {
                        sender.forget(s.mid);
                    }
                    false
                });
            }
            _ => {}
        }
    }
}

struct Inner {
    machine: ClientState,
    role: ClientRole,
    uid: Option<Uid>,
    channel: Option<String>,
    driver: Option<mpsc::Sender<Command>>,
    task: Option<tokio::task::JoinHandle<()>>,
    media: MediaState,
    /// The last signalling ping's round trip: the link's delay when no media flows to measure it.
    ping_rtt: Option<Duration>,
    /// This client's own rating of its link, as of the last `network-quality`.
    network_quality: NetworkQuality,
}

impl Inner {
    /// Rates both directions of the link from the media stats (loss, round trip, jitter), the signalling round
    /// trip standing in for a direction that carries no media.
    fn rate_network(&self) -> NetworkQuality {
        let ping_ms = self.ping_rtt.map_or(0.0, |rtt| rtt.as_secs_f64() * 1000.0);
        let ping = self.ping_rtt.map(|_| LinkSample {
            rtt_ms: ping_ms,
            ..LinkSample::default()
        });
        let worst = |acc: Option<LinkSample>, next: LinkSample| {
            let acc = acc.unwrap_or_default();
            Some(LinkSample {
                loss_rate: acc.loss_rate.max(next.loss_rate),
                rtt_ms: acc.rtt_ms.max(next.rtt_ms),
                jitter_ms: acc.jitter_ms.max(next.jitter_ms),
            })
        };
        // The SDK's stats give loss in percent.
        let mut uplink = None;
        for track in &self.media.published {
            let (sent, loss, rtt, jitter) = match track {
                LocalTrack::Audio(t) => {
                    let s = t.stats();
                    (
                        s.send_packets,
                        s.current_packet_loss_rate,
                        s.send_rtt_ms,
                        s.send_jitter_ms,
                    )
                }
                LocalTrack::Video(t) => {
                    let s = t.stats();
                    (
                        s.send_packets,
                        s.current_packet_loss_rate,
                        s.send_rtt_ms,
                        s.send_jitter_ms,
                    )
                }
            };
            if sent > 0 {
                let sample = LinkSample {
                    loss_rate: loss / 100.0,
                    rtt_ms: rtt.max(ping_ms),
                    jitter_ms: jitter,
                };
                uplink = worst(uplink, sample);
            }
        }
        let mut downlink = None;
        for subscription in &self.media.subscriptions {
            let (received, loss) = match &subscription.track {
                RemoteTrack::Audio(t) => {
                    let s = t.stats();
                    (s.receive_packets, s.current_packet_loss_rate)
                }
                RemoteTrack::Video(t) => {
                    let s = t.stats();
                    (s.receive_packets, s.current_packet_loss_rate)
                }
            };
            if received > 0 {
                let sample = LinkSample {
                    loss_rate: loss / 100.0,
                    rtt_ms: ping_ms,
                    jitter_ms: 0.0,
                };
                downlink = worst(downlink, sample);
            }
        }
        NetworkQuality {
            uplink: NetworkQuality::level(uplink.or(ping)),
            downlink: NetworkQuality::level(downlink.or(ping)),
        }
    }

    /// DISCONNECTED with `reason`, forgetting the session and its media.
    fn disconnected(&mut self, reason: Option<DisconnectReason>) {
        self.machine.set_connection(ConnectionState::Disconnected, reason);
        self.driver = None;
        self.uid = None;
        self.channel = None;
        self.media.reset();
    }
}

/// Distinguishes clients, so a track knows which one it is published on.
static NEXT_CLIENT_ID: AtomicU64 = AtomicU64::new(1);

struct Shared {
    id: u64,
    server: String,
    config: ClientConfig,
    http: reqwest::Client,
    inner: Mutex<Inner>,
    events: broadcast::Sender<Event>,
    /// Held through each media negotiation, so they run one at a time (the server's subscriber transport has one
    /// offer outstanding at most).
    negotiation: tokio::sync::Mutex<()>,
}

impl Shared {
    /// Runs `f` on the state, then publishes the events it queued.
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let result = f(&mut inner);
        while let Some(event) = inner.machine.poll_event() {
            // No receiver is fine: nobody listens.
            let _ = self.events.send(event);
        }
        result
    }

    fn set_connection(&self, state: ConnectionState, reason: Option<DisconnectReason>) {
        self.with(|inner| inner.machine.set_connection(state, reason));
    }
}

/// Sends `request` on the signalling link and waits for its answer.
async fn request(shared: &Shared, request: Request) -> Result<Reply, RtcError> {
    let (state, driver) = shared.with(|inner| (inner.machine.connection(), inner.driver.clone()));
    match state {
        ConnectionState::Connected => {}
        ConnectionState::Reconnecting => {
            return Err(RtcError::new(
                ErrorCode::WsDisconnect,
                "the signalling link is down (reconnecting)",
            ));
        }
        _ => {
            return Err(RtcError::new(
                ErrorCode::InvalidOperation,
                format!("not joined (state {})", state.as_str()),
            ));
        }
    }
    let driver = driver.ok_or_else(|| RtcError::new(ErrorCode::InvalidOperation, "not joined"))?;
    let (tx, rx) = oneshot::channel();
    driver
        .send(Command::Request(request, tx))
        .await
        .map_err(|_| RtcError::new(ErrorCode::WsDisconnect, "the signalling link is closed"))?;
    rx.await.unwrap_or_else(|_| {
        Err(RtcError::new(
            ErrorCode::WsAbort,
            "the signalling link closed during the request",
        ))
    })
}

/// What a published track keeps of its client: announcing mute and enable changes, and unpublishing on close.
#[derive(Clone)]
pub(crate) struct ClientLink {
    shared: Weak<Shared>,
    client_id: u64,
}

impl ClientLink {
    pub(crate) fn client_id(&self) -> u64 {
        self.client_id
    }

    /// `set_track_state` on the signalling link (nothing when the client is gone).
    pub(crate) async fn set_track_state(&self, state: TrackState) -> Result<(), RtcError> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        request(&shared, Request::SetTrackState(state)).await.map(|_| ())
    }

    /// Unpublishes `track` in a task of its own (for `close()`, which cannot wait).
    pub(crate) fn unpublish_in_background(&self, track: LocalTrack) {
        let (Some(shared), Ok(runtime)) = (self.shared.upgrade(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        runtime.spawn(async move {
            if let Err(e) = unpublish_tracks(shared, Some(vec![track])).await {
                tracing::debug!("unpublish after close: {e}");
            }
        });
    }
}

/// Runs a media negotiation in a task of its own: dropping the caller's future lets it finish, so the client's and
/// the server's views stay the same.
async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, RtcError>> + Send + 'static,
) -> Result<T, RtcError> {
    tokio::spawn(work).await.unwrap_or_else(|e| {
        Err(RtcError::new(
            ErrorCode::UnexpectedError,
            format!("media task failed: {e}"),
        ))
    })
}

fn not_joined_for_publish() -> RtcError {
    RtcError::new(ErrorCode::InvalidOperation, "Can't publish stream, haven't joined yet!")
}

/// The engine of the joined client, started on first use.
async fn ensure_engine(shared: &Arc<Shared>) -> Result<EngineSender, RtcError> {
    if let Some(sender) = shared.with(|inner| inner.media.engine_sender()) {
        return Ok(sender);
    }
    let weak = Arc::downgrade(shared);
    let on_reconnect = Box::new(move |side: Side, lost: bool| {
        if let Some(shared) = weak.upgrade() {
            let restart = shared.with(|inner| {
                media_reconnect(inner, side, lost);
                inner.media.path_changed(side, lost)
            });
            if restart {
                tokio::spawn(restart_ice_while_lost(Arc::downgrade(&shared), side));
            }
        }
    });
    let engine = Engine::start(&shared.server, shared.config.media_server_address, on_reconnect).await?;
    shared.with(|inner| {
        if inner.machine.connection() == ConnectionState::Disconnected {
            return Err(RtcError::new(ErrorCode::OperationAborted, "the client left"));
        }
        Ok(inner.media.engine.get_or_insert(engine).sender())
    })
}

/// A transport still without its path after this long gets an ICE restart over signalling...
const ICE_RESTART_GRACE: Duration = Duration::from_secs(2);
/// ...and another one at this interval until the path is back.
const ICE_RESTART_RETRY: Duration = Duration::from_secs(5);

/// Restarts ICE on `side` while its path stays lost (a path that lasts past the ICE agent's own patience, or a
/// network change, comes back only with new credentials). Ends when the path is back, the engine stopped or the
/// client is gone; waits while signalling is down (a lost session rebuilds the transports anyway).
async fn restart_ice_while_lost(weak: Weak<Shared>, side: Side) {
    let mut wait = ICE_RESTART_GRACE;
    loop {
        tokio::time::sleep(wait).await;
        wait = ICE_RESTART_RETRY;
        let Some(shared) = weak.upgrade() else { return };
        let Some(engine) = shared.with(|inner| inner.media.still_lost(side)) else {
            return;
        };
        if shared.with(|inner| inner.machine.connection()) != ConnectionState::Connected {
            continue;
        }
        let _turn = shared.negotiation.lock().await;
        match restart_ice(&shared, &engine, side).await {
            Ok(()) => tracing::info!(?side, "ICE restarted"),
            Err(error) => tracing::warn!(?side, "ICE restart failed: {error}"),
        }
    }
}

/// One ICE restart of `side`: an SDP round with new credentials on both ends.
async fn restart_ice(shared: &Shared, engine: &EngineSender, side: Side) -> Result<(), RtcError> {
    match side {
        Side::Publisher => {
            let offer = engine.publish_restart_offer().await?;
            match request(shared, Request::RestartPublisherIce { offer }).await {
                Ok(Reply::Published(answer)) => engine.publish_answer(answer).await,
                Ok(other) => {
                    engine.publish_cancel();
                    Err(unexpected_reply("restart_publisher_ice", &other))
                }
                Err(error) => {
                    engine.publish_cancel();
                    Err(error)
                }
            }
        }
        Side::Subscriber => match request(shared, Request::RestartSubscriberIce).await? {
            Reply::Subscribed(offer) => {
                let answer = engine.subscribe_restart_offer(offer).await?;
                request(shared, Request::SubscriberAnswer { answer }).await.map(|_| ())
            }
            other => Err(unexpected_reply("restart_subscriber_ice", &other)),
        },
    }
}

/// `media-reconnect-start` / `-end`: for the publisher transport with the local uid, for the subscriber transport
/// with the uid of each user subscribed to.
fn media_reconnect(inner: &mut Inner, side: Side, lost: bool) {
    let uids: Vec<Uid> = match side {
        Side::Publisher => inner.uid.iter().cloned().collect(),
        Side::Subscriber => {
            let mut uids: Vec<Uid> = Vec::new();
            for s in &inner.media.subscriptions {
                if !uids.contains(s.track.uid()) {
                    uids.push(s.track.uid().clone());
                }
            }
            uids
        }
    };
    for uid in uids {
        inner.machine.queue_event(if lost {
            Event::MediaReconnectStart(uid)
        } else {
            Event::MediaReconnectEnd(uid)
        });
    }
}

async fn publish_tracks(shared: Arc<Shared>, tracks: Vec<LocalTrack>) -> Result<(), RtcError> {
    if tracks.is_empty() {
        return Err(RtcError::new(ErrorCode::InvalidParams, "param list is empty"));
    }
    let check_joined = || {
        shared.with(|inner| match inner.machine.connection() {
            ConnectionState::Connected | ConnectionState::Reconnecting => {
                if inner.role == ClientRole::Audience {
                    Err(RtcError::new(
                        ErrorCode::InvalidOperation,
                        "audience can not publish stream",
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Err(not_joined_for_publish()),
        })
    };
    check_joined()?;
    for track in &tracks {
        if track.is_closed() {
            return Err(RtcError::new(
                ErrorCode::InvalidLocalTrack,
                format!("the track {} is closed", track.track_id()),
            ));
        }
        if !track.enabled() {
            return Err(RtcError::new(
                ErrorCode::TrackIsDisabled,
                format!("can not publish a disabled track: {}", track.track_id()),
            ));
        }
        if track.published_on().is_some_and(|client| client != shared.id) {
            return Err(RtcError::new(
                ErrorCode::InvalidLocalTrack,
                format!("the track {} is published by another client", track.track_id()),
            ));
        }
    }
    let _turn = shared.negotiation.lock().await;
    check_joined()?;
    // Tracks not yet published here, each once.
    let (fresh, uid) = shared.with(|inner| {
        let mut fresh: Vec<LocalTrack> = Vec::new();
        for track in &tracks {
            let known = inner.media.published.iter().chain(&fresh).any(|t| t.same_track(track));
            if !known {
                fresh.push(track.clone());
            }
        }
        let audio = inner
            .media
            .published
            .iter()
            .chain(&fresh)
            .filter(|t| t.media_type() == MediaType::Audio)
            .count();
        if audio > 1 {
            return Err(RtcError::new(
                ErrorCode::InvalidOperation,
                "a client publishes one audio track at a time: mix the audio into it",
            ));
        }
        let video = inner
            .media
            .published
            .iter()
            .chain(&fresh)
            .filter(|t| t.media_type() == MediaType::Video)
            .count();
        if video > 1 {
            return Err(RtcError::new(
                ErrorCode::CanNotPublishMultipleVideoTracks,
                "can not publish multiple video tracks",
            ));
        }
        let uid = match &inner.uid {
            Some(Uid::Number(n)) => n.to_string(),
            Some(Uid::Account(a)) => a.clone(),
            None => String::new(),
        };
        Ok((fresh, uid))
    })?;
    if fresh.is_empty() {
        return Ok(());
    }
    // Video is encoded with the client's codec: refuse what this SDK cannot encode before negotiating.
    let video_codec = if fresh.iter().any(|t| t.media_type() == MediaType::Video) {
        let codec = VideoCodec::try_from(shared.config.codec)?;
        for track in &fresh {
            if let LocalTrack::Video(video) = track {
                crate::media::video::VideoEncoderConfig {
                    codec,
                    ..video.config()
                }
                .validate()?;
            }
        }
        Some(codec)
    } else {
        None
    };
    let engine = ensure_engine(&shared).await?;
    let new_tracks = fresh
        .iter()
        .map(|track| NewTrack {
            kind: match track.media_type() {
                MediaType::Audio => str0m::media::MediaKind::Audio,
                MediaType::Video => str0m::media::MediaKind::Video,
            },
            stream_id: format!("stoa-{uid}"),
            track_id: track.track_id().to_string(),
            send: track.send_shared(),
        })
        .collect();
    let (offer, mids) = engine.publish_offer(new_tracks).await?;
    let states: Vec<TrackState> = fresh.iter().map(LocalTrack::state).collect();
    let answer = match request(
        &shared,
        Request::Publish {
            tracks: states.clone(),
            offer,
        },
    )
    .await
    {
        Ok(Reply::Published(answer)) => answer,
        Ok(other) => {
            engine.publish_cancel();
            return Err(RtcError::new(
                ErrorCode::UnexpectedResponse,
                format!("unexpected answer to publish: {other:?}"),
            ));
        }
        Err(error) => {
            engine.publish_cancel();
            return Err(error);
        }
    };
    if let Err(error) = engine.publish_answer(answer).await {
        // The server publishes what this client cannot send: take it back.
        let media_types = states.iter().map(|s| s.media_type).collect();
        let _ = request(&shared, Request::Unpublish { media_types }).await;
        return Err(error);
    }
    let link = ClientLink {
        shared: Arc::downgrade(&shared),
        client_id: shared.id,
    };
    let attached = shared.with(|inner| {
        // A leave during the exchange released the engine: nothing to attach to.
        if inner.machine.connection() == ConnectionState::Disconnected || inner.media.engine.is_none() {
            return false;
        }
        for (track, mid) in fresh.iter().zip(mids) {
            track.attach(Publication {
                link: link.clone(),
                mid,
                engine: engine.clone(),
                video_codec: (track.media_type() == MediaType::Video)
                    .then_some(video_codec)
                    .flatten(),
            });
            inner.media.published.push(track.clone());
        }
        true
    });
    if !attached {
        return Err(RtcError::new(
            ErrorCode::OperationAborted,
            "the client left during publish",
        ));
    }
    for (track, sent) in fresh.iter().zip(&states) {
        // Changes made while the publish was under way were not announced.
        if track.is_closed() {
            unpublish_locked(&shared, Some(vec![track.clone()])).await?;
        } else if track.state() != *sent {
            request(&shared, Request::SetTrackState(track.state())).await?;
        }
    }
    Ok(())
}

/// Unpublishes `tracks` (all when `None`).
async fn unpublish_tracks(shared: Arc<Shared>, tracks: Option<Vec<LocalTrack>>) -> Result<(), RtcError> {
    let _turn = shared.negotiation.lock().await;
    unpublish_locked(&shared, tracks).await
}

async fn unpublish_locked(shared: &Shared, tracks: Option<Vec<LocalTrack>>) -> Result<(), RtcError> {
    let (gone, engine, connected) = shared.with(|inner| {
        let mut gone = Vec::new();
        inner.media.published.retain(|t| {
            let hit = tracks.as_ref().is_none_or(|list| list.iter().any(|x| x.same_track(t)));
            if hit {
                gone.push(t.clone());
            }
            !hit
        });
        let connected = inner.machine.connection() == ConnectionState::Connected;
        (gone, inner.media.engine_sender(), connected)
    });
    if gone.is_empty() {
        return Ok(());
    }
    for track in &gone {
        if let (Some(mid), Some(engine)) = (track.detach(), &engine) {
            engine.unpublish(mid);
        }
    }
    if !connected {
        return Ok(());
    }
    let media_types = gone.iter().map(LocalTrack::media_type).collect();
    request(shared, Request::Unpublish { media_types }).await.map(|_| ())
}

/// The remote user `uid` refers to, if present.
fn find_user(shared: &Shared, uid: &Uid) -> Option<RemoteUser> {
    shared.with(|inner| {
        inner.machine.remote_users().into_iter().find(|user| match uid {
            Uid::Number(n) => user.uint_uid == *n || user.uid == *uid,
            Uid::Account(_) => user.uid == *uid,
        })
    })
}

async fn subscribe_track(shared: Arc<Shared>, uid: Uid, media_type: MediaType) -> Result<RemoteTrack, RtcError> {
    let joined = || {
        let state = shared.with(|inner| inner.machine.connection());
        match state {
            ConnectionState::Connected | ConnectionState::Reconnecting => Ok(()),
            _ => Err(RtcError::new(
                ErrorCode::InvalidOperation,
                "Can't subscribe stream, not joined",
            )),
        }
    };
    let published_user = || {
        let user = find_user(&shared, &uid)
            .ok_or_else(|| RtcError::new(ErrorCode::InvalidRemoteUser, "user is not in the channel"))?;
        if !user.has(media_type) {
            return Err(RtcError::new(
                ErrorCode::RemoteUserIsNotPublished,
                format!("user is not published: no {} track", media_type.as_str()),
            ));
        }
        Ok(user)
    };
    joined()?;
    published_user()?;
    let _turn = shared.negotiation.lock().await;
    joined()?;
    let user = published_user()?;
    let key = (user.uint_uid, media_type);
    let (live, dormant) = shared.with(|inner| {
        let found = inner.media.subscriptions.iter().find(|s| (s.uid, s.media_type) == key);
        let live = found.filter(|s| !s.track.is_ended()).map(|s| s.track.clone());
        (live, found.map(|s| s.mid))
    });
    if let Some(track) = live {
        return Ok(track);
    }
    let engine = ensure_engine(&shared).await?;
    let subscribe = || Request::Subscribe {
        uid: user.uint_uid,
        media_type,
    };
    let remote = RemoteShared::new(user.uid.clone(), user.uint_uid, media_type);
    let track = RemoteTrack::new(remote.clone());
    let mid = match request(&shared, subscribe()).await? {
        // The server kept the subscription (the track was muted or disabled): same m-line, new track.
        Reply::Ok if dormant.is_some() => {
            let mid = dormant.expect("checked");
            engine.rebind(mid, remote);
            mid
        }
        Reply::Ok => {
            // The server has a subscription this client does not know: end it there and subscribe afresh.
            let unsubscribe = Request::Unsubscribe {
                uid: user.uint_uid,
                media_type,
            };
            request(&shared, unsubscribe).await?;
            match request(&shared, subscribe()).await? {
                Reply::Subscribed(offer) => answer_offer(&shared, &engine, offer, remote, key).await?,
                other => return Err(unexpected_reply("subscribe", &other)),
            }
        }
        Reply::Subscribed(offer) => {
            if let Some(old) = dormant {
                engine.forget(old);
            }
            answer_offer(&shared, &engine, offer, remote, key).await?
        }
        other => return Err(unexpected_reply("subscribe", &other)),
    };
    let still = shared.with(|inner| {
        if inner.machine.connection() == ConnectionState::Disconnected || inner.media.engine.is_none() {
            return None;
        }
        inner.media.subscriptions.retain(|s| (s.uid, s.media_type) != key);
        inner.media.subscriptions.push(Subscription {
            uid: user.uint_uid,
            media_type,
            mid,
            track: track.clone(),
        });
        Some(find_user_in(inner, user.uint_uid).is_some_and(|u| u.has(media_type)))
    });
    let Some(still) = still else {
        track.end();
        return Err(RtcError::new(
            ErrorCode::OperationAborted,
            "the client left during subscribe",
        ));
    };
    if !still {
        // Unpublished while subscribing: its push found no live track to end.
        track.end();
        return Err(RtcError::new(
            ErrorCode::RemoteUserIsNotPublished,
            "user is not published: the track was unpublished during subscribe",
        ));
    }
    Ok(track)
}

fn unexpected_reply(what: &str, reply: &Reply) -> RtcError {
    RtcError::new(
        ErrorCode::UnexpectedResponse,
        format!("unexpected answer to {what}: {reply:?}"),
    )
}

/// Answers a subscriber offer that adds the subscription `key` for `remote`; returns its m-line. On failure the
/// server's subscription is dropped again.
async fn answer_offer(
    shared: &Shared,
    engine: &EngineSender,
    offer: String,
    remote: Arc<RemoteShared>,
    key: (u32, MediaType),
) -> Result<str0m::media::Mid, RtcError> {
    let unsubscribe = Request::Unsubscribe {
        uid: key.0,
        media_type: key.1,
    };
    let (answer, mid) = match engine.subscribe_offer(offer, remote).await {
        Ok(done) => done,
        Err(error) => {
            let _ = request(shared, unsubscribe).await;
            return Err(error);
        }
    };
    if let Err(error) = request(shared, Request::SubscriberAnswer { answer }).await {
        engine.forget(mid);
        let _ = request(shared, unsubscribe).await;
        return Err(error);
    }
    Ok(mid)
}

fn find_user_in(inner: &Inner, uid: u32) -> Option<RemoteUser> {
    inner.machine.remote_users().into_iter().find(|u| u.uint_uid == uid)
}

async fn unsubscribe_tracks(shared: Arc<Shared>, uid: Uid, media_type: Option<MediaType>) -> Result<(), RtcError> {
    let _turn = shared.negotiation.lock().await;
    let (ended, connected) = shared.with(|inner| {
        let sender = inner.media.engine_sender();
        let mut ended = Vec::new();
        inner.media.subscriptions.retain(|s| {
            let user_matches = match &uid {
                Uid::Number(n) => s.uid == *n || s.track.uid() == &uid,
                Uid::Account(_) => s.track.uid() == &uid,
            };
            let hit = user_matches && media_type.is_none_or(|m| m == s.media_type);
            if hit {
                s.track.end();
                if let Some(sender) = &sender {
                    sender.forget(s.mid);
                }
                ended.push((s.uid, s.media_type));
            }
            !hit
        });
        (ended, inner.machine.connection() == ConnectionState::Connected)
    });
    if !connected {
        return Ok(());
    }
    for (uid, media_type) in ended {
        request(&shared, Request::Unsubscribe { uid, media_type }).await?;
    }
    Ok(())
}

/// `IAgoraRTCClient`, control plane: join and leave a channel, roles, token renewal, presence and connection state.
pub struct Client {
    shared: Arc<Shared>,
}

/// Parameters of the join the driver makes (and remakes after a lost session).
#[derive(Clone)]
struct JoinParams {
    app_id: String,
    channel: String,
    token: Option<String>,
    uid: Option<Uid>,
}

impl Client {
    /// A client for the Stoa server at `server_url` (`http://host:port`).
    pub fn new(server_url: &str, config: ClientConfig) -> Result<Client, RtcError> {
        let server = server_url.trim_end_matches('/').to_string();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(RtcError::new(
                ErrorCode::InvalidParams,
                format!("server url {server_url:?} must be http(s)://"),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| RtcError::new(ErrorCode::UnexpectedError, format!("http client: {e}")))?;
        let role = match config.mode {
            Mode::Rtc => ClientRole::Host,
            Mode::Live => config.role.unwrap_or(ClientRole::Audience),
        };
        let (events, _) = broadcast::channel(1024);
        let inner = Inner {
            machine: ClientState::default(),
            role,
            uid: None,
            channel: None,
            driver: None,
            task: None,
            media: MediaState::default(),
            ping_rtt: None,
            network_quality: NetworkQuality::default(),
        };
        Ok(Client {
            shared: Arc::new(Shared {
                id: NEXT_CLIENT_ID.fetch_add(1, Ordering::Relaxed),
                server,
                config,
                http,
                inner: Mutex::new(inner),
                events,
                negotiation: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// A new receiver of the client's events. Each receiver sees the events sent after it was made; one that falls
    /// more than 1024 events behind loses the oldest (`RecvError::Lagged`).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    pub fn connection_state(&self) -> ConnectionState {
        self.shared.with(|inner| inner.machine.connection())
    }

    pub fn remote_users(&self) -> Vec<RemoteUser> {
        self.shared.with(|inner| inner.machine.remote_users())
    }

    /// `getNetworkQuality`: this client's own rating of its link as of the last [`Event::NetworkQuality`] (every
    /// 2 s while connected); (0, 0) before the first.
    pub fn network_quality(&self) -> NetworkQuality {
        self.shared.with(|inner| inner.network_quality)
    }

    /// `getRemoteNetworkQuality`: each remote user's own rating of its link, as it last reported it through the
    /// server; (0, 0) for a user who has not reported one (audience members in live mode never do).
    pub fn remote_network_quality(&self) -> Vec<(Uid, NetworkQuality)> {
        self.shared.with(|inner| inner.machine.remote_network_quality())
    }

    /// The local uid while joined.
    pub fn uid(&self) -> Option<Uid> {
        self.shared.with(|inner| inner.uid.clone())
    }

    pub fn channel_name(&self) -> Option<String> {
        self.shared.with(|inner| inner.channel.clone())
    }

    pub fn role(&self) -> ClientRole {
        self.shared.with(|inner| inner.role)
    }

    pub fn mode(&self) -> Mode {
        self.shared.config.mode
    }

    /// Joins `channel`. `token` is `None` for apps without a certificate; `uid` is a number, a string, or `None`
    /// for a number assigned by the server. Resolves to the uid in the form given (assigned ones as numbers).
    ///
    /// Cancel-safe: dropping the future before it resolves abandons the join and returns to DISCONNECTED.
    pub async fn join(
        &self,
        app_id: &str,
        channel: &str,
        token: Option<&str>,
        uid: Option<Uid>,
    ) -> Result<Uid, RtcError> {
        validate::app_id(app_id)?;
        validate::channel_name(channel)?;
        validate::token(token)?;
        let uid = match uid {
            Some(Uid::Number(0)) => None,
            Some(Uid::Account(account)) => {
                validate::account(&account)?;
                Some(Uid::Account(account))
            }
            other => other,
        };
        let (result_tx, result_rx) = oneshot::channel();
        let (commands_tx, commands_rx) = mpsc::channel(32);
        self.shared.with(|inner| {
            if inner.machine.connection() != ConnectionState::Disconnected {
                return Err(RtcError::new(
                    ErrorCode::InvalidOperation,
                    "Client already in connecting/connected state",
                ));
            }
            inner.machine.set_connection(ConnectionState::Connecting, None);
            inner.driver = Some(commands_tx);
            Ok(())
        })?;
        let params = JoinParams {
            app_id: app_id.to_string(),
            channel: channel.to_string(),
            token: token.map(str::to_string),
            uid,
        };
        let task = tokio::spawn(drive(self.shared.clone(), params, commands_rx, result_tx));
        self.shared.with(|inner| inner.task = Some(task));

        let mut guard = AbandonJoin {
            shared: &self.shared,
            armed: true,
        };
        let result = result_rx
            .await
            .unwrap_or_else(|_| Err(RtcError::new(ErrorCode::OperationAborted, "join was cancelled")));
        guard.armed = false;
        result
    }

    /// Leaves the channel: DISCONNECTING, then DISCONNECTED with reason `LEAVE`. Leaving when not joined does
    /// nothing; leaving during a join aborts it (the join fails with `OPERATION_ABORTED`).
    pub async fn leave(&self) -> Result<(), RtcError> {
        let driver = self.shared.with(|inner| inner.driver.clone());
        let Some(driver) = driver else { return Ok(()) };
        let (tx, rx) = oneshot::channel();
        if driver.send(Command::Leave(tx)).await.is_ok() {
            let _ = rx.await;
        }
        self.shared
            .with(|inner| inner.disconnected(Some(DisconnectReason::Leave)));
        Ok(())
    }

    /// `setClientRole`. In rtc mode it has no effect; before joining it sets the role the join will use.
    pub async fn set_client_role(&self, role: ClientRole) -> Result<(), RtcError> {
        if self.shared.config.mode == Mode::Rtc {
            return Ok(());
        }
        let state = self.connection_state();
        if state == ConnectionState::Disconnected {
            self.shared.with(|inner| inner.role = role);
            return Ok(());
        }
        self.request(Request::SetClientRole { role }).await?;
        self.shared.with(|inner| inner.role = role);
        Ok(())
    }

    /// `renewToken`: replaces the token of the current session.
    pub async fn renew_token(&self, token: &str) -> Result<(), RtcError> {
        validate::token(Some(token))?;
        self.request(Request::RenewToken {
            token: token.to_string(),
        })
        .await
    }

    async fn request(&self, request: Request) -> Result<(), RtcError> {
        self::request(&self.shared, request).await.map(|_| ())
    }

    /// `publish`: sends local tracks to the channel; others get `user-published` for each track that is enabled and
    /// not muted. Accepts `&LocalAudioTrack`, `&LocalVideoTrack`, `LocalTrack`s, or a list of them:
    /// `client.publish([&track])`, `client.publish([LocalTrack::from(&audio), LocalTrack::from(&video)])`.
    /// Video is encoded with [`ClientConfig::codec`] (VP8, VP9 or H.264; AV1 and H.265 are `NOT_SUPPORTED`).
    /// Tracks already published here are skipped.
    ///
    /// Errors: `INVALID_OPERATION` before joining ("Can't publish stream, haven't joined yet!") and for an audience
    /// member in live mode; `INVALID_PARAMS` for an empty list; `TRACK_IS_DISABLED` for a disabled track;
    /// `INVALID_LOCAL_TRACK` for a closed track or one published by another client; `INVALID_OPERATION` for a second
    /// audio track (mix audio into one track); `CAN_NOT_PUBLISH_MULTIPLE_VIDEO_TRACKS` for a second video track;
    /// the server's refusals (e.g. no publish privilege) as it sends them.
    ///
    /// Cancel-safe: once started the negotiation finishes even if the future is dropped.
    pub async fn publish<T: Into<LocalTrack>>(&self, tracks: impl IntoIterator<Item = T>) -> Result<(), RtcError> {
        let tracks: Vec<LocalTrack> = tracks.into_iter().map(Into::into).collect();
        detached(publish_tracks(self.shared.clone(), tracks)).await
    }

    /// `publish` for one audio track.
    pub async fn publish_audio(&self, track: &LocalAudioTrack) -> Result<(), RtcError> {
        self.publish([track]).await
    }

    /// `publish` for one video track.
    pub async fn publish_video(&self, track: &LocalVideoTrack) -> Result<(), RtcError> {
        self.publish([track]).await
    }

    /// `unpublish(tracks)`: stops publishing these tracks (others get `user-unpublished`). Tracks not published
    /// here are ignored.
    pub async fn unpublish<T: Into<LocalTrack>>(&self, tracks: impl IntoIterator<Item = T>) -> Result<(), RtcError> {
        let tracks: Vec<LocalTrack> = tracks.into_iter().map(Into::into).collect();
        detached(unpublish_tracks(self.shared.clone(), Some(tracks))).await
    }

    /// `unpublish()` with no argument: stops publishing every track.
    pub async fn unpublish_all(&self) -> Result<(), RtcError> {
        detached(unpublish_tracks(self.shared.clone(), None)).await
    }

    /// `localTracks`: the tracks published now.
    pub fn local_tracks(&self) -> Vec<LocalTrack> {
        self.shared.with(|inner| inner.media.published.clone())
    }

    /// `subscribe(user, mediaType)`: receives a remote user's track. `user` is a [`RemoteUser`] (`&user`), a number
    /// uid or a [`Uid`]. Subscribing again to a live subscription returns the same track.
    ///
    /// Errors: `INVALID_OPERATION` before joining ("Can't subscribe stream, not joined"); `INVALID_REMOTE_USER`
    /// when the user is not in the channel; `REMOTE_USER_IS_NOT_PUBLISHED` when it has no available track of that
    /// type (checked here from [`RemoteUser::has_audio`] / `has_video`, and by the server).
    ///
    /// Cancel-safe like [`Client::publish`].
    pub async fn subscribe(&self, user: impl Into<Uid>, media_type: MediaType) -> Result<RemoteTrack, RtcError> {
        detached(subscribe_track(self.shared.clone(), user.into(), media_type)).await
    }

    /// [`Client::subscribe`] to the user's audio.
    pub async fn subscribe_audio(&self, user: impl Into<Uid>) -> Result<RemoteAudioTrack, RtcError> {
        match self.subscribe(user, MediaType::Audio).await? {
            RemoteTrack::Audio(track) => Ok(track),
            _ => Err(RtcError::new(ErrorCode::UnexpectedError, "not an audio track")),
        }
    }

    /// [`Client::subscribe`] to the user's video.
    pub async fn subscribe_video(&self, user: impl Into<Uid>) -> Result<RemoteVideoTrack, RtcError> {
        match self.subscribe(user, MediaType::Video).await? {
            RemoteTrack::Video(track) => Ok(track),
            _ => Err(RtcError::new(ErrorCode::UnexpectedError, "not a video track")),
        }
    }

    /// `unsubscribe(user, mediaType?)`: ends subscriptions to the user's track of `media_type`, or to all its
    /// tracks with `None`. Their receivers end. Unsubscribing what is not subscribed does nothing.
    pub async fn unsubscribe(&self, user: impl Into<Uid>, media_type: Option<MediaType>) -> Result<(), RtcError> {
        detached(unsubscribe_tracks(self.shared.clone(), user.into(), media_type)).await
    }
}

impl Drop for Client {
    /// Dropping the client leaves the channel in the background.
    fn drop(&mut self) {
        self.shared.with(|inner| inner.driver = None);
    }
}

/// Undoes a join whose future was dropped before it resolved.
struct AbandonJoin<'a> {
    shared: &'a Arc<Shared>,
    armed: bool,
}

impl Drop for AbandonJoin<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.with(|inner| {
                if let Some(task) = inner.task.take() {
                    task.abort();
                }
                inner.disconnected(Some(DisconnectReason::Leave));
            });
        }
    }
}

fn frame_text(id: Option<u32>, request: Request) -> Message {
    Message::Text(
        serde_json::to_string(&ClientFrame { id, request })
            .expect("client frames serialize")
            .into(),
    )
}

/// Asks the gateway where to signal, retrying what can be retried. Every failure is `CAN_NOT_GET_GATEWAY_SERVER`.
async fn discover(shared: &Shared, params: &JoinParams) -> Result<GatewayResponse, RtcError> {
    let body = GatewayRequest {
        app_id: params.app_id.clone(),
        channel: params.channel.clone(),
        token: params.token.clone(),
        uid: uid_json(params.uid.as_ref()),
        role: shared.with(|inner| inner.role),
    };
    let url = format!("{}/api/v1/gateway", shared.server);
    let retry = &shared.config.http_retry;
    let mut retries = 0;
    loop {
        let failure = match shared.http.post(&url).json(&body).send().await {
            Ok(response) if response.status().is_success() => match response.json::<GatewayResponse>().await {
                Ok(answer) => return Ok(answer),
                Err(e) => RtcError::new(
                    ErrorCode::NetworkResponseError,
                    format!("unreadable gateway answer: {e}"),
                ),
            },
            Ok(response) => {
                let status = response.status();
                match response.json::<RtcError>().await {
                    // A refusal: final unless the server says it may pass on retry.
                    Ok(refusal) => {
                        let retryable = refusal
                            .data
                            .as_ref()
                            .and_then(|d| d.get("retry"))
                            .and_then(|r| r.as_bool());
                        if retryable != Some(true) {
                            return Err(refusal);
                        }
                        refusal
                    }
                    Err(_) => RtcError::new(
                        ErrorCode::NetworkResponseError,
                        format!("gateway answered HTTP {status}"),
                    ),
                }
            }
            Err(e) if e.is_timeout() => {
                RtcError::new(ErrorCode::NetworkTimeout, format!("gateway request timed out: {e}"))
            }
            Err(e) => RtcError::new(ErrorCode::NetworkError, format!("gateway request failed: {e}")),
        };
        if !retry.may_retry(retries) {
            return Err(RtcError::new(
                ErrorCode::CanNotGetGatewayServer,
                format!("no gateway after {} attempts: {}", retries + 1, failure.message()),
            )
            .with_data(serde_json::json!({"retry": true, "cause": failure.code})));
        }
        tokio::time::sleep(retry.delay(retries)).await;
        retries += 1;
    }
}

fn uid_json(uid: Option<&Uid>) -> serde_json::Value {
    match uid {
        None => serde_json::Value::Null,
        Some(Uid::Number(n)) => (*n).into(),
        Some(Uid::Account(a)) => a.clone().into(),
    }
}

/// How a hello (join or rejoin) on a fresh socket ended.
enum HelloError {
    /// No socket, or it broke: worth retrying.
    Link(RtcError),
    /// The server answered with an error.
    Refused(RtcError),
}

async fn connect(url: &str) -> Result<Ws, RtcError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(RtcError::new(
            ErrorCode::WsErr,
            format!("WebSocket connection to {url} failed: {e}"),
        )),
        Err(_) => Err(RtcError::new(
            ErrorCode::NetworkTimeout,
            format!("WebSocket connection to {url} timed out"),
        )),
    }
}

/// Sends `request` (join or rejoin) as id 1 and waits for `joined` or an error.
async fn hello(ws: &mut Ws, request: Request, timeout: Duration) -> Result<Joined, HelloError> {
    ws.send(frame_text(Some(1), request))
        .await
        .map_err(|e| HelloError::Link(RtcError::new(ErrorCode::WsAbort, format!("send failed: {e}"))))?;
    let deadline = Instant::now() + timeout;
    loop {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| HelloError::Link(RtcError::new(ErrorCode::NetworkTimeout, "no answer to join")))?;
        match message {
            Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerFrame>(&text) {
                Ok(ServerFrame::Joined { joined, .. }) => return Ok(joined),
                Ok(ServerFrame::Error { error, .. }) => return Err(HelloError::Refused(error)),
                Ok(_) => continue,
                Err(e) => {
                    return Err(HelloError::Refused(RtcError::new(
                        ErrorCode::UnexpectedResponse,
                        format!("unreadable server frame: {e}"),
                    )));
                }
            },
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                return Err(HelloError::Link(RtcError::new(
                    ErrorCode::WsAbort,
                    format!("link broke: {e}"),
                )));
            }
            None => {
                return Err(HelloError::Link(RtcError::new(
                    ErrorCode::WsAbort,
                    "the server closed the link",
                )));
            }
        }
    }
}

fn join_request(shared: &Shared, params: &JoinParams) -> Request {
    Request::Join(JoinRequest {
        app_id: params.app_id.clone(),
        channel: params.channel.clone(),
        token: params.token.clone(),
        uid: uid_json(params.uid.as_ref()),
        mode: shared.config.mode,
        role: shared.with(|inner| inner.role),
        codec: Some(shared.config.codec.as_str().to_string()),
    })
}

/// The live link and what it needs to come back.
struct Session {
    url: String,
    ws: Ws,
    joined: Joined,
    params: JoinParams,
}

/// The driver: join, then serve the session until leave, a server disconnect, or reconnection gives up.
async fn drive(
    shared: Arc<Shared>,
    params: JoinParams,
    mut commands: mpsc::Receiver<Command>,
    result: oneshot::Sender<Result<Uid, RtcError>>,
) {
    let joining = first_join(&shared, params);
    tokio::pin!(joining);
    let outcome = loop {
        tokio::select! {
            outcome = &mut joining => break outcome,
            command = commands.recv() => match command {
                Some(Command::Request(_, reply)) => {
                    let _ = reply.send(Err(RtcError::new(ErrorCode::InvalidOperation, "still joining")));
                }
                Some(Command::Leave(done)) => {
                    let _ = result.send(Err(RtcError::new(ErrorCode::OperationAborted, "leave was called during join")));
                    shared.set_connection(ConnectionState::Disconnected, Some(DisconnectReason::Leave));
                    let _ = done.send(());
                    return;
                }
                None => return,
            },
        }
    };
    let mut session = match outcome {
        Ok(session) => session,
        Err(error) => {
            shared.with(|inner| inner.disconnected(None));
            let _ = result.send(Err(error));
            return;
        }
    };
    let uid = match &session.params.uid {
        Some(Uid::Account(account)) => Uid::Account(account.clone()),
        _ => Uid::Number(session.joined.uid),
    };
    shared.with(|inner| {
        inner.uid = Some(uid.clone());
        inner.channel = Some(session.params.channel.clone());
        inner.role = session.joined.role;
        inner.machine.joined(&session.joined);
    });
    if result.send(Ok(uid)).is_err() {
        // The join future was dropped at the last moment: leave rather than linger.
        let _ = session.ws.send(frame_text(None, Request::Leave)).await;
        return;
    }
    loop {
        match run_link(&shared, &mut session, &mut commands).await {
            LinkEnd::Finished => return,
            LinkEnd::Dropped => {
                tracing::info!(channel = %session.params.channel, "signalling link dropped: reconnecting");
                shared.with(|inner| {
                    inner.machine.set_connection(ConnectionState::Reconnecting, None);
                    // The link is down both ways until the session is back (Agora's 6).
                    let down = NetworkQuality { uplink: 6, downlink: 6 };
                    inner.network_quality = down;
                    inner.machine.queue_event(Event::NetworkQuality(down));
                });
                if !reconnect(&shared, &mut session, &mut commands).await {
                    return;
                }
            }
        }
    }
}

async fn first_join(shared: &Shared, params: JoinParams) -> Result<Session, RtcError> {
    let gateway = discover(shared, &params).await?;
    let retry = &shared.config.http_retry;
    let mut retries = 0;
    loop {
        let attempt = async {
            let mut ws = connect(&gateway.signalling_url).await.map_err(HelloError::Link)?;
            let joined = hello(&mut ws, join_request(shared, &params), shared.config.request_timeout).await?;
            Ok::<_, HelloError>((ws, joined))
        };
        match attempt.await {
            Ok((ws, joined)) => {
                return Ok(Session {
                    url: gateway.signalling_url,
                    ws,
                    joined,
                    params,
                });
            }
            Err(HelloError::Refused(error)) => return Err(error),
            Err(HelloError::Link(error)) if !retry.may_retry(retries) => return Err(error),
            Err(HelloError::Link(_)) => {
                tokio::time::sleep(retry.delay(retries)).await;
                retries += 1;
            }
        }
    }
}

enum LinkEnd {
    /// Left, disconnected by the server, or the client was dropped.
    Finished,
    Dropped,
}

/// A request waiting for its reply. Pings have no `reply`; a renewal remembers its token, which becomes the one
/// used to re-enter the channel once the server accepts it.
struct Pending {
    reply: Option<oneshot::Sender<Result<Reply, RtcError>>>,
    deadline: Instant,
    renewed_token: Option<String>,
    /// When a keepalive ping went out: its `ok` gives the signalling round trip.
    ping_sent: Option<Instant>,
}

/// How often the client rates its link (`network-quality`), as Agora's SDKs do.
const NETWORK_QUALITY_INTERVAL: Duration = Duration::from_secs(2);

fn fail_pending(pending: &mut HashMap<u32, Pending>) {
    for (_, entry) in pending.drain() {
        if let Some(reply) = entry.reply {
            let _ = reply.send(Err(RtcError::new(
                ErrorCode::WsAbort,
                "the signalling link dropped during the request",
            )));
        }
    }
}

async fn run_link(shared: &Shared, session: &mut Session, commands: &mut mpsc::Receiver<Command>) -> LinkEnd {
    let keepalive = Duration::from_millis(session.joined.keepalive_ms.clamp(100, 60_000));
    // Declare the link dead well before the server would end the session, so a rejoin still finds it.
    let link_timeout = Duration::from_millis((session.joined.session_timeout_ms / 2).clamp(200, 10_000));
    let request_timeout = shared.config.request_timeout;
    let mut pending: HashMap<u32, Pending> = HashMap::new();
    let mut next_id: u32 = 2;
    let mut last_heard = Instant::now();
    let mut last_ping = Instant::now();
    let mut last_rating = Instant::now();
    let mut tick = tokio::time::interval(keepalive.min(Duration::from_millis(250)));
    loop {
        tokio::select! {
            message = session.ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    last_heard = Instant::now();
                    let frame = match serde_json::from_str::<ServerFrame>(&text) {
                        Ok(frame) => frame,
                        Err(e) => {
                            tracing::warn!("unreadable server frame: {e}");
                            continue;
                        }
                    };
                    match &frame {
                        ServerFrame::Ok { id } => {
                            if let Some(entry) = pending.remove(id) {
                                if let Some(sent) = entry.ping_sent {
                                    shared.with(|inner| inner.ping_rtt = Some(sent.elapsed()));
                                }
                                if let Some(token) = entry.renewed_token {
                                    session.params.token = Some(token);
                                }
                                if let Some(reply) = entry.reply {
                                    let _ = reply.send(Ok(Reply::Ok));
                                }
                            }
                        }
                        ServerFrame::Published { id: Some(id), answer } => {
                            if let Some(Pending { reply: Some(reply), .. }) = pending.remove(id) {
                                let _ = reply.send(Ok(Reply::Published(answer.clone())));
                            }
                        }
                        ServerFrame::Subscribed { id: Some(id), offer } => {
                            if let Some(Pending { reply: Some(reply), .. }) = pending.remove(id) {
                                let _ = reply.send(Ok(Reply::Subscribed(offer.clone())));
                            }
                        }
                        ServerFrame::Error { id: Some(id), error } => {
                            if let Some(Pending { reply: Some(reply), .. }) = pending.remove(id) {
                                let _ = reply.send(Err(error.clone()));
                            }
                        }
                        ServerFrame::Error { id: None, error } => tracing::warn!("server complaint: {error}"),
                        ServerFrame::Disconnected { reason } => {
                            tracing::info!(reason = reason.as_str(), "disconnected by the server");
                            fail_pending(&mut pending);
                            shared.with(|inner| {
                                inner.machine.push(&frame);
                                inner.driver = None;
                                inner.uid = None;
                                inner.channel = None;
                                inner.media.reset();
                            });
                            return LinkEnd::Finished;
                        }
                        _ => {
                            shared.with(|inner| {
                                inner.machine.push(&frame);
                                inner.media.on_push(&frame);
                            });
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    fail_pending(&mut pending);
                    return LinkEnd::Dropped;
                }
                Some(Ok(_)) => last_heard = Instant::now(),
            },
            command = commands.recv() => match command {
                Some(Command::Request(request, reply)) => {
                    let id = next_id;
                    next_id = next_id.wrapping_add(1).max(2);
                    let renewed_token = match &request {
                        Request::RenewToken { token } => Some(token.clone()),
                        _ => None,
                    };
                    if session.ws.send(frame_text(Some(id), request)).await.is_err() {
                        let _ = reply.send(Err(RtcError::new(ErrorCode::WsAbort, "the signalling link dropped")));
                        fail_pending(&mut pending);
                        return LinkEnd::Dropped;
                    }
                    let deadline = Instant::now() + request_timeout;
                    pending.insert(id, Pending { reply: Some(reply), deadline, renewed_token, ping_sent: None });
                }
                Some(Command::Leave(done)) => {
                    leave_now(shared, session, pending.len() as u32 + next_id).await;
                    fail_pending(&mut pending);
                    let _ = done.send(());
                    return LinkEnd::Finished;
                }
                None => {
                    // The client was dropped: leave quietly.
                    let _ = session.ws.send(frame_text(None, Request::Leave)).await;
                    shared.with(|inner| inner.media.reset());
                    return LinkEnd::Finished;
                }
            },
            _ = tick.tick() => {
                let now = Instant::now();
                if now.duration_since(last_heard) > link_timeout {
                    tracing::info!("no frame from the server for {link_timeout:?}");
                    fail_pending(&mut pending);
                    return LinkEnd::Dropped;
                }
                let expired: Vec<u32> = pending.iter().filter(|(_, entry)| entry.deadline <= now).map(|(id, _)| *id).collect();
                for id in expired {
                    if let Some(Pending { reply: Some(reply), .. }) = pending.remove(&id) {
                        let _ = reply.send(Err(RtcError::new(ErrorCode::NetworkTimeout, "no answer from the server in time")));
                    }
                }
                if now.duration_since(last_ping) >= keepalive {
                    last_ping = now;
                    let id = next_id;
                    next_id = next_id.wrapping_add(1).max(2);
                    if session.ws.send(frame_text(Some(id), Request::Ping)).await.is_err() {
                        fail_pending(&mut pending);
                        return LinkEnd::Dropped;
                    }
                    let deadline = now + request_timeout;
                    pending.insert(id, Pending { reply: None, deadline, renewed_token: None, ping_sent: Some(now) });
                }
                if now.duration_since(last_rating) >= NETWORK_QUALITY_INTERVAL {
                    last_rating = now;
                    let (quality, host) = shared.with(|inner| {
                        let quality = inner.rate_network();
                        inner.network_quality = quality;
                        inner.machine.queue_event(Event::NetworkQuality(quality));
                        (quality, inner.role == ClientRole::Host)
                    });
                    // Others read it with getRemoteNetworkQuality; the server relays a host's rating only.
                    let rating = Request::NetworkQuality { uplink: quality.uplink, downlink: quality.downlink };
                    if host && session.ws.send(frame_text(None, rating)).await.is_err() {
                        fail_pending(&mut pending);
                        return LinkEnd::Dropped;
                    }
                }
            }
        }
    }
}

/// DISCONNECTING, a `leave` answered within [`LEAVE_TIMEOUT`] (or not), then DISCONNECTED(`LEAVE`).
async fn leave_now(shared: &Shared, session: &mut Session, id: u32) {
    shared.set_connection(ConnectionState::Disconnecting, None);
    let exchange = async {
        session.ws.send(frame_text(Some(id), Request::Leave)).await.ok()?;
        while let Some(Ok(message)) = session.ws.next().await {
            if let Message::Text(text) = message
                && matches!(serde_json::from_str::<ServerFrame>(&text), Ok(ServerFrame::Ok { id: got }) if got == id)
            {
                return Some(());
            }
        }
        None
    };
    let _ = tokio::time::timeout(LEAVE_TIMEOUT, exchange).await;
    let _ = session.ws.close(None).await;
    shared.with(|inner| inner.disconnected(Some(DisconnectReason::Leave)));
}

/// Races `work` against the client's commands while the link is down: requests fail with `WS_DISCONNECT`; `leave`
/// (or a dropped client) ends the wait with `None`.
async fn unless_left<T>(
    work: impl std::future::Future<Output = T>,
    shared: &Shared,
    session: &Session,
    commands: &mut mpsc::Receiver<Command>,
) -> Option<T> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            output = &mut work => return Some(output),
            command = commands.recv() => match command {
                Some(Command::Request(_, reply)) => {
                    let _ = reply.send(Err(RtcError::new(ErrorCode::WsDisconnect, "the signalling link is down (reconnecting)")));
                }
                Some(Command::Leave(done)) => {
                    leave_while_reconnecting(shared, session, done).await;
                    return None;
                }
                None => return None,
            },
        }
    }
}

/// `leave` while RECONNECTING: one quick try to reach the server and end the session there, so the others see
/// `Quit` rather than a timeout; DISCONNECTED(`LEAVE`) either way.
async fn leave_while_reconnecting(shared: &Shared, session: &Session, done: oneshot::Sender<()>) {
    shared.set_connection(ConnectionState::Disconnecting, None);
    let farewell = async {
        let mut ws = connect(&session.url).await.ok()?;
        let resume = Request::Rejoin {
            session_id: session.joined.session_id.clone(),
            resume_token: session.joined.resume_token.clone(),
        };
        hello(&mut ws, resume, LEAVE_TIMEOUT).await.ok()?;
        ws.send(frame_text(None, Request::Leave)).await.ok()?;
        ws.close(None).await.ok()
    };
    let _ = tokio::time::timeout(LEAVE_TIMEOUT, farewell).await;
    shared.with(|inner| inner.disconnected(Some(DisconnectReason::Leave)));
    let _ = done.send(());
}

/// The reason a lost session that cannot be re-entered ends with.
fn disconnect_reason(error: &RtcError) -> DisconnectReason {
    let expired = error.detail.contains("expired");
    match error.code {
        ErrorCode::UidConflict => DisconnectReason::UidConflict,
        ErrorCode::TokenExpire => DisconnectReason::TokenExpire,
        ErrorCode::CanNotGetGatewayServer if expired => DisconnectReason::TokenExpire,
        _ => DisconnectReason::ServerError,
    }
}

/// RECONNECTING until the session is resumed (or re-entered with a fresh join when the server forgot it).
/// Returns false when the client is finished (left, dropped, or the session cannot come back).
async fn reconnect(shared: &Shared, session: &mut Session, commands: &mut mpsc::Receiver<Command>) -> bool {
    let retry = shared.config.websocket_retry.clone();
    let mut retries = 0u32;
    loop {
        let outcome = {
            let attempt = async {
                let mut ws = connect(&session.url).await.map_err(HelloError::Link)?;
                let resume = Request::Rejoin {
                    session_id: session.joined.session_id.clone(),
                    resume_token: session.joined.resume_token.clone(),
                };
                match hello(&mut ws, resume, shared.config.request_timeout).await {
                    Ok(joined) => Ok((ws, joined)),
                    Err(HelloError::Refused(_)) => {
                        // The server ended the session (timeout): enter again as the same user.
                        let mut params = session.params.clone();
                        if params.uid.is_none() {
                            params.uid = Some(Uid::Number(session.joined.uid));
                        }
                        let joined =
                            hello(&mut ws, join_request(shared, &params), shared.config.request_timeout).await?;
                        Ok((ws, joined))
                    }
                    Err(link) => Err(link),
                }
            };
            let Some(outcome) = unless_left(attempt, shared, session, commands).await else {
                return false;
            };
            outcome
        };
        match outcome {
            Ok((ws, joined)) => {
                session.ws = ws;
                let fresh = joined.session_id != session.joined.session_id;
                session.joined = joined;
                shared.with(|inner| {
                    if fresh {
                        // A new session on the server: the old one's media is gone with it.
                        inner.media.reset();
                    }
                    inner.machine.joined(&session.joined);
                    // Pushes missed while away: users who left, tracks no longer available.
                    let users = inner.machine.remote_users();
                    inner.media.sync_with(&users);
                });
                tracing::info!(channel = %session.params.channel, "signalling link restored");
                return true;
            }
            Err(HelloError::Refused(error)) => {
                tracing::warn!("cannot re-enter the channel: {error}");
                shared.with(|inner| inner.disconnected(Some(disconnect_reason(&error))));
                return false;
            }
            Err(HelloError::Link(error)) => {
                if !retry.may_retry(retries) {
                    tracing::warn!("reconnection gave up: {error}");
                    shared.with(|inner| inner.disconnected(Some(DisconnectReason::NetworkError)));
                    return false;
                }
                let wait = tokio::time::sleep(retry.delay(retries));
                retries += 1;
                if unless_left(wait, shared, session, commands).await.is_none() {
                    return false;
                }
            }
        }
    }
}
