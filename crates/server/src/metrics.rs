//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabel {
    pub transport: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub joins: Counter,
    pub active_channels: Gauge,
    pub active_users: Gauge,
    pub ws_connections: Gauge,
    pub errors: Family<CodeLabel, Counter>,
    pub sessions_ended: Family<ReasonLabel, Counter>,
    pub refused_frames: Family<ReasonLabel, Counter>,
    /// ICE restarts clients asked for, by transport (`publisher`, `subscriber`).
    pub ice_restart_requests: Family<TransportLabel, Counter>,
    /// The media plane's state, summed over workers: participants with a transport, published tracks,
    /// subscriptions.
    pub media_participants: Gauge,
    pub media_tracks: Gauge,
    pub media_subscriptions: Gauge,
    /// RTP packets written to subscribers.
    pub media_packets_forwarded: Gauge,
    /// Datagrams the media workers received and sent since start (sums; gauges because the routers own the totals).
    pub media_datagrams_in: Gauge,
    pub media_datagrams_out: Gauge,
    /// Media worker threads (each with its own UDP port and router); the gauges above are sums over them.
    pub media_workers: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("stoa");
        let joins = Counter::default();
        let active_channels = Gauge::default();
        let active_users = Gauge::default();
        let ws_connections = Gauge::default();
        let errors = Family::<CodeLabel, Counter>::default();
        let sessions_ended = Family::<ReasonLabel, Counter>::default();
        let refused_frames = Family::<ReasonLabel, Counter>::default();
        let ice_restart_requests = Family::<TransportLabel, Counter>::default();
        let media_participants = Gauge::default();
        let media_tracks = Gauge::default();
        let media_subscriptions = Gauge::default();
        let media_packets_forwarded = Gauge::default();
        let media_workers = Gauge::default();
        let media_datagrams_in = Gauge::default();
        let media_datagrams_out = Gauge::default();
        registry.register("joins", "Successful channel joins", joins.clone());
        registry.register(
            "active_channels",
            "Channels with at least one user",
            active_channels.clone(),
        );
        registry.register(
            "active_users",
            "Users in channels, attached or reconnecting",
            active_users.clone(),
        );
        registry.register("ws_connections", "Open signalling WebSockets", ws_connections.clone());
        registry.register("errors", "Errors answered to clients, by catalog code", errors.clone());
        registry.register("sessions_ended", "Sessions ended, by reason", sessions_ended.clone());
        registry.register(
            "refused_frames",
            "Client frames refused, by reason",
            refused_frames.clone(),
        );
        registry.register(
            "ice_restart_requests",
            "ICE restarts asked for by clients, by transport",
            ice_restart_requests.clone(),
        );
        registry.register(
            "media_participants",
            "Participants with a media transport",
            media_participants.clone(),
        );
        registry.register("media_tracks", "Published tracks in the SFU", media_tracks.clone());
        registry.register(
            "media_subscriptions",
            "Subscriptions in the SFU",
            media_subscriptions.clone(),
        );
        registry.register(
            "media_packets_forwarded",
            "RTP packets written to subscribers since start",
            media_packets_forwarded.clone(),
        );
        registry.register(
            "media_datagrams_in",
            "Datagrams received by the media workers since start",
            media_datagrams_in.clone(),
        );
        registry.register(
            "media_datagrams_out",
            "Datagrams sent by the media workers since start",
            media_datagrams_out.clone(),
        );
        registry.register(
            "media_workers",
            "Media worker threads (one UDP port and SFU router each)",
            media_workers.clone(),
        );
        Metrics {
            registry,
            joins,
            active_channels,
            active_users,
            ws_connections,
            errors,
            sessions_ended,
            refused_frames,
            ice_restart_requests,
            media_participants,
            media_tracks,
            media_subscriptions,
            media_packets_forwarded,
            media_workers,
            media_datagrams_in,
            media_datagrams_out,
        }
    }
}

impl Metrics {
    pub fn count_error(&self, code: stoa_proto::ErrorCode) {
        self.errors
            .get_or_create(&CodeLabel {
                code: code.as_str().to_string(),
            })
            .inc();
    }

    pub fn count_refused(&self, reason: &str) {
        self.refused_frames
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    pub fn count_ice_restart(&self, transport: &'static str) {
        self.ice_restart_requests
            .get_or_create(&TransportLabel { transport })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}
