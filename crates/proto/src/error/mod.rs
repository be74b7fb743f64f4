//! The error catalog: every `AgoraRTCErrorCode` of Agora Web SDK NG 4.24.8, and [`RtcError`], the error type that
//! mirrors `AgoraRTCError`. The server sends codes on the wire, both SDKs raise them, and `docs/errors.md` is rendered
//! from [`catalog`].

pub mod catalog;

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($($variant:ident => $value:literal,)*) => {
        /// One member of `AgoraRTCErrorCode`. The wire form is the string value, which equals the member name
        /// except for [`ErrorCode::CrossChannelFailedJoinSrc`] (`"CROSS_CHANNEL_FAILED_JOIN_SEC"`, Agora's typo kept).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $value, "`")]
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, in the order of the SDK's enum.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The string value used on the wire and in `AgoraRTCError.code`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $value,)* }
            }

            /// Parses a wire value; `None` for strings outside the catalog.
            pub fn from_wire(value: &str) -> Option<Self> {
                match value { $($value => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    UnexpectedError => "UNEXPECTED_ERROR",
    UnexpectedResponse => "UNEXPECTED_RESPONSE",
    PbError => "PB_ERROR",
    Timeout => "TIMEOUT",
    InvalidParams => "INVALID_PARAMS",
    NotReadable => "NOT_READABLE",
    NotSupported => "NOT_SUPPORTED",
    InvalidOperation => "INVALID_OPERATION",
    OperationAborted => "OPERATION_ABORTED",
    WebSecurityRestrict => "WEB_SECURITY_RESTRICT",
    ExchangeSdpFailed => "EXCHANGE_SDP_FAILED",
    AddCandidateFailed => "ADD_CANDIDATE_FAILED",
    DatachannelFailed => "DATACHANNEL_FAILED",
    NetworkError => "NETWORK_ERROR",
    NetworkTimeout => "NETWORK_TIMEOUT",
    NetworkResponseError => "NETWORK_RESPONSE_ERROR",
    ApiInvokeTimeout => "API_INVOKE_TIMEOUT",
    EnumerateDevicesFailed => "ENUMERATE_DEVICES_FAILED",
    DeviceNotFound => "DEVICE_NOT_FOUND",
    ElectronIsNull => "ELECTRON_IS_NULL",
    ElectronDesktopCapturerGetSourcesError => "ELECTRON_DESKTOP_CAPTURER_GET_SOURCES_ERROR",
    ChromePluginNoResponse => "CHROME_PLUGIN_NO_RESPONSE",
    ChromePluginNotInstall => "CHROME_PLUGIN_NOT_INSTALL",
    MediaOptionInvalid => "MEDIA_OPTION_INVALID",
    PermissionDenied => "PERMISSION_DENIED",
    ConstraintNotSatisfied => "CONSTRAINT_NOT_SATISFIED",
    TrackIsDisabled => "TRACK_IS_DISABLED",
    GetVideoElementVisibleError => "GET_VIDEO_ELEMENT_VISIBLE_ERROR",
    ShareAudioNotAllowed => "SHARE_AUDIO_NOT_ALLOWED",
    LowStreamEncodingError => "LOW_STREAM_ENCODING_ERROR",
    SetEncodingParameterError => "SET_ENCODING_PARAMETER_ERROR",
    TrackStateUnreachable => "TRACK_STATE_UNREACHABLE",
    InvalidUintUidFromStringUid => "INVALID_UINT_UID_FROM_STRING_UID",
    CanNotGetProxyServer => "CAN_NOT_GET_PROXY_SERVER",
    CanNotGetGatewayServer => "CAN_NOT_GET_GATEWAY_SERVER",
    VoidGatewayAddress => "VOID_GATEWAY_ADDRESS",
    UidConflict => "UID_CONFLICT",
    MultiUnilbsResponseError => "MULTI_UNILBS_RESPONSE_ERROR",
    UpdateTicketFailed => "UPDATE_TICKET_FAILED",
    TokenExpire => "TOKEN_EXPIRE",
    InvalidLocalTrack => "INVALID_LOCAL_TRACK",
    InvalidTrack => "INVALID_TRACK",
    SenderNotFound => "SENDER_NOT_FOUND",
    CreateOfferFailed => "CREATE_OFFER_FAILED",
    SetAnswerFailed => "SET_ANSWER_FAILED",
    IceFailed => "ICE_FAILED",
    PcClosed => "PC_CLOSED",
    SenderReplaceFailed => "SENDER_REPLACE_FAILED",
    GetLocalCapabilitiesFailed => "GET_LOCAL_CAPABILITIES_FAILED",
    GetLocalConnectionParamsFailed => "GET_LOCAL_CONNECTION_PARAMS_FAILED",
    SubscribeFailed => "SUBSCRIBE_FAILED",
    UnsubscribeFailed => "UNSUBSCRIBE_FAILED",
    GatewayP2pLost => "GATEWAY_P2P_LOST",
    NoIceCandidate => "NO_ICE_CANDIDATE",
    CanNotPublishMultipleVideoTracks => "CAN_NOT_PUBLISH_MULTIPLE_VIDEO_TRACKS",
    ExistDisabledVideoTrack => "EXIST_DISABLED_VIDEO_TRACK",
    InvalidRemoteUser => "INVALID_REMOTE_USER",
    RemoteUserIsNotPublished => "REMOTE_USER_IS_NOT_PUBLISHED",
    CustomReportSendFailed => "CUSTOM_REPORT_SEND_FAILED",
    CustomReportFrequencyTooHigh => "CUSTOM_REPORT_FREQUENCY_TOO_HIGH",
    FetchAudioFileFailed => "FETCH_AUDIO_FILE_FAILED",
    ReadLocalAudioFileError => "READ_LOCAL_AUDIO_FILE_ERROR",
    DecodeAudioFileFailed => "DECODE_AUDIO_FILE_FAILED",
    WsAbort => "WS_ABORT",
    WsDisconnect => "WS_DISCONNECT",
    WsErr => "WS_ERR",
    ExternalSignalAbort => "EXTERNAL_SIGNAL_ABORT",
    LiveStreamingTaskConflict => "LIVE_STREAMING_TASK_CONFLICT",
    LiveStreamingInvalidArgument => "LIVE_STREAMING_INVALID_ARGUMENT",
    LiveStreamingInternalServerError => "LIVE_STREAMING_INTERNAL_SERVER_ERROR",
    LiveStreamingPublishStreamNotAuthorized => "LIVE_STREAMING_PUBLISH_STREAM_NOT_AUTHORIZED",
    LiveStreamingTranscodingNotSupported => "LIVE_STREAMING_TRANSCODING_NOT_SUPPORTED",
    LiveStreamingCdnError => "LIVE_STREAMING_CDN_ERROR",
    LiveStreamingInvalidRawStream => "LIVE_STREAMING_INVALID_RAW_STREAM",
    LiveStreamingWarnStreamNumReachLimit => "LIVE_STREAMING_WARN_STREAM_NUM_REACH_LIMIT",
    LiveStreamingWarnFailedLoadImage => "LIVE_STREAMING_WARN_FAILED_LOAD_IMAGE",
    LiveStreamingWarnFrequentRequest => "LIVE_STREAMING_WARN_FREQUENT_REQUEST",
    WebglInternalError => "WEBGL_INTERNAL_ERROR",
    BeautyProcessorInternalError => "BEAUTY_PROCESSOR_INTERNAL_ERROR",
    CrossChannelWaitStatusError => "CROSS_CHANNEL_WAIT_STATUS_ERROR",
    CrossChannelFailedJoinSrc => "CROSS_CHANNEL_FAILED_JOIN_SEC",
    CrossChannelFailedJoinDest => "CROSS_CHANNEL_FAILED_JOIN_DEST",
    CrossChannelFailedPacketSentToDest => "CROSS_CHANNEL_FAILED_PACKET_SENT_TO_DEST",
    CrossChannelServerErrorResponse => "CROSS_CHANNEL_SERVER_ERROR_RESPONSE",
    MetadataOutOfRange => "METADATA_OUT_OF_RANGE",
    LocalAecError => "LOCAL_AEC_ERROR",
    InvalidPlugin => "INVALID_PLUGIN",
    DisconnectP2p => "DISCONNECT_P2P",
    ConvertingImagedataToBlobFailed => "CONVERTING_IMAGEDATA_TO_BLOB_FAILED",
    ConvertingVideoFrameToBlobFailed => "CONVERTING_VIDEO_FRAME_TO_BLOB_FAILED",
    InitDatachannelTimeout => "INIT_DATACHANNEL_TIMEOUT",
    CreateDatachannelError => "CREATE_DATACHANNEL_ERROR",
    DatachannelConnectionTimeout => "DATACHANNEL_CONNECTION_TIMEOUT",
    ProhibitedOperation => "PROHIBITED_OPERATION",
    ImageModerationUploadFailed => "IMAGE_MODERATION_UPLOAD_FAILED",
    P2pMessageFailed => "P2P_MESSAGE_FAILED",
}

impl ErrorCode {
    /// Description, advice and place in Stoa of this code, from the [`catalog`].
    pub fn info(self) -> &'static catalog::CodeInfo {
        catalog::info(self)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ErrorCode::from_wire(&value)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown error code {value:?}")))
    }
}

/// The error raised by Stoa's APIs, shaped like the Web SDK's `AgoraRTCError`: a catalog `code`, a human `detail`,
/// and optional structured `data`. On the wire it travels as `{"code", "message", "data"}` where `message` is the
/// detail alone; [`RtcError::message`] gives the SDK's full `"AgoraRTCError CODE: detail"` text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RtcError {
    pub code: ErrorCode,
    #[serde(rename = "message", default)]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl RtcError {
    /// The `name` every `AgoraRTCError` carries.
    pub const NAME: &'static str = "AgoraRTCException";

    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        RtcError {
            code,
            detail: detail.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    /// `"AgoraRTCError CODE: detail"`, as `AgoraRTCError.message`.
    pub fn message(&self) -> String {
        format!("AgoraRTCError {}: {}", self.code.as_str(), self.detail)
    }

    pub fn name(&self) -> &'static str {
        Self::NAME
    }
}

/// Like `AgoraRTCError.toString()`: the message, then the data as JSON when there is any.
impl fmt::Display for RtcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgoraRTCError {}: {}", self.code.as_str(), self.detail)?;
        if let Some(data) = &self.data {
            write!(f, "\ndata: {data}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RtcError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_the_96_codes_of_4_24_8_with_unique_values() {
        assert_eq!(ErrorCode::ALL.len(), 96);
        let mut values: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), 96);
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(*code));
        }
    }

    #[test]
    fn the_typo_in_cross_channel_failed_join_src_is_kept() {
        assert_eq!(
            ErrorCode::CrossChannelFailedJoinSrc.as_str(),
            "CROSS_CHANNEL_FAILED_JOIN_SEC"
        );
        assert_eq!(ErrorCode::from_wire("CROSS_CHANNEL_FAILED_JOIN_SRC"), None);
    }

    #[test]
    fn error_formats_like_agora_rtc_error() {
        let err = RtcError::new(ErrorCode::InvalidParams, "bad channel").with_data(serde_json::json!({"retry": false}));
        assert_eq!(err.message(), "AgoraRTCError INVALID_PARAMS: bad channel");
        assert_eq!(err.name(), "AgoraRTCException");
        assert_eq!(
            err.to_string(),
            "AgoraRTCError INVALID_PARAMS: bad channel\ndata: {\"retry\":false}"
        );
        let wire = serde_json::to_string(&err).unwrap();
        assert_eq!(
            wire,
            r#"{"code":"INVALID_PARAMS","message":"bad channel","data":{"retry":false}}"#
        );
        assert_eq!(serde_json::from_str::<RtcError>(&wire).unwrap(), err);
        assert!(serde_json::from_str::<RtcError>(r#"{"code":"NOPE","message":""}"#).is_err());
    }
}
