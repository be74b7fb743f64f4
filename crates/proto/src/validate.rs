//! Argument checks made the way Agora Web SDK NG makes them (inventory section 3.2), shared by the server, which
//! never trusts a client, and the SDKs, which fail fast with the same codes.

use crate::error::{ErrorCode, RtcError};

/// Longest app id, token and channel key Agora accepts.
pub const MAX_TOKEN_LEN: usize = 2047;
/// Longest channel name.
pub const MAX_CHANNEL_LEN: usize = 64;
/// Longest string uid (user account).
pub const MAX_ACCOUNT_LEN: usize = 255;

fn invalid(detail: impl Into<String>) -> RtcError {
    RtcError::new(ErrorCode::InvalidParams, detail)
}

fn is_latin1(s: &str) -> bool {
    s.chars().all(|c| (c as u32) <= 0xff)
}

/// Channel names match `^[a-zA-Z0-9 !#$%&()+\-:;<=.>?@\[\]^_{}|~,]{1,64}$`.
pub fn channel_name(name: &str) -> Result<(), RtcError> {
    const PUNCTUATION: &str = " !#$%&()+-:;<=.>?@[]^_{}|~,";
    let ok = !name.is_empty()
        && name.len() <= MAX_CHANNEL_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || PUNCTUATION.contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "invalid channel name {name:?}: 1 to 64 characters of a-z, A-Z, 0-9, space and !#$%&()+-:;<=.>?@[]^_{{}}|~,"
        )))
    }
}

/// App ids are 1..2047 characters with char codes up to 255.
pub fn app_id(id: &str) -> Result<(), RtcError> {
    if id.is_empty() || id.chars().count() > MAX_TOKEN_LEN || !is_latin1(id) {
        return Err(invalid(format!("invalid app id {id:?}: 1 to 2047 characters")));
    }
    Ok(())
}

/// Tokens are `null` or 1..2047 characters with char codes up to 255. An empty string is an error, as in Agora:
/// "If you don not use token, set it to null".
pub fn token(token: Option<&str>) -> Result<(), RtcError> {
    match token {
        None => Ok(()),
        Some("") => Err(invalid("invalid token \"\": if you do not use a token, set it to null")),
        Some(t) if t.chars().count() > MAX_TOKEN_LEN || !is_latin1(t) => {
            Err(invalid("invalid token: 1 to 2047 characters with char codes up to 255"))
        }
        Some(_) => Ok(()),
    }
}

/// String uids (user accounts) are 1..255 characters with char codes up to 255.
pub fn account(account: &str) -> Result<(), RtcError> {
    if account.is_empty() || account.chars().count() > MAX_ACCOUNT_LEN || !is_latin1(account) {
        return Err(invalid(format!(
            "invalid string uid {account:?}: 1 to 255 characters with char codes up to 255"
        )));
    }
    Ok(())
}

/// A uid as it arrives in JSON: an integer in `0..=4294967295`, a string account, or null (the server assigns one).
/// `0` is the same as null, as in Agora.
pub fn uid_value(value: &serde_json::Value) -> Result<crate::signal::UidArg, RtcError> {
    use crate::signal::UidArg;
    match value {
        serde_json::Value::Null => Ok(UidArg::Assign),
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(0) => Ok(UidArg::Assign),
            Some(v) if v <= u64::from(u32::MAX) => Ok(UidArg::Number(v as u32)),
            _ => Err(invalid(format!(
                "invalid uid {n}: a number uid must be an integer in [0, 4294967295]"
            ))),
        },
        serde_json::Value::String(s) => {
            account(s)?;
            Ok(UidArg::Account(s.clone()))
        }
        other => Err(invalid(format!(
            "invalid uid {other}: a number in [0, 4294967295] or a string"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::UidArg;
    use serde_json::json;

    #[test]
    fn channel_names_follow_agoras_pattern() {
        for ok in ["a", "room-1", "A b!#$%&()+-:;<=.>?@[]^_{}|~,", &"x".repeat(64)] {
            assert!(channel_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            &"x".repeat(65),
            "a/b",
            "é",
            "a*b",
            "tab\t",
            "quote\"",
            "back\\slash",
        ] {
            assert_eq!(channel_name(bad).unwrap_err().code, ErrorCode::InvalidParams, "{bad}");
        }
    }

    #[test]
    fn tokens_are_null_or_1_to_2047_latin1_chars() {
        assert!(token(None).is_ok());
        assert!(token(Some("007abc")).is_ok());
        assert_eq!(token(Some("")).unwrap_err().code, ErrorCode::InvalidParams);
        assert!(token(Some(&"a".repeat(2047))).is_ok());
        assert!(token(Some(&"a".repeat(2048))).is_err());
        assert!(token(Some("токен")).is_err());
    }

    #[test]
    fn uids_are_u32_accounts_or_assigned() {
        assert_eq!(uid_value(&json!(null)).unwrap(), UidArg::Assign);
        assert_eq!(uid_value(&json!(0)).unwrap(), UidArg::Assign);
        assert_eq!(uid_value(&json!(4294967295u64)).unwrap(), UidArg::Number(u32::MAX));
        assert_eq!(uid_value(&json!("alice")).unwrap(), UidArg::Account("alice".into()));
        for bad in [
            json!(4294967296u64),
            json!(-1),
            json!(1.5),
            json!(""),
            json!("x".repeat(256)),
            json!([1]),
        ] {
            assert_eq!(uid_value(&bad).unwrap_err().code, ErrorCode::InvalidParams, "{bad}");
        }
    }
}
