//! The router's vocabulary: participants, media kinds, transports, events and outputs.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A participant (one joined client), numbered by the caller. The router knows nothing about channels or uids: the
/// signalling layer maps its users to these numbers and decides who subscribes to whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Audio or video. A participant publishes at most one track of each kind (Agora's model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    pub(crate) const ALL: [MediaKind; 2] = [MediaKind::Audio, MediaKind::Video];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }

    pub(crate) fn to_str0m(self) -> str0m::media::MediaKind {
        match self {
            MediaKind::Audio => str0m::media::MediaKind::Audio,
            MediaKind::Video => str0m::media::MediaKind::Video,
        }
    }

    pub(crate) fn from_str0m(kind: str0m::media::MediaKind) -> Self {
        match kind {
            str0m::media::MediaKind::Audio => MediaKind::Audio,
            str0m::media::MediaKind::Video => MediaKind::Video,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Each participant has two WebRTC transports (LiveKit's layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// The client offers its sendonly tracks; the router answers and receives.
    Publisher,
    /// The router offers one sendonly m-line per subscribed remote track; the client answers and receives.
    Subscriber,
}

/// Why a transport stopped working.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// ICE consent expired: no STUN binding request from the client for 15 s (ICE-lite liveness).
    IceTimeout,
    /// SDP was exchanged but ICE + DTLS did not complete: no binding request came from the client's candidates
    /// for 15 s, or the connection was not up within [`RouterConfig::connect_timeout`].
    ConnectTimeout,
    /// The client closed DTLS (close_notify) or the SCTP association.
    RemoteClosed,
    /// The WebRTC engine failed for this transport (e.g. DTLS fingerprint mismatch, internal error).
    Failed,
}

/// Something the signalling layer should know about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// ICE and DTLS are up on this transport (again, after a [`Event::Disconnected`]).
    Connected {
        participant: ParticipantId,
        transport: TransportKind,
    },
    /// The transport stopped working. The router keeps the participant: the caller decides whether to wait for a
    /// reconnection (a new [`Event::Connected`] follows if ICE recovers) or to call
    /// [`Router::remove_participant`](crate::Router::remove_participant).
    Disconnected {
        participant: ParticipantId,
        transport: TransportKind,
        reason: DisconnectReason,
    },
    /// A publisher offer made a new track available to subscribe to.
    TrackPublished {
        participant: ParticipantId,
        kind: MediaKind,
        /// The m-line of the publisher transport carrying it.
        mid: String,
    },
    /// A publisher re-offer stopped sending a track (its m-line became inactive, recvonly or was rejected). Its
    /// subscriptions are gone; affected subscribers get [`Event::NegotiationNeeded`].
    TrackUnpublished {
        participant: ParticipantId,
        kind: MediaKind,
    },
    /// The first RTP packet of a publication arrived.
    MediaStarted {
        participant: ParticipantId,
        kind: MediaKind,
    },
    /// The subscriber rejected the m-line of this subscription in its answer (port 0: e.g. it supports none of
    /// the offered codecs). The subscription is gone; subscribing again offers a new m-line.
    SubscriptionRejected {
        subscriber: ParticipantId,
        publisher: ParticipantId,
        kind: MediaKind,
    },
    /// The participant's subscriber transport has changes (new or removed subscriptions) that need an SDP round:
    /// call [`Router::create_subscriber_offer`](crate::Router::create_subscriber_offer).
    NegotiationNeeded { participant: ParticipantId },
}

/// What the IO shell must do, from [`Router::poll_output`](crate::Router::poll_output).
#[derive(Debug)]
pub enum Output {
    /// Send this datagram from the worker's socket (`source` is the local address given to `add_participant`).
    Transmit {
        source: SocketAddr,
        destination: SocketAddr,
        contents: Vec<u8>,
    },
    /// Tell the signalling layer.
    Event(Event),
    /// Call [`Router::handle_timeout`](crate::Router::handle_timeout) at this time (earliest across all sessions).
    /// It is always the last output of a drain.
    Timeout(Instant),
}

/// Router settings.
#[derive(Clone, Debug)]
pub struct RouterConfig {
    /// At most one keyframe request (PLI/FIR) is sent to a publisher's track per this interval.
    pub keyframe_request_interval: Duration,
    /// A transport with a completed SDP exchange that has not connected (ICE + DTLS) within this time is reported
    /// [`DisconnectReason::ConnectTimeout`].
    pub connect_timeout: Duration,
    /// Longest SDP accepted (bytes). Browser offers are 5-15 KiB; a subscriber SDP for 16 remote users with audio
    /// and video is about 70 KiB (every codec on every m-line).
    pub max_sdp_len: usize,
    /// Most m-lines accepted in a publisher offer.
    pub max_publisher_mlines: usize,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            keyframe_request_interval: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(20),
            max_sdp_len: 256 * 1024,
            max_publisher_mlines: 16,
        }
    }
}

/// Running totals since the router was created, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Datagrams passed to `handle_datagram`.
    pub datagrams_in: u64,
    /// Datagrams no session accepted, or that were not STUN/DTLS/RTP/RTCP.
    pub datagrams_unrouted: u64,
    /// `Transmit` outputs produced.
    pub datagrams_out: u64,
    /// RTP packets received on publisher transports (after SRTP, NACK repair and de-duplication).
    pub rtp_in: u64,
    /// RTP packets written to subscriber streams (one per subscriber).
    pub rtp_forwarded: u64,
    /// Packets not forwarded to a subscriber: waiting for a keyframe, codec not accepted by the subscriber, older
    /// than the subscription's first packet, or on an m-line that is not a publication.
    pub rtp_dropped: u64,
    /// Keyframe requests (PLI/FIR) received from subscribers.
    pub keyframe_requests_in: u64,
    /// Keyframe requests sent to publishers.
    pub keyframe_requests_sent: u64,
    /// Keyframe requests not sent because of the per-track throttle (includes the router's own requests for
    /// subscriptions waiting for a keyframe).
    pub keyframe_requests_throttled: u64,
    /// Errors returned by the WebRTC engine for input (e.g. a malformed DTLS record).
    pub engine_errors: u64,
}
