//! An in-memory network with simulated time: the router and str0m clients (full ICE, frame mode) exchanging datagrams
//! through a delay queue. No sockets, no sleeps.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stoa_sfu::{Event, MediaKind, Output, ParticipantId, Router, RouterConfig};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaData, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event as RtcEvent, Input, Output as RtcOutput, Rtc, RtcConfig};

pub const ROUTER_ADDR: &str = "10.0.0.1:5000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub at: Instant,
    pub seq: u64,
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
}

impl PartialOrd for Datagram {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Datagram {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

pub struct Client {
    pub name: String,
    pub addr: SocketAddr,
    pub rtc: Rtc,
    pub timeout: Instant,
    pub events: Vec<(Instant, RtcEvent)>,
    pub pending: Option<SdpPendingOffer>,
    /// False: the network drops everything from and to this client.
    pub online: bool,
    /// Done with: offline and no longer driven.
    pub retired: bool,
    /// Errors str0m returned to this client.
    pub errors: Vec<String>,
}

impl Client {
    pub fn connected_at(&self) -> Option<Instant> {
        self.events
            .iter()
            .find(|(_, e)| matches!(e, RtcEvent::Connected))
            .map(|(t, _)| *t)
    }

    pub fn media_data(&self, mid: Mid) -> Vec<&MediaData> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                RtcEvent::MediaData(d) if d.mid == mid => Some(d),
                _ => None,
            })
            .collect()
    }

    pub fn keyframe_requests(&self) -> Vec<Instant> {
        self.events
            .iter()
            .filter(|(_, e)| matches!(e, RtcEvent::KeyframeRequest(_)))
            .map(|(t, _)| *t)
            .collect()
    }

    pub fn pt_for(&mut self, mid: Mid, codec: Codec) -> Pt {
        let writer = self.rtc.writer(mid).expect("writer");
        writer
            .payload_params()
            .find(|p| p.spec().codec == codec)
            .unwrap_or_else(|| panic!("{codec:?} negotiated"))
            .pt()
    }
}

type DropFn = Box<dyn FnMut(&Datagram) -> bool>;

pub struct Net {
    pub start: Instant,
    pub now: Instant,
    pub router: Router,
    pub router_addr: SocketAddr,
    pub router_timeout: Instant,
    pub router_events: Vec<(Instant, Event)>,
    pub router_errors: u64,
    /// Real (not simulated) time spent in the router handling datagrams and draining its outputs: what the
    /// forwarding benchmark measures.
    pub router_busy: Duration,
    pub clients: Vec<Client>,
    queue: BinaryHeap<Reverse<Datagram>>,
    seq: u64,
    /// One-way delay of every datagram.
    pub latency: Duration,
    /// Returns true to drop a datagram.
    pub drop_fn: Option<DropFn>,
    pub dropped: u64,
    /// The router's last publisher answer.
    pub last_answer: String,
}

impl Net {
    pub fn new() -> Self {
        Self::with_config(RouterConfig::default())
    }

    pub fn with_config(config: RouterConfig) -> Self {
        let now = Instant::now();
        let mut net = Net {
            start: now,
            now,
            router: Router::new(config),
            router_addr: ROUTER_ADDR.parse().unwrap(),
            router_timeout: now,
            router_events: Vec::new(),
            router_errors: 0,
            router_busy: Duration::ZERO,
            clients: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            latency: Duration::from_millis(5),
            drop_fn: None,
            dropped: 0,
            last_answer: String::new(),
        };
        net.drain_router();
        net
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// A str0m client: full ICE (not lite), frame mode. `configure` picks its codecs.
    pub fn add_client(&mut self, name: &str, configure: impl FnOnce(RtcConfig) -> RtcConfig) -> usize {
        let index = self.clients.len();
        let addr: SocketAddr = format!("10.0.{}.{}:6000", 1 + index / 200, 1 + index % 200)
            .parse()
            .unwrap();
        let mut rtc = configure(Rtc::builder()).build(self.now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap()).unwrap();
        self.clients.push(Client {
            name: name.to_string(),
            addr,
            rtc,
            timeout: self.now,
            events: Vec::new(),
            pending: None,
            online: true,
            retired: false,
            errors: Vec::new(),
        });
        self.drain_client(index);
        index
    }

    fn enqueue(&mut self, source: SocketAddr, destination: SocketAddr, contents: Vec<u8>) {
        self.seq += 1;
        let d = Datagram {
            at: self.now + self.latency,
            seq: self.seq,
            source,
            destination,
            contents,
        };
        let offline = self
            .clients
            .iter()
            .any(|c| !c.online && (c.addr == source || c.addr == destination));
        let dropped = offline || self.drop_fn.as_mut().is_some_and(|f| f(&d));
        if dropped {
            self.dropped += 1;
        } else {
            self.queue.push(Reverse(d));
        }
    }

    /// Stops driving a client (it vanishes from the network).
    pub fn retire(&mut self, client: usize) {
        self.clients[client].online = false;
        self.clients[client].retired = true;
    }

    pub fn drain_router(&mut self) {
        while let Some(output) = self.router.poll_output() {
            match output {
                Output::Transmit {
                    source,
                    destination,
                    contents,
                } => self.enqueue(source, destination, contents),
                Output::Event(e) => self.router_events.push((self.now, e)),
                Output::Timeout(t) => self.router_timeout = t,
            }
        }
    }

    pub fn drain_client(&mut self, i: usize) {
        loop {
            let output = match self.clients[i].rtc.poll_output() {
                Ok(output) => output,
                Err(e) => {
                    // A client-side failure (e.g. its DTLS handshake timing out): it stops, like a browser would.
                    self.clients[i].errors.push(e.to_string());
                    self.retire(i);
                    return;
                }
            };
            match output {
                RtcOutput::Timeout(t) => {
                    self.clients[i].timeout = t;
                    return;
                }
                RtcOutput::Transmit(t) => self.enqueue(t.source, t.destination, t.contents.into()),
                RtcOutput::Event(e) => self.clients[i].events.push((self.now, e)),
            }
        }
    }

    fn deliver(&mut self, d: Datagram) {
        if d.destination == self.router_addr {
            let started = Instant::now();
            if self
                .router
                .handle_datagram(self.now, d.source, d.destination, &d.contents)
                .is_err()
            {
                self.router_errors += 1;
            }
            self.drain_router();
            self.router_busy += started.elapsed();
            return;
        }
        let Some(i) = self.clients.iter().position(|c| c.addr == d.destination && !c.retired) else {
            return;
        };
        let input = Input::Receive(
            self.now,
            Receive {
                proto: Protocol::Udp,
                source: d.source,
                destination: d.destination,
                contents: d.contents.as_slice().try_into().expect("a datagram str0m can parse"),
            },
        );
        if let Err(e) = self.clients[i].rtc.handle_input(input) {
            self.clients[i].errors.push(e.to_string());
        }
        self.drain_client(i);
    }

    fn next_event(&self) -> Instant {
        let mut next = self.router_timeout;
        if let Some(Reverse(d)) = self.queue.peek() {
            next = next.min(d.at);
        }
        for c in self.clients.iter().filter(|c| !c.retired) {
            next = next.min(c.timeout);
        }
        next
    }

    fn fire_due(&mut self) {
        while self.queue.peek().is_some_and(|Reverse(d)| d.at <= self.now) {
            let Reverse(d) = self.queue.pop().unwrap();
            self.deliver(d);
        }
        if self.router_timeout <= self.now {
            self.router.handle_timeout(self.now);
            self.drain_router();
        }
        for i in 0..self.clients.len() {
            if !self.clients[i].retired && self.clients[i].timeout <= self.now {
                let now = self.now;
                if let Err(e) = self.clients[i].rtc.handle_input(Input::Timeout(now)) {
                    self.clients[i].errors.push(e.to_string());
                }
                self.drain_client(i);
            }
        }
    }

    /// Runs the network until `deadline` (simulated).
    pub fn run_until(&mut self, deadline: Instant) {
        let mut stuck = 0;
        loop {
            let next = self.next_event();
            if next > deadline {
                break;
            }
            if next <= self.now {
                stuck += 1;
                if stuck > 10_000 {
                    // Something keeps asking for "now": let time move.
                    self.now += Duration::from_millis(1);
                    stuck = 0;
                }
            } else {
                self.now = next;
                stuck = 0;
            }
            self.fire_due();
        }
        self.now = self.now.max(deadline);
    }

    pub fn run_for(&mut self, d: Duration) {
        let deadline = self.now + d;
        self.run_until(deadline);
    }

    /// Runs until `done` holds (checked every millisecond of simulated time) or `limit` passes.
    pub fn run_until_true(&mut self, limit: Duration, mut done: impl FnMut(&Net) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.run_for(Duration::from_millis(1));
        }
        done(self)
    }

    // ------------------------------------------------------------------------------------------------------------
    // Signalling, as the signalling layer would carry it.

    pub fn add_participant(&mut self, id: ParticipantId) {
        let (addr, now) = (self.router_addr, self.now);
        self.router.add_participant(id, addr, now).unwrap();
        self.drain_router();
    }

    /// The client offers sendonly m-lines for `kinds` on its publisher transport; returns their mids.
    pub fn publish(&mut self, client: usize, id: ParticipantId, kinds: &[MediaKind]) -> Vec<Mid> {
        let c = &mut self.clients[client];
        let mut api = c.rtc.sdp_api();
        let mids: Vec<Mid> = kinds
            .iter()
            .map(|k| {
                let kind = match k {
                    MediaKind::Audio => str0m::media::MediaKind::Audio,
                    MediaKind::Video => str0m::media::MediaKind::Video,
                };
                api.add_media(kind, Direction::SendOnly, None, None, None)
            })
            .collect();
        let (offer, pending) = api.apply().expect("an offer");
        self.drain_client(client);
        let now = self.now;
        let answer = self
            .router
            .publisher_offer(id, &offer.to_sdp_string(), now)
            .expect("publisher offer");
        self.drain_router();
        self.last_answer = answer.clone();
        let answer = SdpAnswer::from_sdp_string(&answer).expect("parsable answer");
        self.clients[client]
            .rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("answer accepted");
        self.drain_client(client);
        mids
    }

    /// One subscriber SDP round, if the router has changes. True when an offer/answer happened.
    pub fn negotiate_subscriber(&mut self, client: usize, id: ParticipantId) -> bool {
        self.subscriber_round(client, id).is_some()
    }

    /// One subscriber SDP round, if the router has changes: the offer's text when an offer/answer happened.
    pub fn subscriber_round(&mut self, client: usize, id: ParticipantId) -> Option<String> {
        let now = self.now;
        let offer = self.router.create_subscriber_offer(id, now).expect("subscriber offer");
        self.drain_router();
        let offer = offer?;
        let parsed = SdpOffer::from_sdp_string(&offer).expect("parsable offer");
        let answer = self.clients[client]
            .rtc
            .sdp_api()
            .accept_offer(parsed)
            .expect("offer accepted");
        self.drain_client(client);
        let now = self.now;
        self.router
            .subscriber_answer(id, &answer.to_sdp_string(), now)
            .expect("subscriber answer");
        self.drain_router();
        Some(offer)
    }

    pub fn router_event_count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.router_events.iter().filter(|(_, e)| pred(e)).count()
    }

    pub fn router_event_at(&self, pred: impl Fn(&Event) -> bool) -> Option<Instant> {
        self.router_events.iter().find(|(_, e)| pred(e)).map(|(t, _)| *t)
    }

    /// Writes one frame on the client's `mid` (frame mode: str0m packetizes).
    pub fn write_frame(&mut self, client: usize, mid: Mid, pt: Pt, media_time: MediaTime, data: Vec<u8>) {
        let now = self.now;
        self.clients[client]
            .rtc
            .writer(mid)
            .expect("writer")
            .write(pt, now, media_time, data)
            .expect("write");
        self.drain_client(client);
    }
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

/// Client configs: Opus plus one video codec, as Agora's `codec` option picks.
pub fn codecs(video: Codec) -> impl FnOnce(RtcConfig) -> RtcConfig {
    move |c: RtcConfig| {
        let c = c.clear_codecs().enable_opus(true, false);
        match video {
            Codec::Vp8 => c.enable_vp8(true),
            Codec::Vp9 => c.enable_vp9(true),
            Codec::H264 => c.enable_h264(true),
            other => panic!("no test config for {other:?}"),
        }
    }
}

/// A subscriber client that accepts every codec the router offers.
pub fn all_codecs(c: RtcConfig) -> RtcConfig {
    c.clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_vp9(true)
        .enable_h264(true)
}

/// A fake encoded frame whose bytes carry `counter`, shaped so that str0m's packetizers and our keyframe detection
/// see the right frame type: `ST` + 8 ASCII digits + filler (no zero bytes, so no H.264 start codes inside).
pub fn frame(codec: Codec, counter: u32, keyframe: bool, len: usize) -> Vec<u8> {
    let mut v = match codec {
        // VP8 payload header: bit 0 is P (0 = keyframe).
        Codec::Vp8 => vec![if keyframe { 0x00 } else { 0x01 }],
        // VP9 uncompressed header: frame marker 0b10, profile 0, frame_type bit (0 = keyframe).
        Codec::Vp9 => vec![if keyframe { 0x80 } else { 0x84 }],
        // Annex B: start code + IDR (5) or non-IDR slice (1).
        Codec::H264 => vec![0, 0, 0, 1, if keyframe { 0x65 } else { 0x41 }],
        Codec::Opus => vec![0xfc],
        other => panic!("no fake frames for {other:?}"),
    };
    v.extend_from_slice(format!("ST{counter:08}").as_bytes());
    let mut filler = counter as u8 | 0x80;
    while v.len() < len {
        v.push(filler);
        filler = filler.wrapping_add(7) | 0x80;
    }
    v
}

/// The counter of a frame made by [`frame`], found in received data.
pub fn counter_of(data: &[u8]) -> Option<u32> {
    let at = data.windows(2).position(|w| w == b"ST")?;
    let digits = data.get(at + 2..at + 10)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

pub fn time90(ms: u64) -> MediaTime {
    MediaTime::new(ms * 90, Frequency::NINETY_KHZ)
}

pub fn time48(ms: u64) -> MediaTime {
    MediaTime::new(ms * 48, Frequency::FORTY_EIGHT_KHZ)
}
