//! The media worker: one task that owns a UDP socket and the SFU [`Router`], and carries out the hub's
//! [`MediaOp`]s. Its answers go back to the hub task as [`MediaDone`] messages. The packet path (datagram in,
//! router, datagrams out) never leaves this task and takes no lock.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stoa_proto::signal::MediaType;
use stoa_proto::{ErrorCode, RtcError};
use stoa_sfu::{MediaKind, Output as SfuOutput, ParticipantId, Router, RouterConfig, SfuError};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::hub::{ConnId, MediaAnswer, MediaOp};

/// The media plane's answer to a waiting operation, for [`crate::hub::Hub::media_done`].
pub struct MediaDone {
    pub conn: ConnId,
    pub id: Option<u32>,
    pub result: Result<MediaAnswer, RtcError>,
}

/// Largest datagram read; WebRTC keeps packets under the path MTU.
const MAX_DATAGRAM: usize = 2048;

fn kind(media_type: MediaType) -> MediaKind {
    match media_type {
        MediaType::Audio => MediaKind::Audio,
        MediaType::Video => MediaKind::Video,
    }
}

/// The catalog code for a router refusal.
fn rtc_error(error: SfuError) -> RtcError {
    // The SDP parser's messages carry internal details (even addresses); say only what was wrong.
    if let SfuError::InvalidSdp(_) = error {
        return RtcError::new(ErrorCode::InvalidParams, "invalid SDP: it could not be parsed");
    }
    let code = match &error {
        SfuError::InvalidSdp(_) | SfuError::SdpTooLarge { .. } | SfuError::SdpRejected(_) => ErrorCode::InvalidParams,
        SfuError::TooManyTracks(_) => ErrorCode::CanNotPublishMultipleVideoTracks,
        SfuError::NotPublished { .. } => ErrorCode::RemoteUserIsNotPublished,
        SfuError::NoPendingOffer | SfuError::SelfSubscription => ErrorCode::InvalidOperation,
        _ => ErrorCode::UnexpectedError,
    };
    RtcError::new(code, error.to_string())
}

/// Binds the media socket. The address is the ICE candidate clients are given, so it must be one they reach:
/// an unspecified address (0.0.0.0) is refused.
pub async fn bind(addr: SocketAddr) -> Result<UdpSocket, String> {
    if addr.ip().is_unspecified() {
        return Err(format!(
            "--udp {addr}: the media address is the ICE candidate clients connect to, so it must be a concrete IP"
        ));
    }
    UdpSocket::bind(addr)
        .await
        .map_err(|e| format!("cannot bind media socket {addr}: {e}"))
}

struct Worker {
    router: Router,
    socket: UdpSocket,
    local: SocketAddr,
    participants: HashMap<String, ParticipantId>,
    next_participant: u64,
    done: mpsc::UnboundedSender<MediaDone>,
}

impl Worker {
    fn participant(&mut self, session: &str, now: Instant) -> Result<ParticipantId, RtcError> {
        if let Some(id) = self.participants.get(session) {
            return Ok(*id);
        }
        let id = ParticipantId(self.next_participant);
        self.next_participant += 1;
        self.router.add_participant(id, self.local, now).map_err(rtc_error)?;
        self.participants.insert(session.to_string(), id);
        Ok(id)
    }

    fn answer(&self, conn: ConnId, id: Option<u32>, result: Result<MediaAnswer, RtcError>) {
        // The hub task lives as long as the server.
        let _ = self.done.send(MediaDone { conn, id, result });
    }

    fn apply(&mut self, op: MediaOp, now: Instant) {
        match op {
            MediaOp::Publish {
                session,
                conn,
                id,
                offer,
            } => {
                let result = self
                    .participant(&session, now)
                    .and_then(|p| self.router.publisher_offer(p, &offer, now).map_err(rtc_error))
                    .map(MediaAnswer::Answer);
                self.answer(conn, id, result);
            }
            MediaOp::Subscribe {
                subscriber,
                publisher,
                media_type,
                conn,
                id,
            } => {
                let result = self.subscribe(&subscriber, &publisher, media_type, now);
                self.answer(conn, id, result);
            }
            MediaOp::SubscriberAnswer {
                session,
                answer,
                conn,
                id,
            } => {
                let result = match self.participants.get(&session) {
                    Some(p) => self
                        .router
                        .subscriber_answer(*p, &answer, now)
                        .map(|_| MediaAnswer::Applied)
                        .map_err(rtc_error),
                    None => Err(RtcError::new(
                        ErrorCode::InvalidOperation,
                        "no subscriber offer is waiting for an answer",
                    )),
                };
                self.answer(conn, id, result);
            }
            MediaOp::Unpublish { session, media_type } => {
                if let Some(p) = self.participants.get(&session) {
                    let _ = self.router.unpublish(*p, kind(media_type), now);
                }
            }
            MediaOp::Unsubscribe {
                subscriber,
                publisher,
                media_type,
            } => {
                if let (Some(s), Some(p)) = (self.participants.get(&subscriber), self.participants.get(&publisher)) {
                    let _ = self.router.unsubscribe(*s, *p, kind(media_type), now);
                }
            }
            MediaOp::Remove { session } => {
                if let Some(p) = self.participants.remove(&session) {
                    let _ = self.router.remove_participant(p, now);
                }
            }
        }
    }

    fn subscribe(
        &mut self,
        subscriber: &str,
        publisher: &str,
        media_type: MediaType,
        now: Instant,
    ) -> Result<MediaAnswer, RtcError> {
        let Some(&publisher) = self.participants.get(publisher) else {
            return Err(RtcError::new(
                ErrorCode::RemoteUserIsNotPublished,
                "user is not published (no media yet)",
            ));
        };
        let subscriber = self.participant(subscriber, now)?;
        let kind = kind(media_type);
        // Subscribing again (Agora apps subscribe on every user-published, also after an unmute) is a success
        // with nothing to negotiate.
        if self.router.subscription_mid(subscriber, publisher, kind).is_some() {
            return Ok(MediaAnswer::Applied);
        }
        self.router
            .subscribe(subscriber, publisher, kind, now)
            .map_err(rtc_error)?;
        match self.router.create_subscriber_offer(subscriber, now) {
            Ok(Some(offer)) => Ok(MediaAnswer::Offer(offer)),
            outcome => {
                // No offer can be made now (another one waits for its answer): undo, so nothing half-done stays.
                let _ = self.router.unsubscribe(subscriber, publisher, kind, now);
                Err(match outcome {
                    Err(e) => rtc_error(e),
                    _ => RtcError::new(
                        ErrorCode::InvalidOperation,
                        "another subscription is being negotiated: answer its offer first, then subscribe again",
                    ),
                })
            }
        }
    }

    /// The router's state as metrics; called after operations and timeouts, not per packet.
    fn publish_gauges(&self, metrics: &crate::metrics::Metrics) {
        metrics.media_participants.set(self.router.participant_count() as i64);
        metrics.media_tracks.set(self.router.track_count() as i64);
        metrics.media_subscriptions.set(self.router.subscription_count() as i64);
        metrics
            .media_packets_forwarded
            .set(self.router.stats().rtp_forwarded as i64);
    }

    /// Sends what the router produced and returns when it wants its next timeout.
    async fn flush(&mut self) -> Option<Instant> {
        let mut timeout = None;
        while let Some(output) = self.router.poll_output() {
            match output {
                SfuOutput::Transmit {
                    destination, contents, ..
                } => {
                    if let Err(e) = self.socket.send_to(&contents, destination).await {
                        tracing::debug!(%destination, "media send failed: {e}");
                    }
                }
                SfuOutput::Event(event) => tracing::debug!(?event, "media event"),
                SfuOutput::Timeout(at) => timeout = Some(at),
            }
        }
        timeout
    }
}

/// Runs the worker until `ops` closes.
pub async fn run(
    socket: UdpSocket,
    mut ops: mpsc::UnboundedReceiver<MediaOp>,
    done: mpsc::UnboundedSender<MediaDone>,
    shared: std::sync::Arc<crate::gateway::Shared>,
) {
    let local = match socket.local_addr() {
        Ok(local) => local,
        Err(e) => return tracing::error!("media socket has no address: {e}"),
    };
    let mut worker = Worker {
        router: Router::new(RouterConfig::default()),
        socket,
        local,
        participants: HashMap::new(),
        next_participant: 1,
        done,
    };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let wake = worker
            .flush()
            .await
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::select! {
            received = worker.socket.recv_from(&mut buf) => match received {
                Ok((len, source)) => {
                    // Garbage is normal input: the router counts and drops it.
                    let _ = worker.router.handle_datagram(Instant::now(), source, local, &buf[..len]);
                }
                Err(e) => tracing::debug!("media receive failed: {e}"),
            },
            op = ops.recv() => match op {
                Some(op) => {
                    worker.apply(op, Instant::now());
                    worker.publish_gauges(&shared.metrics);
                }
                None => return,
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                worker.router.handle_timeout(Instant::now());
                worker.publish_gauges(&shared.metrics);
            }
        }
    }
}
