//! The IO shell: HTTP routes (discovery, string uids, health, metrics), the WebSocket signalling endpoint, and the
//! task that owns the [`Hub`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{SinkExt, StreamExt};
use stoa_proto::signal::{
    ClientFrame, GatewayRequest, GatewayResponse, Mode, Request, ServerFrame, StringUidRequest, StringUidResponse,
};
use stoa_proto::token::check_rtc_token;
use stoa_proto::{ErrorCode, RtcError, validate};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::admission::{JoinAsk, Stage, admit, lookup_app, uid_for_account};
use crate::config::Config;
use crate::hub::{Admitted, ConnId, Ended, Hub, HubConfig, MediaOp, Output, RenewedGrant};
use crate::media::MediaDone;
use crate::metrics::Metrics;
use crate::store::{App, Store};

/// Frames queued for one connection before it counts as too slow and is dropped.
const OUTBOUND_QUEUE: usize = 256;
/// Hard WebSocket message limit; frames between the configured limit and this one are answered, larger ones drop
/// the connection.
const HARD_MESSAGE_LIMIT: usize = 1 << 20;
const HUB_TICK: Duration = Duration::from_millis(50);

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub struct Shared {
    pub config: Config,
    pub apps: HashMap<String, App>,
    pub store: Store,
    pub metrics: Metrics,
    hub: mpsc::Sender<HubCmd>,
    next_conn: AtomicU64,
}

enum Outbound {
    Frame(ServerFrame),
    Close,
}

enum HubCmd {
    Attach {
        conn: ConnId,
        tx: mpsc::Sender<Outbound>,
    },
    Join {
        conn: ConnId,
        id: Option<u32>,
        admitted: Box<Admitted>,
    },
    Rejoin {
        conn: ConnId,
        id: Option<u32>,
        session_id: String,
        resume_token: String,
    },
    Request {
        conn: ConnId,
        id: Option<u32>,
        request: Request,
    },
    Closed {
        conn: ConnId,
    },
}

/// Builds the router and starts the hub task and the media workers on `media_sockets`.
pub fn router(
    config: Config,
    apps: HashMap<String, App>,
    store: Store,
    media_sockets: crate::media::Sockets,
) -> (Router, Arc<Shared>) {
    let (hub_tx, hub_rx) = mpsc::channel(4096);
    let (media_tx, media_rx) = mpsc::unbounded_channel();
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        config,
        apps,
        store,
        metrics: Metrics::default(),
        hub: hub_tx,
        next_conn: AtomicU64::new(1),
    });
    tokio::spawn(crate::media::run(media_sockets, media_rx, done_tx, shared.clone()));
    tokio::spawn(run_hub(shared.clone(), hub_rx, media_tx, done_rx));
    let router = Router::new()
        .route("/status", get(index))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/api/v1/gateway", post(gateway))
        .route("/api/v1/string-uid", post(string_uid))
        .route("/ws", get(websocket))
        .merge(crate::web::routes())
        .layer(axum::middleware::from_fn(crate::web::cors))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(shared.clone());
    (router, shared)
}

fn error_response(shared: &Shared, status: StatusCode, error: RtcError) -> Response {
    shared.metrics.count_error(error.code);
    (status, axum::Json(error)).into_response()
}

async fn index(State(shared): State<Arc<Shared>>) -> Html<String> {
    let mut apps: Vec<&str> = shared.apps.keys().map(String::as_str).collect();
    apps.sort_unstable();
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Stoa</title><h1>Stoa is running</h1>\
         <p>Apps: {}</p><p>Discovery: <code>POST /api/v1/gateway</code>, signalling: <code>/ws</code>, \
         <a href=/metrics>metrics</a>, <a href=/healthz>health</a>.</p>",
        apps.join(", ")
    ))
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.encode(),
    )
        .into_response()
}

fn signalling_url(shared: &Shared, headers: &HeaderMap) -> String {
    if let Some(base) = &shared.config.server.public_url {
        let base = base.trim_end_matches('/');
        let ws = base.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
        return format!("{ws}/ws");
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| shared.config.server.http.to_string());
    format!("ws://{host}/ws")
}

fn refusal_status(error: &RtcError) -> StatusCode {
    let retry = error
        .data
        .as_ref()
        .and_then(|d| d.get("retry"))
        .and_then(|r| r.as_bool())
        .unwrap_or(false);
    if retry {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::FORBIDDEN
    }
}

/// `POST /api/v1/gateway`: checks the join and tells the client where to signal.
async fn gateway(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let request: GatewayRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let error = RtcError::new(ErrorCode::CanNotGetGatewayServer, format!("malformed request: {e}"))
                .with_data(serde_json::json!({"desc": "malformed request", "retry": false, "cause": "INVALID_PARAMS"}));
            return error_response(&shared, StatusCode::BAD_REQUEST, error);
        }
    };
    let ask = JoinAsk {
        app_id: &request.app_id,
        channel: &request.channel,
        token: request.token.as_deref(),
        uid: &request.uid,
        mode: Mode::Rtc,
        role: request.role,
    };
    match admit(&shared.apps, &shared.store, &ask, Stage::Discovery, now_ms() / 1000) {
        Ok(admitted) => {
            let uid = admitted.account.as_ref().and(admitted.uid);
            axum::Json(GatewayResponse {
                signalling_url: signalling_url(&shared, &headers),
                uid,
            })
            .into_response()
        }
        Err(error) => {
            tracing::info!(app = %request.app_id, channel = %request.channel, code = %error.code, "gateway refused: {}", error.detail);
            error_response(&shared, refusal_status(&error), error)
        }
    }
}

/// `POST /api/v1/string-uid`: the stable number of a user account.
async fn string_uid(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: StringUidRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let error = RtcError::new(ErrorCode::InvalidParams, format!("malformed request: {e}"));
            return error_response(&shared, StatusCode::BAD_REQUEST, error);
        }
    };
    if let Err(error) = validate::account(&request.account) {
        return error_response(&shared, StatusCode::BAD_REQUEST, error);
    }
    if let Err(error) = lookup_app(&shared.apps, &request.app_id) {
        return error_response(&shared, StatusCode::FORBIDDEN, error);
    }
    match uid_for_account(&shared.store, &request.app_id, &request.account) {
        Ok(uid) => axum::Json(StringUidResponse { uid }).into_response(),
        Err(error) => error_response(&shared, StatusCode::SERVICE_UNAVAILABLE, error),
    }
}

async fn websocket(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .max_message_size(HARD_MESSAGE_LIMIT)
        .max_frame_size(HARD_MESSAGE_LIMIT)
        .on_upgrade(move |socket| {
            let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
            let span = tracing::info_span!(
                "ws",
                conn,
                app = tracing::field::Empty,
                channel = tracing::field::Empty,
                uid = tracing::field::Empty
            );
            connection(shared, socket, conn).instrument(span)
        })
}

/// A token bucket for frames per connection.
struct FrameBudget {
    tokens: f64,
    per_second: f64,
    burst: f64,
    last: Instant,
}

impl FrameBudget {
    fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        FrameBudget {
            tokens: per_second * 2.0,
            per_second,
            burst: per_second * 2.0,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.per_second).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn connection(shared: Arc<Shared>, socket: WebSocket, conn: ConnId) {
    let (tx, mut rx) = mpsc::channel(OUTBOUND_QUEUE);
    if shared.hub.send(HubCmd::Attach { conn, tx }).await.is_err() {
        return;
    }
    shared.metrics.ws_connections.inc();
    let (mut sink, mut stream) = socket.split();
    let limits = &shared.config.limits;
    let mut budget = FrameBudget::new(limits.max_frames_per_second);
    let mut refused = 0u32;
    let mut joined = false;
    let join_deadline = tokio::time::sleep(Duration::from_millis(shared.config.timeouts.join_timeout_ms));
    tokio::pin!(join_deadline);

    loop {
        // Replies made here (refused frames, admission errors) go straight out; the hub's go through `rx`.
        let local_reply: Option<ServerFrame> = tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if !budget.take() {
                        shared.metrics.count_refused("rate");
                        refused += 1;
                        if refused > limits.max_refused_frames {
                            tracing::warn!("closing a connection that keeps flooding");
                            break;
                        }
                        Some(ServerFrame::error(None, RtcError::new(ErrorCode::InvalidOperation, "too many frames: slow down")))
                    } else {
                        handle_text(&shared, conn, text.as_str()).await
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    shared.metrics.count_refused("binary");
                    refused += 1;
                    if refused > limits.max_refused_frames {
                        tracing::warn!("closing a connection that keeps sending binary frames");
                        break;
                    }
                    Some(ServerFrame::error(None, RtcError::new(ErrorCode::InvalidParams, "binary frames are not supported: send JSON text")))
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(e)) => {
                    tracing::debug!("websocket read failed: {e}");
                    shared.metrics.count_refused("transport");
                    break;
                }
            },
            out = rx.recv() => match out {
                Some(Outbound::Frame(frame)) => {
                    if let ServerFrame::Joined { joined: j, .. } = &frame {
                        joined = true;
                        tracing::Span::current().record("uid", j.uid);
                    }
                    Some(frame)
                }
                Some(Outbound::Close) | None => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1000, reason: "session ended".into() }))).await;
                    break;
                }
            },
            _ = &mut join_deadline, if !joined => {
                let error = RtcError::new(ErrorCode::InvalidOperation, "no join within the join timeout");
                let _ = send_frame(&shared, &mut sink, &ServerFrame::error(None, error)).await;
                break;
            }
        };
        if let Some(frame) = local_reply
            && send_frame(&shared, &mut sink, &frame).await.is_err()
        {
            break;
        }
    }
    shared.metrics.ws_connections.dec();
    let _ = shared.hub.send(HubCmd::Closed { conn }).await;
}

async fn send_frame(
    shared: &Shared,
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    frame: &ServerFrame,
) -> Result<(), axum::Error> {
    if let ServerFrame::Error { error, .. } = frame {
        shared.metrics.count_error(error.code);
    }
    let text = serde_json::to_string(frame).expect("server frames always serialize");
    sink.send(Message::Text(text.into())).await
}

/// Handles one text frame: parse, admission for joins, then the hub. Returns a reply to send directly, if any.
async fn handle_text(shared: &Arc<Shared>, conn: ConnId, text: &str) -> Option<ServerFrame> {
    let ClientFrame { id, request } =
        match stoa_proto::signal::parse_client_frame(text, shared.config.limits.max_frame_bytes) {
            Ok(frame) => frame,
            Err((id, error)) => {
                shared.metrics.count_refused(if error.detail.contains("exceeds") {
                    "oversized"
                } else {
                    "malformed"
                });
                return Some(ServerFrame::error(id, error));
            }
        };
    let cmd = match request {
        Request::Join(join) => {
            let ask = JoinAsk {
                app_id: &join.app_id,
                channel: &join.channel,
                token: join.token.as_deref(),
                uid: &join.uid,
                mode: join.mode,
                role: join.role,
            };
            match admit(&shared.apps, &shared.store, &ask, Stage::Join, now_ms() / 1000) {
                Ok(admitted) => {
                    let span = tracing::Span::current();
                    span.record("app", admitted.app_id.as_str());
                    span.record("channel", admitted.channel.as_str());
                    HubCmd::Join {
                        conn,
                        id,
                        admitted: Box::new(admitted),
                    }
                }
                Err(error) => return Some(ServerFrame::error(id, error)),
            }
        }
        Request::Rejoin {
            session_id,
            resume_token,
        } => HubCmd::Rejoin {
            conn,
            id,
            session_id,
            resume_token,
        },
        Request::RenewToken { token } => {
            if let Err(error) = validate::token(Some(&token)) {
                return Some(ServerFrame::error(id, error));
            }
            HubCmd::Request {
                conn,
                id,
                request: Request::RenewToken { token },
            }
        }
        request => HubCmd::Request { conn, id, request },
    };
    // The hub task ends only with the runtime.
    let _ = shared.hub.send(cmd).await;
    None
}

/// The task that owns the hub: applies commands, runs its clocks and delivers its outputs.
async fn run_hub(
    shared: Arc<Shared>,
    mut commands: mpsc::Receiver<HubCmd>,
    media: mpsc::UnboundedSender<MediaOp>,
    mut media_done: mpsc::UnboundedReceiver<MediaDone>,
) {
    let timeouts = &shared.config.timeouts;
    let mut hub = Hub::new(HubConfig {
        session_timeout_ms: timeouts.session_timeout_ms,
        keepalive_ms: timeouts.keepalive_ms,
        token_will_expire_lead_ms: timeouts.token_will_expire_lead_ms,
        max_users_per_channel: shared.config.limits.max_users_per_channel,
    });
    let mut conns: HashMap<ConnId, mpsc::Sender<Outbound>> = HashMap::new();
    let mut tick = tokio::time::interval(HUB_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return };
                apply(&shared, &mut hub, &mut conns, command);
            }
            Some(done) = media_done.recv() => hub.media_done(done.conn, done.id, done.result),
            _ = tick.tick() => hub.handle_timeout(now_ms()),
        }
        deliver(&mut hub, &mut conns, &media);
        for ended in hub.take_ended() {
            let reason = match ended {
                Ended::Left => "left",
                Ended::TimedOut => "timeout",
                Ended::TokenExpired => "token_expired",
            };
            shared
                .metrics
                .sessions_ended
                .get_or_create(&crate::metrics::ReasonLabel { reason: reason.into() })
                .inc();
        }
        shared.metrics.active_channels.set(hub.channel_count() as i64);
        shared.metrics.active_users.set(hub.session_count() as i64);
    }
}

fn apply(shared: &Shared, hub: &mut Hub, conns: &mut HashMap<ConnId, mpsc::Sender<Outbound>>, command: HubCmd) {
    let now = now_ms();
    match command {
        HubCmd::Attach { conn, tx } => {
            conns.insert(conn, tx);
        }
        HubCmd::Join { conn, id, admitted } => {
            let before = hub.session_count();
            hub.join(conn, id, *admitted, now);
            if hub.session_count() > before {
                shared.metrics.joins.inc();
            }
        }
        HubCmd::Rejoin {
            conn,
            id,
            session_id,
            resume_token,
        } => hub.rejoin(conn, id, &session_id, &resume_token, now),
        HubCmd::Request { conn, id, request } => {
            hub.heard_from(conn, now);
            match request {
                Request::Ping => hub.ping(conn, id, now),
                Request::Leave => hub.leave(conn, id),
                Request::SetClientRole { role } => hub.set_client_role(conn, id, role),
                Request::RenewToken { token } => renew_token(shared, hub, conn, id, &token, now),
                Request::Publish { tracks, offer } => hub.publish(conn, id, tracks, offer, now),
                Request::Unpublish { media_types } => hub.unpublish(conn, id, &media_types),
                Request::SetTrackState(state) => hub.set_track_state(conn, id, state),
                Request::Subscribe { uid, media_type } => hub.subscribe(conn, id, uid, media_type),
                Request::Unsubscribe { uid, media_type } => hub.unsubscribe(conn, id, uid, media_type),
                Request::SubscriberAnswer { answer } => hub.subscriber_answer(conn, id, answer),
                Request::NetworkQuality { uplink, downlink } => hub.network_quality(conn, id, uplink, downlink),
                Request::RestartPublisherIce { offer } => {
                    shared.metrics.count_ice_restart("publisher");
                    hub.restart_publisher_ice(conn, id, offer);
                }
                Request::RestartSubscriberIce => {
                    shared.metrics.count_ice_restart("subscriber");
                    hub.restart_subscriber_ice(conn, id);
                }
                Request::Join(_) | Request::Rejoin { .. } => unreachable!("handled by their own commands"),
            }
        }
        HubCmd::Closed { conn } => {
            conns.remove(&conn);
            hub.connection_closed(conn);
        }
    }
}

fn renew_token(shared: &Shared, hub: &mut Hub, conn: ConnId, id: Option<u32>, token: &str, now_ms: u64) {
    let Some(identity) = hub.identity(conn).cloned() else {
        // Not joined: the hub answers INVALID_OPERATION.
        return hub.renew_token(conn, id, RenewedGrant::UNLIMITED, now_ms);
    };
    let certificate = shared
        .apps
        .get(&identity.app_id)
        .and_then(|app| app.certificate.clone());
    let Some(certificate) = certificate else {
        return hub.renew_token(conn, id, RenewedGrant::UNLIMITED, now_ms);
    };
    let uid_text = identity.account.clone().unwrap_or_else(|| identity.uid.to_string());
    match check_rtc_token(
        token,
        &identity.app_id,
        &certificate,
        &identity.channel,
        &uid_text,
        now_ms / 1000,
    ) {
        Ok(grant) => {
            let ms = |secs: u64| secs.saturating_mul(1000);
            let renewed = RenewedGrant {
                token_expires_at_ms: Some(ms(grant.expires_at)),
                publish_audio_until_ms: grant.publish_audio_until.map(ms),
                publish_video_until_ms: grant.publish_video_until.map(ms),
            };
            hub.renew_token(conn, id, renewed, now_ms)
        }
        Err(e) => {
            let code = match e {
                stoa_proto::token::TokenError::Expired => ErrorCode::TokenExpire,
                _ => ErrorCode::InvalidParams,
            };
            let error = RtcError::new(code, format!("renewToken refused: {}: {e}", e.reason()));
            hub.reply_error(conn, id, error);
        }
    }
}

fn deliver(hub: &mut Hub, conns: &mut HashMap<ConnId, mpsc::Sender<Outbound>>, media: &mpsc::UnboundedSender<MediaOp>) {
    let mut slow = Vec::new();
    while let Some(output) = hub.poll_output() {
        match output {
            Output::Send(conn, frame) => {
                if let Some(tx) = conns.get(&conn)
                    && tx.try_send(Outbound::Frame(frame)).is_err()
                {
                    slow.push(conn);
                }
            }
            Output::Close(conn) => {
                if let Some(tx) = conns.remove(&conn) {
                    let _ = tx.try_send(Outbound::Close);
                }
            }
            Output::Media(op) => {
                // The media worker lives as long as the hub.
                let _ = media.send(op);
            }
        }
    }
    for conn in slow {
        // A client that cannot keep up is dropped; its session survives until it rejoins or times out.
        tracing::warn!(conn, "outbound queue full: dropping the connection");
        conns.remove(&conn);
        hub.connection_closed(conn);
    }
}

/// Binds `addr` and serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
