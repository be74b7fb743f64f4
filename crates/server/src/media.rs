//! The media plane: several media workers (one per core by default), each a thread that owns a UDP socket (its own
//! port, the ICE candidate of its participants) and an SFU [`Router`]. A channel is pinned to one worker (the least
//! loaded when the channel first needs media), so its publishers and subscribers share a router. The hub's
//! [`MediaOp`]s reach the workers through a dispatcher task and channels; answers go back to the hub task as
//! [`MediaDone`] messages. The packet path (datagrams in, router, datagrams out) stays on the worker's thread and
//! takes no lock; socket IO is batched (`recvmmsg` / `sendmmsg`, see [`crate::udp`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stoa_proto::signal::MediaType;
use stoa_proto::{ErrorCode, RtcError};
use stoa_sfu::{MediaKind, Output as SfuOutput, ParticipantId, Router, RouterConfig, SfuError};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::gateway::Shared;
use crate::hub::{ConnId, MediaAnswer, MediaOp};
use crate::udp::{self, BATCH, RecvBuffers};

/// The media plane's answer to a waiting operation, for [`crate::hub::Hub::media_done`].
pub struct MediaDone {
    pub conn: ConnId,
    pub id: Option<u32>,
    pub result: Result<MediaAnswer, RtcError>,
}

/// Kernel socket buffer asked for each worker socket.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
/// Receive batches handled before the worker looks at its other inputs again.
const RECV_BATCHES_PER_TURN: usize = 8;

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

/// The media workers' sockets, bound and not yet running.
pub struct Sockets(Vec<std::net::UdpSocket>);

impl Sockets {
    /// Each worker's address, in worker order: the ICE candidates clients are given.
    pub fn local_addrs(&self) -> std::io::Result<Vec<SocketAddr>> {
        self.0.iter().map(|s| s.local_addr()).collect()
    }
}

/// How many workers `configured` means: 0 is one per core.
pub fn worker_count(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Binds one socket per worker. With port 0 each gets an ephemeral port; with port P, workers use P, P+1, ...
/// The address is the ICE candidate clients are given, so it must be one they reach: an unspecified address
/// (0.0.0.0) is refused.
pub fn bind(addr: SocketAddr, workers: usize) -> Result<Sockets, String> {
    if addr.ip().is_unspecified() {
        return Err(format!(
            "--udp {addr}: the media address is the ICE candidate clients connect to, so it must be a concrete IP"
        ));
    }
    let mut sockets = Vec::with_capacity(workers);
    for i in 0..workers.max(1) {
        let mut at = addr;
        if addr.port() != 0 {
            let port = u16::try_from(usize::from(addr.port()) + i)
                .map_err(|_| format!("--udp {addr}: no port left for media worker {i}"))?;
            at.set_port(port);
        }
        let socket = std::net::UdpSocket::bind(at).map_err(|e| format!("cannot bind media socket {at}: {e}"))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("media socket {at}: {e}"))?;
        udp::grow_buffers(&socket, SOCKET_BUFFER_BYTES);
        sockets.push(socket);
    }
    Ok(Sockets(sockets))
}

/// Which worker serves which channel and session. A channel goes to the worker with the fewest sessions when its
/// first session needs media, and stays there while it has sessions on the media plane.
#[derive(Debug, Default)]
pub struct Placement {
    /// Sessions per worker.
    loads: Vec<usize>,
    /// Channel -> (worker, sessions).
    channels: HashMap<String, (usize, usize)>,
    /// Session -> (worker, channel).
    sessions: HashMap<String, (usize, String)>,
}

impl Placement {
    pub fn new(workers: usize) -> Self {
        Placement {
            loads: vec![0; workers.max(1)],
            ..Placement::default()
        }
    }

    /// The worker of `session`, placing it (and its channel, if new) first.
    pub fn place(&mut self, session: &str, channel: &str) -> usize {
        if let Some((worker, _)) = self.sessions.get(session) {
            return *worker;
        }
        let worker = match self.channels.get_mut(channel) {
            Some((worker, members)) => {
                *members += 1;
                *worker
            }
            None => {
                let worker = (0..self.loads.len()).min_by_key(|&w| self.loads[w]).unwrap_or(0);
                self.channels.insert(channel.to_string(), (worker, 1));
                worker
            }
        };
        self.loads[worker] += 1;
        self.sessions.insert(session.to_string(), (worker, channel.to_string()));
        worker
    }

    pub fn worker_of(&self, session: &str) -> Option<usize> {
        self.sessions.get(session).map(|(worker, _)| *worker)
    }

    /// Forgets `session`; returns the worker it was on.
    pub fn remove(&mut self, session: &str) -> Option<usize> {
        let (worker, channel) = self.sessions.remove(session)?;
        self.loads[worker] -= 1;
        if let Some((_, members)) = self.channels.get_mut(&channel) {
            *members -= 1;
            if *members == 0 {
                self.channels.remove(&channel);
            }
        }
        Some(worker)
    }

    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }
}

struct Worker {
    router: Router,
    socket: UdpSocket,
    local: SocketAddr,
    participants: HashMap<String, ParticipantId>,
    next_participant: u64,
    done: mpsc::UnboundedSender<MediaDone>,
    /// Datagrams from the router waiting for `sendmmsg` (capacity reused).
    outgoing: Vec<(SocketAddr, Vec<u8>)>,
    /// This worker's share of the summed gauges, as last added to them.
    reported: [i64; 6],
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
                ..
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
                ..
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
            MediaOp::RestartSubscriberIce { session, conn, id } => {
                let result = self.restart_subscriber_ice(&session, now);
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

    fn restart_subscriber_ice(&mut self, session: &str, now: Instant) -> Result<MediaAnswer, RtcError> {
        let Some(&participant) = self.participants.get(session) else {
            return Err(no_subscriber_transport());
        };
        if !self.router.has_subscriber_transport(participant) {
            return Err(no_subscriber_transport());
        }
        self.router
            .restart_subscriber_ice(participant, now)
            .map_err(rtc_error)?;
        match self.router.create_subscriber_offer(participant, now) {
            Ok(Some(offer)) => Ok(MediaAnswer::Offer(offer)),
            Ok(None) => Err(RtcError::new(
                ErrorCode::InvalidOperation,
                "another subscriber offer waits for its answer: answer it, then restart again",
            )),
            Err(e) => Err(rtc_error(e)),
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

    /// The router's state as metrics, added to the gauges summed over workers; called after operations and
    /// timeouts, not per packet.
    fn publish_gauges(&mut self, metrics: &crate::metrics::Metrics) {
        let now = [
            self.router.participant_count() as i64,
            self.router.track_count() as i64,
            self.router.subscription_count() as i64,
            self.router.stats().rtp_forwarded as i64,
            self.router.stats().datagrams_in as i64,
            self.router.stats().datagrams_out as i64,
        ];
        let gauges = [
            &metrics.media_participants,
            &metrics.media_tracks,
            &metrics.media_subscriptions,
            &metrics.media_packets_forwarded,
            &metrics.media_datagrams_in,
            &metrics.media_datagrams_out,
        ];
        for ((gauge, value), reported) in gauges.into_iter().zip(now).zip(&mut self.reported) {
            if value != *reported {
                gauge.inc_by(value - *reported);
                *reported = value;
            }
        }
    }

    /// Sends what the router produced, in batches, and returns when it wants its next timeout.
    async fn flush(&mut self) -> Option<Instant> {
        let mut timeout = None;
        while let Some(output) = self.router.poll_output() {
            match output {
                SfuOutput::Transmit {
                    destination, contents, ..
                } => {
                    self.outgoing.push((destination, contents));
                    if self.outgoing.len() == BATCH {
                        self.send_outgoing().await;
                    }
                }
                SfuOutput::Event(event) => tracing::debug!(?event, "media event"),
                SfuOutput::Timeout(at) => timeout = Some(at),
            }
        }
        self.send_outgoing().await;
        timeout
    }

    async fn send_outgoing(&mut self) {
        let mut sent = 0;
        while sent < self.outgoing.len() {
            let batch = &self.outgoing[sent..];
            match self
                .socket
                .try_io(Interest::WRITABLE, || udp::send_batch(&self.socket, batch))
            {
                Ok(n) => sent += n.max(1),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if let Err(e) = self.socket.writable().await {
                        tracing::warn!("media socket unusable: {e}");
                        break;
                    }
                }
                Err(e) => {
                    // This datagram cannot go (e.g. unreachable destination): skip it, send the rest.
                    tracing::debug!(destination = %self.outgoing[sent].0, "media send failed: {e}");
                    sent += 1;
                }
            }
        }
        self.outgoing.clear();
    }

    /// Reads and routes what the socket has, a few batches at a time.
    fn receive(&mut self, bufs: &mut RecvBuffers) -> bool {
        for _ in 0..RECV_BATCHES_PER_TURN {
            let received = self
                .socket
                .try_io(Interest::READABLE, || udp::recv_batch(&self.socket, bufs));
            let n = match received {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                Err(e) => {
                    tracing::debug!("media receive failed: {e}");
                    return false;
                }
            };
            let now = Instant::now();
            for i in 0..n {
                let (source, contents) = bufs.datagram(i);
                if let Some(source) = source {
                    // Garbage is normal input: the router counts and drops it.
                    let _ = self.router.handle_datagram(now, source, self.local, contents);
                }
            }
            if n < BATCH {
                return false;
            }
        }
        true
    }
}

/// Starts one thread per socket, each running a worker, and dispatches the hub's operations to them until `ops`
/// closes.
pub async fn run(
    sockets: Sockets,
    mut ops: mpsc::UnboundedReceiver<MediaOp>,
    done: mpsc::UnboundedSender<MediaDone>,
    shared: Arc<Shared>,
) {
    let mut workers = Vec::new();
    for (index, socket) in sockets.0.into_iter().enumerate() {
        let (tx, rx) = mpsc::unbounded_channel();
        let (done, shared) = (done.clone(), shared.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("stoa-media-{index}"))
            .spawn(move || run_worker_thread(socket, rx, done, shared));
        match spawned {
            Ok(_) => workers.push(tx),
            Err(e) => tracing::error!("cannot start media worker {index}: {e}"),
        }
    }
    if workers.is_empty() {
        return;
    }
    shared.metrics.media_workers.set(workers.len() as i64);
    let mut placement = Placement::new(workers.len());
    while let Some(op) = ops.recv().await {
        let worker = match &op {
            MediaOp::Publish { session, channel, .. } => Some(placement.place(session, channel)),
            MediaOp::Subscribe {
                subscriber, channel, ..
            } => Some(placement.place(subscriber, channel)),
            MediaOp::SubscriberAnswer { session, .. }
            | MediaOp::RestartSubscriberIce { session, .. }
            | MediaOp::Unpublish { session, .. } => placement.worker_of(session),
            MediaOp::Unsubscribe { subscriber, .. } => placement.worker_of(subscriber),
            MediaOp::Remove { session } => placement.remove(session),
        };
        match (worker, op) {
            // Worker threads live as long as the dispatcher.
            (Some(worker), op) => drop(workers[worker].send(op)),
            (None, MediaOp::SubscriberAnswer { conn, id, .. }) => drop(done.send(MediaDone {
                conn,
                id,
                result: Err(RtcError::new(
                    ErrorCode::InvalidOperation,
                    "no subscriber offer is waiting for an answer",
                )),
            })),
            (None, MediaOp::RestartSubscriberIce { conn, id, .. }) => drop(done.send(MediaDone {
                conn,
                id,
                result: Err(no_subscriber_transport()),
            })),
            // Nothing of this session is on the media plane: nothing to undo.
            (None, _) => {}
        }
    }
}

fn run_worker_thread(
    socket: std::net::UdpSocket,
    ops: mpsc::UnboundedReceiver<MediaOp>,
    done: mpsc::UnboundedSender<MediaDone>,
    shared: Arc<Shared>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return tracing::error!("media worker runtime: {e}"),
    };
    runtime.block_on(run_worker(socket, ops, done, shared));
}

/// One worker's loop: datagrams, operations and timeouts, until `ops` closes.
async fn run_worker(
    socket: std::net::UdpSocket,
    mut ops: mpsc::UnboundedReceiver<MediaOp>,
    done: mpsc::UnboundedSender<MediaDone>,
    shared: Arc<Shared>,
) {
    let socket = match UdpSocket::from_std(socket) {
        Ok(socket) => socket,
        Err(e) => return tracing::error!("media socket: {e}"),
    };
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
        outgoing: Vec::with_capacity(BATCH),
        reported: [0; 6],
    };
    let mut bufs = RecvBuffers::default();
    let mut more = false;
    // One timer for the worker's life, moved only when the router's deadline changes: a new `sleep_until` on every
    // wakeup would register and then cancel an entry in the runtime's timer wheel (under its lock) every time.
    let timer = tokio::time::sleep_until(tokio::time::Instant::now() + Duration::from_secs(1));
    tokio::pin!(timer);
    let mut armed: Option<Instant> = None;
    loop {
        // No deadline from the router means no input since it last named one (e.g. a read that found the socket
        // empty): that deadline still holds. (This turn used to push the timer a second out.)
        let wake = worker
            .flush()
            .await
            .or(armed)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        if armed != Some(wake) {
            timer.as_mut().reset(tokio::time::Instant::from_std(wake));
            armed = Some(wake);
        }
        if more {
            // The socket had more than a turn's worth: let operations and timers in, then read on.
            tokio::task::yield_now().await;
        }
        tokio::select! {
            biased;
            op = ops.recv() => match op {
                Some(op) => {
                    worker.apply(op, Instant::now());
                    worker.publish_gauges(&shared.metrics);
                }
                None => return,
            },
            () = &mut timer => {
                // Fired: re-armed on the next turn even if the router names the same instant again.
                armed = None;
                worker.router.handle_timeout(Instant::now());
                worker.publish_gauges(&shared.metrics);
            }
            ready = worker.socket.readable() => match ready {
                Ok(()) => more = worker.receive(&mut bufs),
                Err(e) => tracing::debug!("media socket: {e}"),
            },
        }
    }
}

fn no_subscriber_transport() -> RtcError {
    RtcError::new(
        ErrorCode::InvalidOperation,
        "nothing is subscribed: there is no subscriber transport to restart",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_stays_on_one_worker_and_new_channels_go_to_the_least_loaded() {
        let mut p = Placement::new(2);
        let a = p.place("s1", "app/a");
        assert_eq!(p.place("s2", "app/a"), a, "same channel, same worker");
        assert_eq!(p.place("s1", "app/a"), a, "placing again changes nothing");
        let b = p.place("s3", "app/b");
        assert_ne!(a, b, "the other worker had no session");
        assert_eq!(p.place("s4", "app/c"), b, "b's worker has 1 session, a's has 2");
        assert_eq!(p.worker_of("s2"), Some(a));
        assert_eq!((p.session_count(), p.channel_count()), (4, 3));
        for s in ["s1", "s2", "s3", "s4"] {
            assert!(p.remove(s).is_some());
        }
        assert_eq!(p.remove("s1"), None);
        assert_eq!((p.session_count(), p.channel_count()), (0, 0));
        assert_eq!(p.loads, vec![0, 0]);
    }
}
