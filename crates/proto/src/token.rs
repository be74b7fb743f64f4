//! AccessToken2 (`"007"`) tokens: build, parse, verify and check an RTC join, byte-compatible with the npm package
//! `agora-token@2.0.6`, Agora's official token builder. `tests/agora_token_crosscheck.rs` checks both directions
//! against that package.
//!
//! # Format
//!
//! ```text
//! signing_info = bytes(app_id) ‖ u32(issue_ts) ‖ u32(expire) ‖ u32(salt) ‖ u16(n) ‖ service_1 ‖ … ‖ service_n
//! service      = u16(type) ‖ u16(count) ‖ {u16(privilege) ‖ u32(seconds)}* ‖ tail     (privileges by ascending key)
//! RTC tail     = bytes(channel_name) ‖ bytes(uid)                                    (type 1)
//! k1 = HMAC-SHA256(key = u32(issue_ts), msg = app_certificate as ASCII text)
//! k2 = HMAC-SHA256(key = u32(salt), msg = k1);  signature = HMAC-SHA256(key = k2, msg = signing_info)
//! token = "007" ‖ base64(zlib_deflate(bytes(signature) ‖ signing_info))
//! ```
//!
//! Integers are little-endian, `bytes(b)` is `u16(len) ‖ b`. Services are packed sorted by type (stable: several
//! services of one type keep their order). `expire` and every privilege value are durations in seconds relative to
//! `issue_ts`.
//!
//! Building matches the package at the content level: given the same `issue_ts` and `salt`, the signed content of
//! [`AccessToken2::build`] is byte-identical to the package's. The zlib stream around it comes from flate2's zlib-rs backend at level
//! 6, like Node's default, and equals Node's for the package's RTC vectors; but Node bundles Chromium's zlib fork, so the compressed bytes (and so the token string) can
//! differ. Nothing depends on them: verifiers inflate first, and the signature covers the uncompressed content.
//!
//! Pure code: no IO and no clock. The current time is always a parameter; [`random_salt`] is the only randomness.
//!
//! # Decisions (what the package leaves open, and how Stoa's server checks a join)
//!
//! - **uid matching.** A token uid of `""` (what builders write for numeric uid 0) admits any uid. Otherwise the
//!   match is an exact string comparison: numeric uids are compared as their decimal string (`"2882341273"`; the
//!   caller passes the canonical decimal form), user accounts as the string itself. The account `"0"` stays `"0"`
//!   and is not a wildcard.
//! - **Token lifetime.** A token is valid from `issue_ts` until `issue_ts + expire`, exclusive: at exactly that second
//!   it has expired. `expire == 0` means the maximum lifetime, 24 hours. Non-zero values are not capped (a 48 h token
//!   works), for compatibility with tokens issued elsewhere.
//! - **Privileges.** A privilege value `v` means "until `issue_ts + v`", capped at the token's expiry (Agora: a
//!   privilege is "limited by the token expiration"). `v == 0` (the builders' default) means "until the token
//!   expires". The join privilege (1) is required; the effective join expiry is `min(token expiry, join expiry)`.
//!   Publish privileges (2, 3, 4) are reported in [`RtcGrant`] for the caller to enforce; their absence or expiry
//!   does not fail a join.
//! - **Clock skew.** Tokens issued up to [`CLOCK_SKEW_SECS`] (5 minutes) in the future are accepted; later ones fail
//!   with [`TokenError::NotYetValid`].
//! - **Several RTC services** (the package allows repeated service types): the first one whose channel and uid match
//!   is used.
//! - **App id** comparison ignores ASCII case (both sides are 32 hex digits, so case does not change the value).
//! - **Unknown service types.** Parsing stops at the first unknown type and succeeds with the services read so far,
//!   as the package does. Bytes after the last service are ignored (they are still covered by the signature).
//!   Known non-RTC types (2 RTM … 10 STT) are parsed by their layout and kept as [`Service::Other`] with their raw
//!   tail, so multi-service tokens (`buildTokenWithRtm`, RTM2 permission trees…) parse completely.
//! - **Input limits.** Tokens longer than [`MAX_TOKEN_LEN`] (2047, the Web SDK's limit) are rejected before decoding,
//!   the inflated content is capped at [`MAX_INFLATED_LEN`], every read is bounds-checked, and a truncated zlib stream
//!   or a bad Adler-32 is an error. Parsing never panics. Base64 must use the standard alphabet; padding may be
//!   omitted. App id, channel name and uid must be UTF-8 (the package accepts any bytes there, but such a token could
//!   never match a channel or uid the SDK sends). Building refuses tokens longer than 2047 characters
//!   ([`TokenError::TooLong`]), since no SDK would accept them.
//! - **Signature comparison** is constant-time (`hmac`'s `verify_slice`).
//! - **Errors** map to Agora access-point codes with [`TokenError::ap_code`]: expiry is `2010013` "dynamic key
//!   expired" (the Web SDK turns that into token-privilege-did-expire on reconnect), a bad app id or certificate in
//!   the server's own configuration is `2010008` "unilbs internal error", everything else is `2010009` "invalid
//!   token, authorized failed".

use std::collections::BTreeMap;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The version prefix of AccessToken2 tokens.
pub const VERSION: &str = "007";
/// The longest token accepted (and built), in characters: the Web SDK's limit for `join` and `renewToken`.
pub const MAX_TOKEN_LEN: usize = 2047;
/// The largest inflated token content accepted by [`AccessToken2::parse`], in bytes.
pub const MAX_INFLATED_LEN: usize = 64 * 1024;
/// The lifetime of a token whose `expire` is 0: 24 hours, Agora's documented maximum.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u32 = 24 * 60 * 60;
/// How far in the future a token's `issue_ts` may lie: 5 minutes of clock skew between token server and Stoa.
pub const CLOCK_SKEW_SECS: u64 = 5 * 60;

/// Service type of RTC (audio/video channels).
pub const SERVICE_RTC: u16 = 1;
/// Service type of RTM (messaging); its login privilege is key 1.
pub const SERVICE_RTM: u16 = 2;
/// Service types the package knows: 1 RTC, 2 RTM, 3 Streaming, 4 FPA, 5 Chat, 6 FCDN, 7 APaaS, 8 RTM2, 9 ConvoAI,
/// 10 STT. Parsing stops at any other type.
pub const KNOWN_SERVICES: std::ops::RangeInclusive<u16> = 1..=10;

/// Agora access-point code for "invalid token, authorized failed" (module UNILBS 201, sub-code 9).
pub const AP_INVALID_TOKEN: u32 = 2_010_009;
/// Agora access-point code for "dynamic key expired" (UNILBS, sub-code 13).
pub const AP_TOKEN_EXPIRED: u32 = 2_010_013;
/// Agora access-point code for "unilbs internal error" (UNILBS, sub-code 8).
pub const AP_INTERNAL_ERROR: u32 = 2_010_008;

/// An RTC privilege: the key in the RTC service's privilege map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum Privilege {
    JoinChannel = 1,
    PublishAudioStream = 2,
    PublishVideoStream = 3,
    PublishDataStream = 4,
}

impl Privilege {
    /// All RTC privileges, by key.
    pub const ALL: [Privilege; 4] = [
        Privilege::JoinChannel,
        Privilege::PublishAudioStream,
        Privilege::PublishVideoStream,
        Privilege::PublishDataStream,
    ];

    /// The key written in the token.
    pub const fn key(self) -> u16 {
        self as u16
    }
}

/// The role of the RTC builders: a publisher gets privileges 1–4, a subscriber only 1 (join).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Role {
    Publisher = 1,
    Subscriber = 2,
}

/// The RTC service (type 1) of a token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtcService {
    pub channel_name: String,
    /// The uid as text: a decimal uid, a user account, or `""` for "any uid" (what numeric uid 0 becomes).
    pub uid: String,
    /// Privilege key → seconds after `issue_ts` (0 = until the token expires).
    pub privileges: BTreeMap<u16, u32>,
}

impl RtcService {
    /// A service for a channel and a uid string (`""` = any uid); see [`rtc_uid`] for numeric uids.
    pub fn new(channel_name: impl Into<String>, uid: impl Into<String>) -> Self {
        RtcService {
            channel_name: channel_name.into(),
            uid: uid.into(),
            privileges: BTreeMap::new(),
        }
    }

    /// Adds or replaces a privilege (seconds after `issue_ts`; 0 = until the token expires).
    pub fn add_privilege(&mut self, privilege: Privilege, expire: u32) -> &mut Self {
        self.privileges.insert(privilege.key(), expire);
        self
    }

    /// The raw value of a privilege, if the token grants it.
    pub fn privilege(&self, privilege: Privilege) -> Option<u32> {
        self.privileges.get(&privilege.key()).copied()
    }

    /// Whether this service admits `uid` (decimal uid or account): the service's uid is `""` or equal to it.
    pub fn admits_uid(&self, uid: &str) -> bool {
        self.uid.is_empty() || self.uid == uid
    }
}

/// One service of a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Service {
    Rtc(RtcService),
    /// Any other service, kept as parsed: its type, privileges and the raw type-specific tail (re-emitted verbatim
    /// by [`AccessToken2::build`]).
    Other {
        kind: u16,
        privileges: BTreeMap<u16, u32>,
        tail: Vec<u8>,
    },
}

impl Service {
    /// An RTM service (type 2) for `user_id` with the login privilege (key 1), as `buildTokenWithRtm` adds it.
    pub fn rtm(user_id: &str, login_expire: u32) -> Service {
        let mut tail = Vec::with_capacity(2 + user_id.len());
        put_bytes(&mut tail, user_id.as_bytes());
        Service::Other {
            kind: SERVICE_RTM,
            privileges: BTreeMap::from([(1, login_expire)]),
            tail,
        }
    }

    /// The service type.
    pub fn kind(&self) -> u16 {
        match self {
            Service::Rtc(_) => SERVICE_RTC,
            Service::Other { kind, .. } => *kind,
        }
    }

    /// The privilege map.
    pub fn privileges(&self) -> &BTreeMap<u16, u32> {
        match self {
            Service::Rtc(rtc) => &rtc.privileges,
            Service::Other { privileges, .. } => privileges,
        }
    }

    fn pack(&self, out: &mut Vec<u8>) {
        put_u16(out, self.kind());
        let privileges = self.privileges();
        put_u16(out, privileges.len() as u16);
        for (key, value) in privileges {
            put_u16(out, *key);
            put_u32(out, *value);
        }
        match self {
            Service::Rtc(rtc) => {
                put_bytes(out, rtc.channel_name.as_bytes());
                put_bytes(out, rtc.uid.as_bytes());
            }
            Service::Other { tail, .. } => out.extend_from_slice(tail),
        }
    }
}

impl From<RtcService> for Service {
    fn from(rtc: RtcService) -> Self {
        Service::Rtc(rtc)
    }
}

/// An AccessToken2, built with [`AccessToken2::new`] + [`AccessToken2::add_service`] or read with
/// [`AccessToken2::parse`]. A parsed token keeps its original signed bytes and signature for
/// [`AccessToken2::verify_signature`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken2 {
    pub app_id: String,
    /// Issue time, Unix seconds.
    pub issue_ts: u32,
    /// Lifetime in seconds after `issue_ts` (0 = [`DEFAULT_TOKEN_LIFETIME_SECS`] for [`check_rtc_token`]).
    pub expire: u32,
    /// Random salt; the package draws it from 1..=99999999 (see [`random_salt`]).
    pub salt: u32,
    /// Services in insertion order (built) or token order (parsed).
    pub services: Vec<Service>,
    signature: Vec<u8>,
    signing_info: Vec<u8>,
}

impl AccessToken2 {
    /// An empty token (add services before building).
    pub fn new(app_id: impl Into<String>, issue_ts: u32, expire: u32, salt: u32) -> Self {
        AccessToken2 {
            app_id: app_id.into(),
            issue_ts,
            expire,
            salt,
            services: Vec::new(),
            signature: Vec::new(),
            signing_info: Vec::new(),
        }
    }

    /// Appends a service (several of one type are allowed, as in the package).
    pub fn add_service(&mut self, service: impl Into<Service>) -> &mut Self {
        self.services.push(service.into());
        self
    }

    /// The RTC services, in order.
    pub fn rtc_services(&self) -> impl Iterator<Item = &RtcService> {
        self.services.iter().filter_map(|service| match service {
            Service::Rtc(rtc) => Some(rtc),
            Service::Other { .. } => None,
        })
    }

    /// Signs and encodes the token, exactly as the package's `AccessToken2.build()` does. Fails where the package
    /// returns `""` (app id or certificate not 32 hex characters: [`TokenError::InvalidCredentials`]; no service:
    /// [`TokenError::NoServices`]) and when the token would exceed [`MAX_TOKEN_LEN`] ([`TokenError::TooLong`]).
    pub fn build(&self, app_certificate: &str) -> Result<String, TokenError> {
        if !is_hex32(&self.app_id) || !is_hex32(app_certificate) {
            return Err(TokenError::InvalidCredentials);
        }
        if self.services.is_empty() {
            return Err(TokenError::NoServices);
        }
        let mut ordered: Vec<&Service> = self.services.iter().collect();
        ordered.sort_by_key(|service| service.kind()); // stable, like the package
        let mut signing_info = Vec::with_capacity(128);
        put_bytes(&mut signing_info, self.app_id.as_bytes());
        put_u32(&mut signing_info, self.issue_ts);
        put_u32(&mut signing_info, self.expire);
        put_u32(&mut signing_info, self.salt);
        put_u16(&mut signing_info, ordered.len() as u16);
        for service in ordered {
            service.pack(&mut signing_info);
        }
        let signature = signer(app_certificate, self.issue_ts, self.salt)
            .chain_update(&signing_info)
            .finalize()
            .into_bytes();
        let mut content = Vec::with_capacity(2 + signature.len() + signing_info.len());
        put_bytes(&mut content, &signature);
        content.extend_from_slice(&signing_info);
        // Every length prefix above is a u16; content this large could not have been packed faithfully anyway.
        if content.len() > MAX_INFLATED_LEN {
            return Err(TokenError::TooLong);
        }
        let compressed = deflate(&content);
        let token = format!("{VERSION}{}", BASE64.encode(compressed));
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong);
        }
        Ok(token)
    }

    /// Decodes a token without checking its signature (see [`AccessToken2::verify_signature`] and
    /// [`check_rtc_token`]). Never panics, whatever the input.
    pub fn parse(token: &str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong);
        }
        if token.len() < VERSION.len() {
            return Err(TokenError::Malformed("token too short"));
        }
        let Some(body) = token.strip_prefix(VERSION) else {
            return Err(TokenError::WrongVersion);
        };
        let compressed = BASE64
            .decode(body)
            .map_err(|_| TokenError::Malformed("invalid base64"))?;
        let content = inflate(&compressed)?;

        let mut reader = Reader(&content);
        let signature = reader.bytes()?.to_vec();
        let signing_info = reader.0.to_vec();
        let app_id = reader.string("app id is not UTF-8")?;
        let issue_ts = reader.u32()?;
        let expire = reader.u32()?;
        let salt = reader.u32()?;
        let count = reader.u16()?;
        let mut services = Vec::new();
        for _ in 0..count {
            let kind = reader.u16()?;
            if !KNOWN_SERVICES.contains(&kind) {
                break; // the package stops at an unknown type and still succeeds
            }
            let privileges = reader.privileges()?;
            if kind == SERVICE_RTC {
                let channel_name = reader.string("channel name is not UTF-8")?;
                let uid = reader.string("uid is not UTF-8")?;
                services.push(Service::Rtc(RtcService {
                    channel_name,
                    uid,
                    privileges,
                }));
            } else {
                let before = reader.0;
                reader.skip_tail(kind)?;
                let tail = before[..before.len() - reader.0.len()].to_vec();
                services.push(Service::Other { kind, privileges, tail });
            }
        }
        Ok(AccessToken2 {
            app_id,
            issue_ts,
            expire,
            salt,
            services,
            signature,
            signing_info,
        })
    }

    /// Whether a parsed token's signature is valid for `app_certificate` (the package's `verifySignature`): false for
    /// tokens not obtained from [`AccessToken2::parse`], when the app id or the certificate is not 32 hex characters,
    /// or when the signature does not match the original signed bytes. Constant-time comparison.
    pub fn verify_signature(&self, app_certificate: &str) -> bool {
        if self.signature.is_empty()
            || self.signing_info.is_empty()
            || !is_hex32(&self.app_id)
            || !is_hex32(app_certificate)
        {
            return false;
        }
        signer(app_certificate, self.issue_ts, self.salt)
            .chain_update(&self.signing_info)
            .verify_slice(&self.signature)
            .is_ok()
    }
}

/// The uid string the builders put in a token for a numeric uid: `""` (any uid) for 0, else the decimal number.
pub fn rtc_uid(uid: u32) -> String {
    if uid == 0 { String::new() } else { uid.to_string() }
}

/// A salt as the package draws it: uniform in 1..=99999999.
pub fn random_salt() -> u32 {
    rand::random_range(1..=99_999_999)
}

/// `RtcTokenBuilder.buildTokenWithUid`: uid 0 becomes `""` (any uid). A publisher gets privileges 1–4, a subscriber
/// only 1, each set to `privilege_expire` (the package's default is 0 = until the token expires). `issue_ts` and
/// `salt` are parameters here (the package uses the clock and [`random_salt`]).
#[allow(clippy::too_many_arguments)]
pub fn build_token_with_uid(
    app_id: &str,
    app_certificate: &str,
    channel: &str,
    uid: u32,
    role: Role,
    token_expire: u32,
    privilege_expire: u32,
    issue_ts: u32,
    salt: u32,
) -> Result<String, TokenError> {
    build_token_with_user_account(
        app_id,
        app_certificate,
        channel,
        &rtc_uid(uid),
        role,
        token_expire,
        privilege_expire,
        issue_ts,
        salt,
    )
}

/// `RtcTokenBuilder.buildTokenWithUserAccount`: like [`build_token_with_uid`] with the account string as the uid
/// (`"0"` stays `"0"`; `""` means any uid).
#[allow(clippy::too_many_arguments)]
pub fn build_token_with_user_account(
    app_id: &str,
    app_certificate: &str,
    channel: &str,
    account: &str,
    role: Role,
    token_expire: u32,
    privilege_expire: u32,
    issue_ts: u32,
    salt: u32,
) -> Result<String, TokenError> {
    let mut token = AccessToken2::new(app_id, issue_ts, token_expire, salt);
    token.add_service(role_service(channel, account, role, privilege_expire));
    token.build(app_certificate)
}

/// `RtcTokenBuilder.buildTokenWithUidAndPrivilege`: all four privileges, each with its own value.
#[allow(clippy::too_many_arguments)]
pub fn build_token_with_uid_and_privilege(
    app_id: &str,
    app_certificate: &str,
    channel: &str,
    uid: u32,
    token_expire: u32,
    join_channel: u32,
    publish_audio: u32,
    publish_video: u32,
    publish_data: u32,
    issue_ts: u32,
    salt: u32,
) -> Result<String, TokenError> {
    build_token_with_user_account_and_privilege(
        app_id,
        app_certificate,
        channel,
        &rtc_uid(uid),
        token_expire,
        join_channel,
        publish_audio,
        publish_video,
        publish_data,
        issue_ts,
        salt,
    )
}

/// `RtcTokenBuilder.BuildTokenWithUserAccountAndPrivilege`: [`build_token_with_uid_and_privilege`] for an account.
#[allow(clippy::too_many_arguments)]
pub fn build_token_with_user_account_and_privilege(
    app_id: &str,
    app_certificate: &str,
    channel: &str,
    account: &str,
    token_expire: u32,
    join_channel: u32,
    publish_audio: u32,
    publish_video: u32,
    publish_data: u32,
    issue_ts: u32,
    salt: u32,
) -> Result<String, TokenError> {
    let mut rtc = RtcService::new(channel, account);
    rtc.add_privilege(Privilege::JoinChannel, join_channel)
        .add_privilege(Privilege::PublishAudioStream, publish_audio)
        .add_privilege(Privilege::PublishVideoStream, publish_video)
        .add_privilege(Privilege::PublishDataStream, publish_data);
    let mut token = AccessToken2::new(app_id, issue_ts, token_expire, salt);
    token.add_service(rtc);
    token.build(app_certificate)
}

/// `RtcTokenBuilder.buildTokenWithRtm`: the RTC service of [`build_token_with_user_account`] plus an RTM service
/// for the same account with login privilege = `token_expire`.
#[allow(clippy::too_many_arguments)]
pub fn build_token_with_rtm(
    app_id: &str,
    app_certificate: &str,
    channel: &str,
    account: &str,
    role: Role,
    token_expire: u32,
    privilege_expire: u32,
    issue_ts: u32,
    salt: u32,
) -> Result<String, TokenError> {
    let mut token = AccessToken2::new(app_id, issue_ts, token_expire, salt);
    token
        .add_service(role_service(channel, account, role, privilege_expire))
        .add_service(Service::rtm(account, token_expire));
    token.build(app_certificate)
}

fn role_service(channel: &str, account: &str, role: Role, privilege_expire: u32) -> RtcService {
    let mut rtc = RtcService::new(channel, account);
    rtc.add_privilege(Privilege::JoinChannel, privilege_expire);
    if role == Role::Publisher {
        rtc.add_privilege(Privilege::PublishAudioStream, privilege_expire)
            .add_privilege(Privilege::PublishVideoStream, privilege_expire)
            .add_privilege(Privilege::PublishDataStream, privilege_expire);
    }
    rtc
}

/// What a valid token grants for one RTC join. All times are absolute Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtcGrant {
    /// The token's `issue_ts`.
    pub issued_at: u64,
    /// `issue_ts + expire` (`expire` 0 = 24 h).
    pub token_expires_at: u64,
    /// The effective join expiry: `min(token_expires_at, join privilege)`. The user must leave (or renew) by then.
    pub expires_at: u64,
    /// Until when publishing audio is allowed; `None` = the token does not grant it. Capped at `token_expires_at`.
    pub publish_audio_until: Option<u64>,
    /// Until when publishing video is allowed; `None` = not granted. Capped at `token_expires_at`.
    pub publish_video_until: Option<u64>,
    /// Until when publishing data streams is allowed; `None` = not granted. Capped at `token_expires_at`.
    pub publish_data_until: Option<u64>,
}

impl RtcGrant {
    /// Until when `privilege` holds (`None` = not granted); [`Privilege::JoinChannel`] gives `expires_at`.
    pub fn until(&self, privilege: Privilege) -> Option<u64> {
        match privilege {
            Privilege::JoinChannel => Some(self.expires_at),
            Privilege::PublishAudioStream => self.publish_audio_until,
            Privilege::PublishVideoStream => self.publish_video_until,
            Privilege::PublishDataStream => self.publish_data_until,
        }
    }

    /// Whether `privilege` holds at `now_unix` (expiry instants are exclusive).
    pub fn allows(&self, privilege: Privilege, now_unix: u64) -> bool {
        self.until(privilege).is_some_and(|until| now_unix < until)
    }
}

/// Everything a server checks before letting a user join (or renew a token in) `channel` as `uid`: the token parses,
/// was issued for `app_id`, is signed with `app_certificate`, is not issued more than [`CLOCK_SKEW_SECS`] in the
/// future, has an RTC service for this channel and uid with the join privilege, and has not expired at `now_unix`.
/// `uid` is the decimal uid or the user account. `app_id` and `app_certificate` are the server's configuration
/// (32 hex characters each, else [`TokenError::InvalidCredentials`]). See the module docs for the rules.
pub fn check_rtc_token(
    token: &str,
    app_id: &str,
    app_certificate: &str,
    channel: &str,
    uid: &str,
    now_unix: u64,
) -> Result<RtcGrant, TokenError> {
    if !is_hex32(app_id) || !is_hex32(app_certificate) {
        return Err(TokenError::InvalidCredentials);
    }
    let token = AccessToken2::parse(token)?;
    if !token.app_id.eq_ignore_ascii_case(app_id) {
        return Err(TokenError::AppIdMismatch);
    }
    if !token.verify_signature(app_certificate) {
        return Err(TokenError::BadSignature);
    }
    let issued_at = u64::from(token.issue_ts);
    if issued_at > now_unix.saturating_add(CLOCK_SKEW_SECS) {
        return Err(TokenError::NotYetValid);
    }

    let mut rtc_services = token.rtc_services().peekable();
    if rtc_services.peek().is_none() {
        return Err(TokenError::NoRtcService);
    }
    let mut channel_seen = false;
    let service = rtc_services
        .find(|rtc| {
            let channel_matches = rtc.channel_name == channel;
            channel_seen |= channel_matches;
            channel_matches && rtc.admits_uid(uid)
        })
        .ok_or(if channel_seen {
            TokenError::UidMismatch
        } else {
            TokenError::ChannelMismatch
        })?;

    let lifetime = match token.expire {
        0 => DEFAULT_TOKEN_LIFETIME_SECS,
        expire => expire,
    };
    let token_expires_at = issued_at + u64::from(lifetime);
    let until = |privilege: Privilege| {
        service.privilege(privilege).map(|value| match value {
            0 => token_expires_at,
            value => (issued_at + u64::from(value)).min(token_expires_at),
        })
    };
    let expires_at = until(Privilege::JoinChannel).ok_or(TokenError::NoJoinPrivilege)?;
    if now_unix >= expires_at {
        return Err(TokenError::Expired);
    }
    Ok(RtcGrant {
        issued_at,
        token_expires_at,
        expires_at,
        publish_audio_until: until(Privilege::PublishAudioStream),
        publish_video_until: until(Privilege::PublishVideoStream),
        publish_data_until: until(Privilege::PublishDataStream),
    })
}

/// Why a token was refused (or could not be built).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not decodable: bad base64 or zlib data, truncated fields, non-UTF-8 strings, oversized content.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Longer than [`MAX_TOKEN_LEN`] characters (parse), or would be (build).
    #[error("token longer than 2047 characters")]
    TooLong,
    /// Does not start with `"007"` (for example a legacy `"006"` token).
    #[error("not an AccessToken2 (007) token")]
    WrongVersion,
    #[error("token signature does not match the app certificate")]
    BadSignature,
    #[error("token was issued for another app id")]
    AppIdMismatch,
    #[error("token was issued for another channel")]
    ChannelMismatch,
    #[error("token was issued for another uid")]
    UidMismatch,
    #[error("token has no RTC service")]
    NoRtcService,
    #[error("token does not grant joining the channel")]
    NoJoinPrivilege,
    #[error("token expired")]
    Expired,
    /// Issued more than [`CLOCK_SKEW_SECS`] in the future.
    #[error("token issued in the future")]
    NotYetValid,
    /// The app id or app certificate given to build or check is not 32 hex characters.
    #[error("app id or app certificate is not 32 hex characters")]
    InvalidCredentials,
    /// [`AccessToken2::build`] on a token without services.
    #[error("token has no service")]
    NoServices,
}

impl TokenError {
    /// The Agora access-point code for this refusal (module UNILBS 201): [`AP_TOKEN_EXPIRED`] for
    /// [`TokenError::Expired`], [`AP_INTERNAL_ERROR`] for [`TokenError::InvalidCredentials`] (the server's own
    /// configuration is wrong), [`AP_INVALID_TOKEN`] for everything else.
    pub fn ap_code(&self) -> u32 {
        match self {
            TokenError::Expired => AP_TOKEN_EXPIRED,
            TokenError::InvalidCredentials => AP_INTERNAL_ERROR,
            _ => AP_INVALID_TOKEN,
        }
    }

    /// Agora's reason text for [`TokenError::ap_code`].
    pub fn reason(&self) -> &'static str {
        match self.ap_code() {
            AP_TOKEN_EXPIRED => "dynamic key expired",
            AP_INTERNAL_ERROR => "unilbs internal error",
            _ => "invalid token, authorized failed",
        }
    }
}

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;

type HmacSha256 = Hmac<Sha256>;

/// The MAC keyed for `signature = HMAC(k2, signing_info)`, after the key chain of section 7.2.
fn signer(app_certificate: &str, issue_ts: u32, salt: u32) -> HmacSha256 {
    let hmac = |key: &[u8], message: &[u8]| {
        <HmacSha256 as KeyInit>::new_from_slice(key)
            .expect("HMAC accepts keys of any length")
            .chain_update(message)
            .finalize()
            .into_bytes()
    };
    let k1 = hmac(&issue_ts.to_le_bytes(), app_certificate.as_bytes());
    let k2 = hmac(&salt.to_le_bytes(), &k1);
    <HmacSha256 as KeyInit>::new_from_slice(&k2).expect("HMAC accepts keys of any length")
}

fn is_hex32(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// `u16(len) ‖ bytes`. Longer inputs get a truncated length; [`AccessToken2::build`] refuses such content by size.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u16(out, bytes.len() as u16);
    out.extend_from_slice(bytes);
}

/// zlib-inflates at most [`MAX_INFLATED_LEN`] bytes and requires a complete stream (end marker and Adler-32).
fn inflate(data: &[u8]) -> Result<Vec<u8>, TokenError> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut inflater = Decompress::new(true);
    let mut out = Vec::with_capacity((data.len() * 4).clamp(64, MAX_INFLATED_LEN + 1));
    loop {
        if out.len() > MAX_INFLATED_LEN {
            return Err(TokenError::Malformed("inflated token too large"));
        }
        if out.len() == out.capacity() {
            out.reserve_exact(out.capacity().min(MAX_INFLATED_LEN + 1 - out.len()));
        }
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let consumed = usize::try_from(in_before).unwrap_or(usize::MAX).min(data.len());
        // `Finish` would make miniz fail as soon as the output buffer is too small; `None` lets it grow.
        match inflater.decompress_vec(&data[consumed..], &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) => break,
            Ok(Status::Ok | Status::BufError) => {
                let stalled = inflater.total_in() == in_before && inflater.total_out() == out_before;
                if stalled && out.len() < out.capacity() {
                    return Err(TokenError::Malformed("truncated zlib stream"));
                }
            }
            Err(_) => return Err(TokenError::Malformed("invalid zlib stream")),
        }
    }
    if out.len() > MAX_INFLATED_LEN {
        return Err(TokenError::Malformed("inflated token too large"));
    }
    Ok(out)
}

/// Bounds-checked little-endian reader over the unread rest.
struct Reader<'a>(&'a [u8]);

const TRUNCATED: TokenError = TokenError::Malformed("truncated token");

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        if self.0.len() < n {
            return Err(TRUNCATED);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, TokenError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, TokenError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Result<&'a [u8], TokenError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    fn string(&mut self, not_utf8: &'static str) -> Result<String, TokenError> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| TokenError::Malformed(not_utf8))
    }

    fn privileges(&mut self) -> Result<BTreeMap<u16, u32>, TokenError> {
        let count = self.u16()?;
        let mut privileges = BTreeMap::new();
        for _ in 0..count {
            let key = self.u16()?;
            let value = self.u32()?;
            privileges.insert(key, value); // a repeated key overwrites, as in the package
        }
        Ok(privileges)
    }

    /// Skips the type-specific tail of a known non-RTC service (layouts of the package's `unpack` methods). Every
    /// loop iteration consumes input, so the work is bounded by the input length.
    fn skip_tail(&mut self, kind: u16) -> Result<(), TokenError> {
        match kind {
            // RTM, Chat: user_id
            2 | 5 => {
                self.bytes()?;
            }
            // Streaming, FCDN: channel_name, account
            3 | 6 => {
                self.bytes()?;
                self.bytes()?;
            }
            // APaaS: room_uuid, user_uuid, i16 role
            7 => {
                self.bytes()?;
                self.bytes()?;
                self.take(2)?;
            }
            // RTM2: user_id, then {resource type → {permission type → [resource]}}
            8 => {
                self.bytes()?;
                for _ in 0..self.u16()? {
                    self.u16()?;
                    for _ in 0..self.u16()? {
                        self.u16()?;
                        for _ in 0..self.u16()? {
                            self.bytes()?;
                        }
                    }
                }
            }
            // FPA, ConvoAI, STT (and RTC, which the caller handles): no tail
            _ => {}
        }
        Ok(())
    }
}

/// zlib-wrapped deflate at level 6, Node's `zlib.deflateSync` default. The compressed bytes may differ from Node's
/// (Node bundles Chromium's zlib fork); verifiers inflate first, so only the content is part of the format.
fn deflate(content: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::with_capacity(content.len()), flate2::Compression::new(6));
    encoder.write_all(content).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
    const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
    const CHANNEL: &str = "7d72365eb983485397e3e3f9d460bdda";
    const UID: u32 = 2_882_341_273;
    const TS: u32 = 1_111_111;
    /// The package's AccessToken_Test (uid 2882341273) and AccessToken_Test2 (uid 0) vectors.
    const VECTOR_UID: &str = "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj";
    const VECTOR_UID0: &str = "007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo=";
    /// AccessToken_Test4: RTC with privileges 1–4 plus RTM "test_user", all 600.
    const VECTOR_RTC_RTM: &str = "007eJxTYOAQsrQ5s3TfH+1tvy8zZZ46EpCc0V43JXdGd2jS8porKo4KDJbmBs6OxqYpqWYGySYmZiamSUmJqRaJRoamBmaGScbG7l8EGCKYGBgYGRgYmBgYGVgYGMF8JjDJDCZZwKQCg3mKuZGxmWlqkqWFsYmFqbGleapxqnGaZYqJmUFSSkoiF4ORhYWRsYmhkbkxyCyISZwMJanFJfGlxalFACKnKng=";

    fn vector_token(uid: u32) -> AccessToken2 {
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        let mut rtc = RtcService::new(CHANNEL, rtc_uid(uid));
        rtc.add_privilege(Privilege::JoinChannel, 600);
        token.add_service(rtc);
        token
    }

    fn build(uid: &str, expire: u32, privileges: &[(Privilege, u32)], issue_ts: u32) -> String {
        let mut token = AccessToken2::new(APP_ID, issue_ts, expire, 42);
        let mut rtc = RtcService::new(CHANNEL, uid);
        for &(privilege, value) in privileges {
            rtc.add_privilege(privilege, value);
        }
        token.add_service(rtc);
        token.build(CERT).unwrap()
    }

    #[test]
    fn builds_the_content_of_the_package_test_vectors() {
        let same = |built: String, vector: &str| assert_eq!(content_of(&built), content_of(vector));
        same(vector_token(UID).build(CERT).unwrap(), VECTOR_UID);
        same(vector_token(0).build(CERT).unwrap(), VECTOR_UID0);
        // The account variant with the decimal string gives the same token (AccessToken_Test3).
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        let mut rtc = RtcService::new(CHANNEL, "2882341273");
        rtc.add_privilege(Privilege::JoinChannel, 600);
        token.add_service(rtc);
        same(token.build(CERT).unwrap(), VECTOR_UID);

        // RTM added first still packs after RTC (services sorted by type).
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        token.add_service(Service::rtm("test_user", 600));
        let mut rtc = RtcService::new(CHANNEL, rtc_uid(UID));
        for privilege in Privilege::ALL {
            rtc.add_privilege(privilege, 600);
        }
        token.add_service(rtc);
        same(token.build(CERT).unwrap(), VECTOR_RTC_RTM);
    }

    #[test]
    fn parses_and_verifies_the_package_test_vectors() {
        for (vector, uid) in [(VECTOR_UID, "2882341273"), (VECTOR_UID0, "")] {
            let token = AccessToken2::parse(vector).unwrap();
            assert_eq!(token.app_id, APP_ID);
            assert_eq!((token.issue_ts, token.expire, token.salt), (TS, 600, 1));
            assert_eq!(
                token.services,
                vec![Service::Rtc(RtcService {
                    channel_name: CHANNEL.into(),
                    uid: uid.into(),
                    privileges: BTreeMap::from([(1, 600)]),
                })]
            );
            assert!(token.verify_signature(CERT));
            assert!(!token.verify_signature("5CFd2fd1755d40ecb72977518be15d3c"));
            assert!(!token.verify_signature("not a certificate"));
            // Rebuilding the parsed fields gives the same string.
            assert_eq!(token.build(CERT).unwrap(), vector);
        }
        let token = AccessToken2::parse(VECTOR_RTC_RTM).unwrap();
        assert!(token.verify_signature(CERT));
        assert_eq!(token.services.len(), 2);
        assert_eq!(token.services[1], Service::rtm("test_user", 600));
        assert_eq!(token.rtc_services().next().unwrap().privileges.len(), 4);
    }

    #[test]
    fn check_accepts_the_vectors_for_their_channel_and_uid() {
        let now = u64::from(TS) + 10;
        let grant = check_rtc_token(VECTOR_UID, APP_ID, CERT, CHANNEL, "2882341273", now).unwrap();
        assert_eq!(
            grant,
            RtcGrant {
                issued_at: u64::from(TS),
                token_expires_at: u64::from(TS) + 600,
                expires_at: u64::from(TS) + 600,
                publish_audio_until: None,
                publish_video_until: None,
                publish_data_until: None,
            }
        );
        assert!(grant.allows(Privilege::JoinChannel, now));
        assert!(!grant.allows(Privilege::PublishAudioStream, now));
        // uid "" admits anyone, including the account "0" and uid 0's empty string.
        for uid in ["1", "2882341273", "alice", "0", ""] {
            check_rtc_token(VECTOR_UID0, APP_ID, CERT, CHANNEL, uid, now).unwrap();
        }
        // App id case does not matter.
        check_rtc_token(VECTOR_UID, &APP_ID.to_lowercase(), CERT, CHANNEL, "2882341273", now).unwrap();
    }

    #[test]
    fn builders_round_trip() {
        let now = 1_700_000_000u32;
        let publisher =
            build_token_with_uid(APP_ID, CERT, "room", 7, Role::Publisher, 3600, 0, now, random_salt()).unwrap();
        let token = AccessToken2::parse(&publisher).unwrap();
        let rtc = token.rtc_services().next().unwrap();
        assert_eq!((rtc.channel_name.as_str(), rtc.uid.as_str()), ("room", "7"));
        assert_eq!(rtc.privileges, BTreeMap::from([(1, 0), (2, 0), (3, 0), (4, 0)]));
        let grant = check_rtc_token(&publisher, APP_ID, CERT, "room", "7", u64::from(now)).unwrap();
        let end = u64::from(now) + 3600;
        assert_eq!(grant.expires_at, end);
        assert_eq!(grant.publish_audio_until, Some(end));
        assert_eq!(grant.publish_video_until, Some(end));
        assert_eq!(grant.publish_data_until, Some(end));

        let subscriber =
            build_token_with_user_account(APP_ID, CERT, "room", "0", Role::Subscriber, 3600, 600, now, 5).unwrap();
        let token = AccessToken2::parse(&subscriber).unwrap();
        assert_eq!(token.rtc_services().next().unwrap().uid, "0");
        let grant = check_rtc_token(&subscriber, APP_ID, CERT, "room", "0", u64::from(now)).unwrap();
        assert_eq!(grant.expires_at, u64::from(now) + 600);
        assert_eq!(grant.publish_audio_until, None);
        assert_eq!(
            check_rtc_token(&subscriber, APP_ID, CERT, "room", "1", u64::from(now)),
            Err(TokenError::UidMismatch)
        );

        let custom =
            build_token_with_uid_and_privilege(APP_ID, CERT, "room", 9, 7200, 3600, 60, 0, 9000, now, 9).unwrap();
        let grant = check_rtc_token(&custom, APP_ID, CERT, "room", "9", u64::from(now)).unwrap();
        let at = |s: u32| u64::from(now + s);
        assert_eq!(grant.token_expires_at, at(7200));
        assert_eq!(grant.expires_at, at(3600));
        assert_eq!(grant.publish_audio_until, Some(at(60)));
        assert_eq!(grant.publish_video_until, Some(at(7200)));
        assert_eq!(grant.publish_data_until, Some(at(7200)), "capped at the token expiry");
        assert!(grant.allows(Privilege::PublishAudioStream, u64::from(now) + 59));
        assert!(!grant.allows(Privilege::PublishAudioStream, u64::from(now) + 60));

        let account =
            build_token_with_user_account_and_privilege(APP_ID, CERT, "room", "alice", 600, 600, 600, 600, 600, now, 3)
                .unwrap();
        check_rtc_token(&account, APP_ID, CERT, "room", "alice", u64::from(now)).unwrap();

        let with_rtm = build_token_with_rtm(APP_ID, CERT, "room", "bob", Role::Publisher, 600, 0, now, 4).unwrap();
        let token = AccessToken2::parse(&with_rtm).unwrap();
        assert!(token.verify_signature(CERT));
        assert_eq!(token.services[1], Service::rtm("bob", 600));
        check_rtc_token(&with_rtm, APP_ID, CERT, "room", "bob", u64::from(now)).unwrap();
    }

    #[test]
    fn each_check_error() {
        let now = 1_700_000_000u32;
        let ok = build("5", 600, &[(Privilege::JoinChannel, 0)], now);
        let check = |token: &str, uid: &str, at: u32| check_rtc_token(token, APP_ID, CERT, CHANNEL, uid, u64::from(at));
        assert!(check(&ok, "5", now).is_ok());
        assert_eq!(
            check_rtc_token(&ok, "x", CERT, CHANNEL, "5", 0),
            Err(TokenError::InvalidCredentials)
        );
        assert_eq!(
            check_rtc_token(&ok, APP_ID, &CERT[1..], CHANNEL, "5", 0),
            Err(TokenError::InvalidCredentials)
        );
        assert_eq!(
            check_rtc_token(&ok, "00000000000000000000000000000000", CERT, CHANNEL, "5", 0),
            Err(TokenError::AppIdMismatch)
        );
        assert_eq!(
            check_rtc_token(
                &ok,
                APP_ID,
                "00000000000000000000000000000000",
                CHANNEL,
                "5",
                u64::from(now)
            ),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            check_rtc_token(&ok, APP_ID, CERT, "other", "5", u64::from(now)),
            Err(TokenError::ChannelMismatch)
        );
        assert_eq!(check(&ok, "6", now), Err(TokenError::UidMismatch));
        assert_eq!(check(&ok, "05", now), Err(TokenError::UidMismatch));
        assert_eq!(check(&ok, "", now), Err(TokenError::UidMismatch));
        assert_eq!(check("006abc", "5", now), Err(TokenError::WrongVersion));
        assert_eq!(check("", "5", now), Err(TokenError::Malformed("token too short")));
        assert_eq!(check("007!!!", "5", now), Err(TokenError::Malformed("invalid base64")));
        assert_eq!(check(&"007A".repeat(600), "5", now), Err(TokenError::TooLong));

        let no_join = build("5", 600, &[(Privilege::PublishAudioStream, 0)], now);
        assert_eq!(check(&no_join, "5", now), Err(TokenError::NoJoinPrivilege));

        let mut rtm_only = AccessToken2::new(APP_ID, now, 600, 1);
        rtm_only.add_service(Service::rtm("5", 600));
        let rtm_only = rtm_only.build(CERT).unwrap();
        assert_eq!(check(&rtm_only, "5", now), Err(TokenError::NoRtcService));

        assert_eq!(check(&ok, "5", now - 301), Err(TokenError::NotYetValid));
        assert!(check(&ok, "5", now - 300).is_ok(), "5 minutes of clock skew");
        assert_eq!(check(&ok, "5", now + 600), Err(TokenError::Expired));
    }

    #[test]
    fn expiry_edges() {
        let now = 1_700_000_000u32;
        let check = |token: &str, at: u32| check_rtc_token(token, APP_ID, CERT, CHANNEL, "5", u64::from(at));

        // Exactly at expiry = expired.
        let t = build("5", 600, &[(Privilege::JoinChannel, 600)], now);
        assert_eq!(check(&t, now + 599).unwrap().expires_at, u64::from(now + 600));
        assert_eq!(check(&t, now + 600), Err(TokenError::Expired));

        // The join privilege shortens the token; a longer privilege is capped by the token.
        let t = build("5", 600, &[(Privilege::JoinChannel, 100)], now);
        assert!(check(&t, now + 99).is_ok());
        assert_eq!(check(&t, now + 100), Err(TokenError::Expired));
        let t = build("5", 600, &[(Privilege::JoinChannel, 5000)], now);
        assert_eq!(check(&t, now).unwrap().expires_at, u64::from(now + 600));
        assert_eq!(check(&t, now + 600), Err(TokenError::Expired));

        // Privilege 0 = until the token expires.
        let t = build(
            "5",
            600,
            &[(Privilege::JoinChannel, 0), (Privilege::PublishVideoStream, 0)],
            now,
        );
        let grant = check(&t, now).unwrap();
        assert_eq!(grant.expires_at, u64::from(now + 600));
        assert_eq!(grant.publish_video_until, Some(u64::from(now + 600)));

        // Token expire 0 = 24 hours; long tokens are not capped.
        let t = build("5", 0, &[(Privilege::JoinChannel, 0)], now);
        assert_eq!(check(&t, now).unwrap().token_expires_at, u64::from(now) + 86_400);
        assert_eq!(check(&t, now + 86_400), Err(TokenError::Expired));
        let t = build("5", 0, &[(Privilege::JoinChannel, 100_000)], now);
        assert_eq!(check(&t, now).unwrap().expires_at, u64::from(now) + 86_400);
        let t = build("5", 172_800, &[(Privilege::JoinChannel, 0)], now);
        assert!(check(&t, now + 172_799).is_ok());

        // Issued at u32::MAX with maximal durations does not overflow.
        let t = build("5", u32::MAX, &[(Privilege::JoinChannel, u32::MAX)], u32::MAX);
        let grant = check_rtc_token(&t, APP_ID, CERT, CHANNEL, "5", u64::from(u32::MAX)).unwrap();
        assert_eq!(grant.expires_at, 2 * u64::from(u32::MAX));
    }

    #[test]
    fn picks_the_matching_rtc_service() {
        let now = 1_700_000_000u32;
        let mut token = AccessToken2::new(APP_ID, now, 600, 1);
        let mut a = RtcService::new("a", "1");
        a.add_privilege(Privilege::JoinChannel, 100);
        let mut b = RtcService::new("b", "");
        b.add_privilege(Privilege::JoinChannel, 200);
        let mut a2 = RtcService::new("a", "2");
        a2.add_privilege(Privilege::JoinChannel, 300);
        token.add_service(a).add_service(b).add_service(a2);
        let token = token.build(CERT).unwrap();
        let check = |channel: &str, uid: &str| {
            check_rtc_token(&token, APP_ID, CERT, channel, uid, u64::from(now)).map(|g| g.expires_at - u64::from(now))
        };
        assert_eq!(check("a", "1"), Ok(100));
        assert_eq!(check("a", "2"), Ok(300));
        assert_eq!(check("b", "77"), Ok(200));
        assert_eq!(check("a", "3"), Err(TokenError::UidMismatch));
        assert_eq!(check("c", "1"), Err(TokenError::ChannelMismatch));
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let token = AccessToken2::parse(VECTOR_UID).unwrap();
        // Re-sign changed fields with another certificate: parses, but does not verify with the right one.
        let mut forged = token.clone();
        forged.services = vec![Service::Rtc(RtcService::new(CHANNEL, ""))];
        let forged = forged.build("00000000000000000000000000000000").unwrap();
        let parsed = AccessToken2::parse(&forged).unwrap();
        assert!(!parsed.verify_signature(CERT));
        assert!(parsed.verify_signature("00000000000000000000000000000000"));
        // A constructed (unparsed) token has nothing to verify.
        assert!(!vector_token(UID).verify_signature(CERT));
        // Flipping any content byte is detected (by zlib's checksum, the parser or the signature).
        let compressed = BASE64.decode(&VECTOR_UID[3..]).unwrap();
        let mut content = inflate(&compressed).unwrap();
        for i in 0..content.len() {
            content[i] ^= 0x01;
            let token = format!("007{}", BASE64.encode(deflate(&content)));
            let verified = AccessToken2::parse(&token).is_ok_and(|t| t.verify_signature(CERT));
            assert!(!verified, "byte {i}");
            content[i] ^= 0x01;
        }
    }

    #[test]
    fn build_errors() {
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        assert_eq!(token.build(CERT), Err(TokenError::NoServices));
        token.add_service(RtcService::new("c", "u"));
        assert_eq!(token.build("xyz"), Err(TokenError::InvalidCredentials));
        assert_eq!(token.build(&"g".repeat(32)), Err(TokenError::InvalidCredentials));
        token.app_id = "short".into();
        assert_eq!(token.build(CERT), Err(TokenError::InvalidCredentials));
        // Content past the 2047-character limit (incompressible channel name).
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let name: String = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'!' + (x % 94) as u8)
            })
            .collect();
        token.add_service(RtcService::new(name, ""));
        assert_eq!(token.build(CERT), Err(TokenError::TooLong));
        // Compressible but over the content limit (and over u16 lengths).
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        token.add_service(RtcService::new("a".repeat(70_000), ""));
        assert_eq!(token.build(CERT), Err(TokenError::TooLong));
        // A compressible long name within the limits is fine.
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        token.add_service(RtcService::new("a".repeat(10_000), ""));
        let built = token.build(CERT).unwrap();
        assert!(built.len() <= MAX_TOKEN_LEN);
        assert_eq!(
            AccessToken2::parse(&built)
                .unwrap()
                .rtc_services()
                .next()
                .unwrap()
                .channel_name
                .len(),
            10_000
        );
    }

    #[test]
    fn error_codes_and_reasons() {
        assert_eq!(TokenError::Expired.ap_code(), 2_010_013);
        assert_eq!(TokenError::Expired.reason(), "dynamic key expired");
        assert_eq!(TokenError::InvalidCredentials.ap_code(), 2_010_008);
        assert_eq!(TokenError::InvalidCredentials.reason(), "unilbs internal error");
        for err in [
            TokenError::Malformed("x"),
            TokenError::TooLong,
            TokenError::WrongVersion,
            TokenError::BadSignature,
            TokenError::AppIdMismatch,
            TokenError::ChannelMismatch,
            TokenError::UidMismatch,
            TokenError::NoRtcService,
            TokenError::NoJoinPrivilege,
            TokenError::NotYetValid,
            TokenError::NoServices,
        ] {
            assert_eq!(err.ap_code(), 2_010_009, "{err}");
            assert_eq!(err.reason(), "invalid token, authorized failed");
        }
        assert_eq!(
            TokenError::Malformed("truncated token").to_string(),
            "malformed token: truncated token"
        );
    }

    /// Wraps raw content the way tokens are encoded, so the parser's checks past the compression can be reached.
    fn encode(content: &[u8]) -> String {
        format!("007{}", BASE64.encode(deflate(content)))
    }

    fn content_of(token: &str) -> Vec<u8> {
        inflate(&BASE64.decode(&token[3..]).unwrap()).unwrap()
    }

    #[test]
    fn parse_edge_cases() {
        // Padding may be dropped.
        let unpadded = VECTOR_UID0.trim_end_matches('=');
        assert_ne!(unpadded, VECTOR_UID0);
        assert!(AccessToken2::parse(unpadded).unwrap().verify_signature(CERT));
        // Every truncation of the content fails cleanly, never panics.
        let content = content_of(VECTOR_RTC_RTM);
        for len in 0..content.len() {
            assert!(
                AccessToken2::parse(&encode(&content[..len])).is_err(),
                "content cut at {len}"
            );
        }
        // Every truncation of the string fails cleanly (or, at most, still parses).
        for len in 0..VECTOR_RTC_RTM.len() {
            let _ = AccessToken2::parse(&VECTOR_RTC_RTM[..len]);
        }
        // Trailing bytes after the services are ignored (but signed).
        let mut extended = content.clone();
        extended.extend_from_slice(b"trailing");
        let parsed = AccessToken2::parse(&encode(&extended)).unwrap();
        assert_eq!(parsed.services.len(), 2);
        assert!(!parsed.verify_signature(CERT));
        // A bad zlib checksum is rejected.
        let mut compressed = BASE64.decode(&VECTOR_UID[3..]).unwrap();
        *compressed.last_mut().unwrap() ^= 1;
        assert_eq!(
            AccessToken2::parse(&format!("007{}", BASE64.encode(&compressed))),
            Err(TokenError::Malformed("invalid zlib stream"))
        );
        // Non-UTF-8 channel names are refused.
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        token.add_service(RtcService::new("\u{e9}", ""));
        let mut bad = content_of(&token.build(CERT).unwrap());
        let at = bad.iter().position(|&b| b == 0xc3).unwrap();
        bad[at] = 0xff;
        assert_eq!(
            AccessToken2::parse(&encode(&bad)),
            Err(TokenError::Malformed("channel name is not UTF-8"))
        );
    }

    #[test]
    fn unknown_service_types_stop_parsing() {
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        let mut rtc = RtcService::new(CHANNEL, "1");
        rtc.add_privilege(Privilege::JoinChannel, 0);
        token.add_service(rtc).add_service(Service::Other {
            kind: 999,
            privileges: BTreeMap::from([(1, 600)]),
            tail: b"whatever".to_vec(),
        });
        let parsed = AccessToken2::parse(&token.build(CERT).unwrap()).unwrap();
        assert_eq!(parsed.services.len(), 1);
        assert!(parsed.verify_signature(CERT));

        // Type 0 sorts first: nothing after it is read, so the RTC service is lost (as in the package).
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        token
            .add_service(RtcService::new(CHANNEL, "1"))
            .add_service(Service::Other {
                kind: 0,
                privileges: BTreeMap::new(),
                tail: Vec::new(),
            });
        let built = token.build(CERT).unwrap();
        let parsed = AccessToken2::parse(&built).unwrap();
        assert!(parsed.services.is_empty());
        assert!(parsed.verify_signature(CERT));
        assert_eq!(
            check_rtc_token(&built, APP_ID, CERT, CHANNEL, "1", u64::from(TS)),
            Err(TokenError::NoRtcService)
        );
    }

    #[test]
    fn known_service_tails_round_trip() {
        let string = |s: &str| {
            let mut out = Vec::new();
            put_bytes(&mut out, s.as_bytes());
            out
        };
        let mut rtm2 = string("user");
        for v in [2u16, 0, 1, 0, 2] {
            put_u16(&mut rtm2, v); // 2 resource types; type 0 has 1 permission (0) with 2 resources
        }
        rtm2.extend(string("r1"));
        rtm2.extend(string("r2"));
        for v in [4u16, 1, 1, 1] {
            put_u16(&mut rtm2, v); // type 4: 1 permission (1) with 1 resource
        }
        rtm2.extend(string("u1"));
        let tails: Vec<(u16, Vec<u8>)> = vec![
            (2, string("rtm")),
            (3, [string("ch"), string("acc")].concat()),
            (4, vec![]),
            (5, string("chat")),
            (6, [string("ch"), string("")].concat()),
            (7, [string("room"), string("user"), vec![0xff, 0xff]].concat()),
            (8, rtm2),
            (9, vec![]),
            (10, vec![]),
        ];
        let mut token = AccessToken2::new(APP_ID, TS, 600, 1);
        for (kind, tail) in &tails {
            token.add_service(Service::Other {
                kind: *kind,
                privileges: BTreeMap::from([(1, 600), (2, 0)]),
                tail: tail.clone(),
            });
        }
        token.add_service(RtcService::new(CHANNEL, "9"));
        let built = token.build(CERT).unwrap();
        let parsed = AccessToken2::parse(&built).unwrap();
        assert!(parsed.verify_signature(CERT));
        let kinds: Vec<u16> = parsed.services.iter().map(Service::kind).collect();
        assert_eq!(kinds, (1..=10).collect::<Vec<_>>());
        for (service, (kind, tail)) in parsed.services[1..].iter().zip(&tails) {
            assert_eq!(service.kind(), *kind);
            let Service::Other { tail: parsed_tail, .. } = service else {
                panic!("not Other")
            };
            assert_eq!(parsed_tail, tail);
        }
        assert_eq!(parsed.build(CERT).unwrap(), built);
        // A truncated RTM2 tree fails cleanly.
        let content = content_of(&built);
        for cut in 1..40 {
            assert!(AccessToken2::parse(&encode(&content[..content.len() - cut])).is_err());
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let content = content_of(VECTOR_RTC_RTM);
        for round in 0..3000 {
            let len = (next() % 300) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Random strings, random base64, random zlib content and mutated real content.
            let lossy = String::from_utf8_lossy(&bytes);
            let _ = AccessToken2::parse(&lossy);
            let _ = AccessToken2::parse(&format!("007{lossy}"));
            let _ = AccessToken2::parse(&format!("007{}", BASE64.encode(&bytes)));
            let _ = AccessToken2::parse(&encode(&bytes));
            let mut mutated = content.clone();
            for _ in 0..1 + round % 4 {
                let i = (next() as usize) % mutated.len();
                mutated[i] = next() as u8;
            }
            if let Ok(token) = AccessToken2::parse(&encode(&mutated)) {
                let _ = token.verify_signature(CERT);
            }
            let _ = check_rtc_token(&encode(&mutated), APP_ID, CERT, CHANNEL, "1", u64::from(TS));
        }
        // Huge inputs: long base64, and a small token inflating past the cap.
        assert_eq!(
            AccessToken2::parse(&format!("007{}", "A".repeat(100_000))),
            Err(TokenError::TooLong)
        );
        let mut bomb = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut bomb, &vec![0u8; 1 << 20]).unwrap();
        let bomb = format!("007{}", BASE64.encode(bomb.finish().unwrap()));
        assert!(bomb.len() <= MAX_TOKEN_LEN);
        assert_eq!(
            AccessToken2::parse(&bomb),
            Err(TokenError::Malformed("inflated token too large"))
        );
        // Exactly at the cap is still accepted by the inflater (and then fails on content).
        let mut at_cap = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut at_cap, &vec![0u8; MAX_INFLATED_LEN]).unwrap();
        let compressed = at_cap.finish().unwrap();
        assert_eq!(inflate(&compressed).unwrap().len(), MAX_INFLATED_LEN);
        let mut over = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut over, &vec![0u8; MAX_INFLATED_LEN + 1]).unwrap();
        assert!(inflate(&over.finish().unwrap()).is_err());
        // A truncated zlib stream is an error, not a short read.
        assert_eq!(
            inflate(&compressed[..compressed.len() / 2]),
            Err(TokenError::Malformed("truncated zlib stream"))
        );
    }
}
