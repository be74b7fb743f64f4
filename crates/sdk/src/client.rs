//! The client: `join`, `leave`, roles and tokens over the signalling protocol, with reconnection. One task (the
//! driver) owns the WebSocket; the [`Client`] handle talks to it through a channel and reads the shared state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use stoa_proto::signal::{
    ClientFrame, ClientRole, DisconnectReason, GatewayRequest, GatewayResponse, JoinRequest, Joined, Mode, Request,
    ServerFrame,
};
use stoa_proto::{ErrorCode, RtcError, validate};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::state::{ClientState, ConnectionState, Event, RemoteUser, Uid};

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
        }
    }
}

/// How long `leave` waits for the server's answer before closing anyway (Agora: 3 s).
const LEAVE_TIMEOUT: Duration = Duration::from_secs(3);
/// One HTTP or WebSocket connection attempt (Agora's HTTP_CONNECT_TIMEOUT).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

enum Command {
    Leave(oneshot::Sender<()>),
    Request(Request, oneshot::Sender<Result<(), RtcError>>),
}

struct Inner {
    machine: ClientState,
    role: ClientRole,
    uid: Option<Uid>,
    channel: Option<String>,
    driver: Option<mpsc::Sender<Command>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Inner {
    /// DISCONNECTED with `reason`, forgetting the session.
    fn disconnected(&mut self, reason: Option<DisconnectReason>) {
        self.machine.set_connection(ConnectionState::Disconnected, reason);
        self.driver = None;
        self.uid = None;
        self.channel = None;
    }
}

struct Shared {
    server: String,
    config: ClientConfig,
    http: reqwest::Client,
    inner: Mutex<Inner>,
    events: broadcast::Sender<Event>,
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
        };
        Ok(Client {
            shared: Arc::new(Shared {
                server,
                config,
                http,
                inner: Mutex::new(inner),
                events,
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
        let (state, driver) = self
            .shared
            .with(|inner| (inner.machine.connection(), inner.driver.clone()));
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
                shared.set_connection(ConnectionState::Reconnecting, None);
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
    reply: Option<oneshot::Sender<Result<(), RtcError>>>,
    deadline: Instant,
    renewed_token: Option<String>,
}

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
                                if let Some(token) = entry.renewed_token {
                                    session.params.token = Some(token);
                                }
                                if let Some(reply) = entry.reply {
                                    let _ = reply.send(Ok(()));
                                }
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
                            });
                            return LinkEnd::Finished;
                        }
                        _ => shared.with(|inner| inner.machine.push(&frame)),
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
                    pending.insert(id, Pending { reply: Some(reply), deadline: Instant::now() + request_timeout, renewed_token });
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
                    pending.insert(id, Pending { reply: None, deadline: now + request_timeout, renewed_token: None });
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
                session.joined = joined;
                shared.with(|inner| inner.machine.joined(&session.joined));
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
