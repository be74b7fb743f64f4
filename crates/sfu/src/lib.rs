//! The Stoa media router: a sans-IO SFU over [str0m](https://docs.rs/str0m) in RTP mode.
//!
//! A [`Router`] owns the WebRTC sessions of one media worker. Everything is an input or an output, and time is
//! passed in: it opens no socket, starts no task and reads no clock, so tests drive it with simulated time.
//!
//! - **Inputs**: [`Router::handle_datagram`] (a datagram from the worker's one UDP socket),
//!   [`Router::handle_timeout`], and the signalling calls: [`Router::add_participant`],
//!   [`Router::publisher_offer`], [`Router::subscribe`], [`Router::create_subscriber_offer`],
//!   [`Router::subscriber_answer`], [`Router::unsubscribe`], [`Router::unpublish`],
//!   [`Router::restart_subscriber_ice`], [`Router::remove_participant`]. Every call takes the current time.
//! - **Outputs**: [`Router::poll_output`] gives [`Output::Transmit`] (datagrams to send), [`Output::Event`] (for the
//!   signalling layer) and finally [`Output::Timeout`] (when to call `handle_timeout`).
//!
//! # Model
//!
//! Each participant has two transports, as in LiveKit: on the **publisher** transport the client offers its
//! sendonly audio and video (at most one of each, Agora's rule) and the router answers; on the **subscriber**
//! transport the router offers one sendonly m-line per subscribed remote track and the client answers. Sessions are
//! ICE-lite (the server never checks, the client does), DTLS-SRTP, with the worker's socket address as the only
//! candidate. All sessions share that socket: a datagram goes to the session that already knows its source address
//! (O(1)); a new address must come with a STUN binding request, whose USERNAME names the session's ICE ufrag (O(1)
//! as well). str0m's `Rtc::accepts` confirms the choice in both cases. Anything else (garbage, DTLS or RTP from an
//! address no STUN introduced) is refused without touching a session.
//!
//! Transports that fail are reported ([`Event::Disconnected`]) but kept: the signalling layer either removes the
//! participant or restarts ICE (a client re-offer for the publisher transport, [`Router::restart_subscriber_ice`] for
//! the subscriber transport) and the same sessions, publications and subscriptions carry on.
//!
//! # The packet path
//!
//! An RTP packet from a publisher (already decrypted, NACK-repaired and de-duplicated by str0m) is written to each
//! open subscription of its track with `StreamTx::write_rtp`: the payload buffer is shared, not copied; the SSRC is
//! the subscriber stream's own; the sequence number and timestamp are rewritten so that each subscriber sees one
//! continuous stream starting at its first packet; the payload type is mapped to the one the subscriber negotiated
//! for the same codec. A video subscription starts at a keyframe (VP8, VP9 and H.264 keyframes are recognised from
//! the payload) and asks the publisher for one. Subscribers' PLI/FIR go to the publisher, at most one per 500 ms
//! per track ([`RouterConfig::keyframe_request_interval`]).
//!
//! # What str0m does for every session
//!
//! - NACK: missing publisher packets are NACKed (RTX negotiated for video), and subscribers' NACKs are answered
//!   from each video send stream's buffer (1000 packets, 3 s) as RTX.
//! - TWCC: transport-wide sequence numbers on sent packets and transport-cc feedback for received ones (the
//!   default header extension map; negotiated by SDP).
//! - RTCP sender reports (every 1 s for video, 5 s for audio) and receiver reports.
//! - Not enabled: bandwidth estimation and the pacer (no layer selection yet), RED, simulcast layer switching.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Instant;
//! use stoa_sfu::{MediaKind, Output, ParticipantId, Router, RouterConfig};
//!
//! let mut router = Router::new(RouterConfig::default());
//! let now = Instant::now();
//! let socket_addr = "192.0.2.1:4000".parse().unwrap();
//! let (alice, bob) = (ParticipantId(1), ParticipantId(2));
//! router.add_participant(alice, socket_addr, now).unwrap();
//! router.add_participant(bob, socket_addr, now).unwrap();
//!
//! let offer_from_alice: &str = todo!(); // over signalling
//! let answer = router.publisher_offer(alice, offer_from_alice, now).unwrap(); // back to Alice
//! router.subscribe(bob, alice, MediaKind::Video, now).unwrap();
//! let offer_to_bob = router.create_subscriber_offer(bob, now).unwrap().unwrap(); // to Bob
//! let answer_from_bob: &str = todo!();
//! router.subscriber_answer(bob, answer_from_bob, now).unwrap();
//!
//! // The IO loop: feed datagrams and timeouts in, send what comes out.
//! while let Some(output) = router.poll_output() {
//!     match output {
//!         Output::Transmit { destination, contents, .. } => { /* socket.send_to(&contents, destination) */ }
//!         Output::Event(event) => { /* tell the signalling layer */ }
//!         Output::Timeout(at) => { /* wake up at `at`, then router.handle_timeout(at) */ }
//!     }
//! }
//! ```

mod demux;
mod error;
mod forward;
mod keyframe;
mod router;
mod sdp_scan;
mod types;

pub use error::SfuError;
pub use router::Router;
pub use types::{DisconnectReason, Event, MediaKind, Output, ParticipantId, RouterConfig, RouterStats, TransportKind};
