//! The per-subscription forwarding state ("down track"): sequence number and timestamp rewriting, payload type
//! mapping and the keyframe gate.

use std::time::Instant;

use str0m::Rtc;
use str0m::format::{CodecConfig, PayloadParams};
use str0m::media::{Mid, Pt};
use str0m::rtp::Ssrc;

/// Rewrites a publisher's sequence numbers and timestamps into one continuous outgoing stream.
///
/// The outgoing sequence starts at a random number below 2^15 (so the SRTP rollover counter starts at 0, as a fresh
/// receiver assumes) at the first forwarded packet, and follows the incoming extended sequence from there: gaps
/// (losses) stay gaps, so the subscriber can NACK them, and late or retransmitted packets land in their place.
/// Packets older than the first forwarded one are dropped. Timestamps keep the publisher's spacing, moved by a random
/// offset. When the publisher's SSRC changes (encoder restart), the outgoing stream continues right after its last
/// packet, with the timestamp advanced by the time that passed.
#[derive(Debug)]
pub(crate) struct Munger {
    seq_base: u64,
    ts_base: u32,
    state: Option<MungerState>,
}

#[derive(Debug)]
struct MungerState {
    /// `None` after [`Munger::resume_later`]: the next packet, whatever its SSRC, continues the stream.
    ssrc: Option<Ssrc>,
    first_in: u64,
    out_base: u64,
    ts_offset: u32,
    max_out: u64,
    last_out_ts: u32,
    last_arrival: Instant,
}

impl Munger {
    pub(crate) fn new(random: u64) -> Self {
        Munger {
            seq_base: random & 0x7fff,
            ts_base: (random >> 32) as u32,
            state: None,
        }
    }

    /// For a new subscription on the same outgoing stream (a reused m-line): its first packet continues right
    /// after the last one sent, with the timestamp advanced by the time that passed, instead of mapping the
    /// publisher's sequence (which moved on meanwhile and would look like a burst of loss).
    pub(crate) fn resume_later(mut self) -> Self {
        if let Some(s) = &mut self.state {
            s.ssrc = None;
        }
        self
    }

    /// The outgoing (extended sequence number, RTP timestamp) for an incoming packet, or `None` to drop it.
    pub(crate) fn map(
        &mut self,
        ssrc: Ssrc,
        in_seq: u64,
        in_ts: u32,
        arrival: Instant,
        clock_rate: u32,
    ) -> Option<(u64, u32)> {
        let s = match &mut self.state {
            None => self.state.insert(MungerState {
                ssrc: Some(ssrc),
                first_in: in_seq,
                out_base: self.seq_base,
                ts_offset: self.ts_base.wrapping_sub(in_ts),
                max_out: self.seq_base,
                last_out_ts: self.ts_base,
                last_arrival: arrival,
            }),
            Some(s) if s.ssrc != Some(ssrc) => {
                let elapsed = arrival.saturating_duration_since(s.last_arrival);
                let ticks = (elapsed.as_micros() as u64 * clock_rate as u64 / 1_000_000).max(1);
                let ts = s.last_out_ts.wrapping_add(ticks as u32);
                let next = s.max_out + 1;
                *s = MungerState {
                    ssrc: Some(ssrc),
                    first_in: in_seq,
                    out_base: next,
                    ts_offset: ts.wrapping_sub(in_ts),
                    max_out: next,
                    last_out_ts: ts,
                    last_arrival: arrival,
                };
                s
            }
            Some(s) => s,
        };
        if in_seq < s.first_in {
            return None;
        }
        let out = s.out_base + (in_seq - s.first_in);
        let ts = in_ts.wrapping_add(s.ts_offset);
        if out >= s.max_out {
            s.max_out = out;
            s.last_out_ts = ts;
            s.last_arrival = arrival;
        }
        Some((out, ts))
    }
}

/// One subscriber's copy of one publication.
#[derive(Debug)]
pub(crate) struct Subscription {
    /// The m-line on the subscriber transport, once offered.
    pub mid: Option<Mid>,
    /// The subscriber answered: the m-line and its send stream exist.
    pub open: bool,
    /// The send stream's SSRC on the subscriber transport.
    pub tx_ssrc: Option<Ssrc>,
    /// Video only: nothing is forwarded until a packet that starts a keyframe.
    pub waiting_keyframe: bool,
    pub munger: Munger,
    /// Publisher PT -> subscriber PT (`None`: the subscriber did not accept that codec).
    pt_map: Vec<(u8, Option<Pt>)>,
}

impl Subscription {
    pub(crate) fn new(random: u64) -> Self {
        Subscription {
            mid: None,
            open: false,
            tx_ssrc: None,
            waiting_keyframe: false,
            munger: Munger::new(random),
            pt_map: Vec::new(),
        }
    }

    /// The subscriber session's payload type for the publisher's `in_pt` (described by `params`), cached.
    pub(crate) fn out_pt(&mut self, in_pt: u8, params: &PayloadParams, rtc: &Rtc, mid: Mid) -> Option<Pt> {
        if let Some((_, out)) = self.pt_map.iter().find(|(pt, _)| *pt == in_pt) {
            return *out;
        }
        // Only the payload types the subscriber accepted in its answer are candidates.
        let out = rtc.media(mid).and_then(|media| {
            let accepted: Vec<PayloadParams> = rtc
                .codec_config()
                .params()
                .iter()
                .filter(|p| media.remote_pts().contains(&p.pt()))
                .copied()
                .collect();
            CodecConfig::new_from_payload_params(accepted)
                .match_params(*params)
                .map(|p| p.pt())
        });
        if self.pt_map.len() >= 8 {
            self.pt_map.clear();
        }
        self.pt_map.push((in_pt, out));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn continuous_from_the_first_packet() {
        let now = Instant::now();
        let mut m = Munger::new(0x0000_1000_0000_0123);
        let ssrc: Ssrc = 7.into();
        assert_eq!(m.map(ssrc, 70_000, 1000, now, 90_000), Some((0x123, 0x1000)));
        assert_eq!(m.map(ssrc, 70_001, 4000, now, 90_000).unwrap().0, 0x124);
        // A loss stays a gap; a late packet fills it.
        assert_eq!(m.map(ssrc, 70_004, 13000, now, 90_000).unwrap().0, 0x127);
        assert_eq!(m.map(ssrc, 70_003, 10000, now, 90_000).unwrap().0, 0x126);
        // Older than the start: dropped.
        assert_eq!(m.map(ssrc, 69_999, 0, now, 90_000), None);
    }

    #[test]
    fn a_resumed_stream_continues_after_its_last_packet() {
        let now = Instant::now();
        let mut m = Munger::new(5 | (100u64 << 32));
        let a: Ssrc = 1.into();
        assert_eq!(m.map(a, 10, 0, now, 48_000), Some((5, 100)));
        assert_eq!(m.map(a, 11, 960, now, 48_000), Some((6, 1060)));
        // Same publisher SSRC, 1 s and 50 packets later.
        let mut m = m.resume_later();
        let later = now + Duration::from_secs(1);
        assert_eq!(m.map(a, 61, 48_960, later, 48_000), Some((7, 1060 + 48_000)));
        assert_eq!(m.map(a, 62, 49_920, later, 48_000), Some((8, 1060 + 48_960)));
    }

    #[test]
    fn timestamps_keep_their_spacing_and_continue_across_an_ssrc_change() {
        let now = Instant::now();
        let mut m = Munger::new(5 | (100u64 << 32));
        let a: Ssrc = 1.into();
        let b: Ssrc = 2.into();
        let (s0, t0) = m.map(a, 10, u32::MAX - 10, now, 90_000).unwrap();
        assert_eq!((s0, t0), (5, 100));
        let (_, t1) = m.map(a, 11, 3000 - 11, now, 90_000).unwrap();
        assert_eq!(t1, 100 + 3000);
        let later = now + Duration::from_millis(100);
        let (s2, t2) = m.map(b, 500, 77, later, 90_000).unwrap();
        assert_eq!(s2, 7);
        assert_eq!(t2, 100 + 3000 + 9000);
        assert_eq!(
            m.map(b, 501, 77 + 3000, later, 90_000),
            Some((8, 100 + 3000 + 9000 + 3000))
        );
    }
}
