//! Admission: who may enter which channel. The same checks run at discovery (`POST /api/v1/gateway`) and at the
//! WebSocket join, since a client can skip discovery. Discovery wraps every refusal in
//! `CAN_NOT_GET_GATEWAY_SERVER`, as Agora's access point does; the join answers argument errors with
//! `INVALID_PARAMS` and the rest as discovery does.

use std::collections::HashMap;

use serde_json::json;
use stoa_proto::signal::{ClientRole, Mode, UidArg};
use stoa_proto::token::check_rtc_token;
use stoa_proto::{ErrorCode, RtcError, validate};

use crate::hub::Admitted;
use crate::store::{App, Store};

/// Where the check runs, which decides how refusals are coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Discovery,
    Join,
}

pub struct JoinAsk<'a> {
    pub app_id: &'a str,
    pub channel: &'a str,
    pub token: Option<&'a str>,
    pub uid: &'a serde_json::Value,
    pub mode: Mode,
    pub role: ClientRole,
}

/// Access-point codes (module UNILBS = 201) used in the `data` of gateway refusals, as Agora reports them.
const AP_INVALID_APP: u32 = 2_010_005;
const AP_INVALID_CHANNEL: u32 = 2_010_007;

fn gateway_refusal(ap_code: Option<u32>, desc: &str, cause: Option<ErrorCode>) -> RtcError {
    RtcError::new(ErrorCode::CanNotGetGatewayServer, desc.to_string())
        .with_data(json!({"code": ap_code, "desc": desc, "retry": false, "cause": cause}))
}

/// Argument errors: `INVALID_PARAMS` at join, wrapped at discovery.
fn argument_error(stage: Stage, err: RtcError, ap_code: Option<u32>) -> RtcError {
    match stage {
        Stage::Join => err,
        Stage::Discovery => gateway_refusal(ap_code, &err.detail, Some(err.code)),
    }
}

pub fn lookup_app<'a>(apps: &'a HashMap<String, App>, app_id: &str) -> Result<&'a App, RtcError> {
    apps.get(app_id)
        .ok_or_else(|| gateway_refusal(Some(AP_INVALID_APP), "invalid vendor key, can not find appid", None))
}

/// Checks a join and resolves its uid. `now_unix` is the current time in seconds.
pub fn admit(
    apps: &HashMap<String, App>,
    store: &Store,
    ask: &JoinAsk<'_>,
    stage: Stage,
    now_unix: u64,
) -> Result<Admitted, RtcError> {
    validate::app_id(ask.app_id).map_err(|e| argument_error(stage, e, Some(AP_INVALID_APP)))?;
    validate::channel_name(ask.channel).map_err(|e| argument_error(stage, e, Some(AP_INVALID_CHANNEL)))?;
    validate::token(ask.token).map_err(|e| argument_error(stage, e, None))?;
    let uid = validate::uid_value(ask.uid).map_err(|e| argument_error(stage, e, None))?;
    let app = lookup_app(apps, ask.app_id)?;

    let (number, account) = match &uid {
        UidArg::Assign => (None, None),
        UidArg::Number(n) => (Some(*n), None),
        UidArg::Account(account) => (Some(uid_for_account(store, &app.id, account)?), Some(account.clone())),
    };
    let ms = |secs: u64| secs.saturating_mul(1000);
    let (token_expires_at_ms, publish_audio_until_ms, publish_video_until_ms) = match &app.certificate {
        // Testing mode: nothing to verify a token against, so any token (or null) is accepted.
        None => (None, Some(u64::MAX), Some(u64::MAX)),
        Some(certificate) => {
            let token = ask.token.ok_or_else(|| {
                gateway_refusal(
                    Some(2_010_009),
                    "invalid token, authorized failed: this app requires a token",
                    None,
                )
            })?;
            let uid_text = match &uid {
                UidArg::Assign => String::new(),
                UidArg::Number(n) => n.to_string(),
                UidArg::Account(account) => account.clone(),
            };
            let grant = check_rtc_token(token, &app.id, certificate, ask.channel, &uid_text, now_unix)
                .map_err(|e| gateway_refusal(Some(e.ap_code()), &format!("{}: {e}", e.reason()), None))?;
            (
                Some(ms(grant.expires_at)),
                grant.publish_audio_until.map(ms),
                grant.publish_video_until.map(ms),
            )
        }
    };
    Ok(Admitted {
        app_id: app.id.clone(),
        channel: ask.channel.to_string(),
        uid: number,
        account,
        mode: ask.mode,
        role: ask.role,
        token_expires_at_ms,
        publish_audio_until_ms,
        publish_video_until_ms,
    })
}

/// The stable number of a string uid. Store failures become `INVALID_UINT_UID_FROM_STRING_UID`, Agora's code for a
/// string-uid service that could not give a valid number.
pub fn uid_for_account(store: &Store, app_id: &str, account: &str) -> Result<u32, RtcError> {
    match store.uid_for_account(app_id, account) {
        Ok(uid) if uid != 0 => Ok(uid),
        Ok(uid) => Err(RtcError::new(
            ErrorCode::InvalidUintUidFromStringUid,
            format!("invalid uint uid {uid}"),
        )),
        Err(e) => Err(RtcError::new(
            ErrorCode::InvalidUintUidFromStringUid,
            format!("string uid service failed for {account:?}: {e}"),
        )
        .with_data(json!({"retry": true}))),
    }
}
