//! Errors of the router's calls.

use crate::types::{MediaKind, ParticipantId};

/// Why a router call failed. None of these disturbs other participants.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SfuError {
    #[error("unknown participant {0}")]
    UnknownParticipant(ParticipantId),
    #[error("participant {0} already exists")]
    ParticipantExists(ParticipantId),
    #[error("invalid local address: {0}")]
    InvalidAddress(String),
    #[error("SDP of {len} bytes exceeds the limit of {limit}")]
    SdpTooLarge { len: usize, limit: usize },
    #[error("invalid SDP: {0}")]
    InvalidSdp(String),
    /// The SDP parsed but the WebRTC engine refused it (missing fingerprint or ICE credentials, inconsistent
    /// m-lines, both sides ICE-lite...).
    #[error("SDP rejected: {0}")]
    SdpRejected(String),
    #[error("an offer publishes more than one {0} track")]
    TooManyTracks(MediaKind),
    #[error("participant {publisher} has not published {kind}")]
    NotPublished { publisher: ParticipantId, kind: MediaKind },
    #[error("participant {subscriber} is not subscribed to {publisher}'s {kind}")]
    NotSubscribed {
        subscriber: ParticipantId,
        publisher: ParticipantId,
        kind: MediaKind,
    },
    #[error("a participant cannot subscribe to its own tracks")]
    SelfSubscription,
    #[error("no subscriber offer is waiting for an answer")]
    NoPendingOffer,
    /// Not STUN, DTLS, RTP or RTCP.
    #[error("malformed datagram")]
    MalformedDatagram,
    /// No session expects a datagram from this address with these credentials.
    #[error("no session accepts this datagram")]
    UnroutableDatagram,
    /// A session took the datagram but the WebRTC engine refused it (e.g. a malformed DTLS record).
    #[error("datagram refused: {0}")]
    DatagramRefused(String),
    /// The WebRTC engine panicked; the transport was closed and reported [`crate::DisconnectReason::Failed`].
    #[error("internal error in the WebRTC engine")]
    Internal,
}
