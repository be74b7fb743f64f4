//! Descriptions, handling advice and the place in Stoa of every [`ErrorCode`], in English and Chinese.
//!
//! The table is the single source of `docs/errors.md` ([`render_markdown`]); a test fails when the file is stale.
//! For the 44 codes of Agora's Chinese error-code reference, `description_zh` and `advice_zh` quote that document
//! (links reduced to their labels; where it says "Agora 服务器" it means the Stoa server). The other 52 codes, added
//! to `AgoraRTCErrorCode` later, carry Stoa's own text.

use std::fmt::Write as _;

use super::ErrorCode;

/// The group a code belongs to; `docs/errors.md` has one table per category, in [`Category::ALL`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Codes any API may raise.
    General,
    /// HTTP requests (gateway discovery).
    Network,
    /// The signalling WebSocket.
    Signalling,
    /// Joining and leaving a channel: discovery, uids, tokens, proxies.
    Client,
    /// Local media devices.
    Device,
    /// Local tracks: capture, screen sharing, audio files, track state.
    Track,
    /// Publishing and subscribing.
    Media,
    /// The WebRTC transport under publish/subscribe: peer connection, ICE, SDP, RTP senders.
    Transport,
    /// Data channels and metadata.
    DataChannel,
    /// `sendCustomReportMessage`.
    Report,
    /// CDN live streaming (RTMP push).
    LiveStreaming,
    /// Channel media relay (cross-channel).
    ChannelMediaRelay,
    /// Client-side extensions and Agora cloud add-ons.
    Extension,
}

impl Category {
    /// Every category, in the order of the docs.
    pub const ALL: &'static [Category] = &[
        Category::General,
        Category::Network,
        Category::Signalling,
        Category::Client,
        Category::Device,
        Category::Track,
        Category::Media,
        Category::Transport,
        Category::DataChannel,
        Category::Report,
        Category::LiveStreaming,
        Category::ChannelMediaRelay,
        Category::Extension,
    ];

    /// English heading.
    pub const fn title(self) -> &'static str {
        match self {
            Category::General => "General",
            Category::Network => "Network requests (HTTP)",
            Category::Signalling => "Signalling (WebSocket)",
            Category::Client => "Joining a channel",
            Category::Device => "Devices",
            Category::Track => "Tracks",
            Category::Media => "Publish and subscribe",
            Category::Transport => "WebRTC transport",
            Category::DataChannel => "Data channels and metadata",
            Category::Report => "Custom event reports",
            Category::LiveStreaming => "CDN live streaming",
            Category::ChannelMediaRelay => "Channel media relay",
            Category::Extension => "Extensions and cloud add-ons",
        }
    }

    /// Chinese heading.
    pub const fn title_zh(self) -> &'static str {
        match self {
            Category::General => "通用错误码",
            Category::Network => "网络连接",
            Category::Signalling => "信令请求",
            Category::Client => "加入频道",
            Category::Device => "设备管理",
            Category::Track => "Track 相关",
            Category::Media => "发布与订阅",
            Category::Transport => "WebRTC 传输",
            Category::DataChannel => "数据通道与元数据",
            Category::Report => "自定义事件上报",
            Category::LiveStreaming => "推流到 CDN",
            Category::ChannelMediaRelay => "跨频道连麦",
            Category::Extension => "扩展与云端增值服务",
        }
    }
}

/// Whether Stoa raises a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Raised {
    /// Raised by what exists today (discovery, signalling, tokens, join/leave, roles).
    Now,
    /// Reserved for a capability that is not built yet; names the capability.
    Planned(&'static str),
    /// Never raised by Stoa; says why. Kept so that code written for `agora-rtc-sdk-ng` still matches on it.
    Never(&'static str),
}

/// Everything the catalog knows about one code.
#[derive(Debug)]
pub struct CodeInfo {
    pub code: ErrorCode,
    pub category: Category,
    pub description_en: &'static str,
    pub description_zh: &'static str,
    pub advice_en: &'static str,
    pub advice_zh: &'static str,
    /// Where and when the code arises in Stoa: one English sentence.
    pub arises: &'static str,
    pub raised: Raised,
    /// Whether the code is one of the 44 of Agora's Chinese error-code reference (the seed document).
    pub in_seed: bool,
}

/// The catalog entry of `code`.
pub fn info(code: ErrorCode) -> &'static CodeInfo {
    // CATALOG follows the declaration order of ErrorCode (= ErrorCode::ALL); a test checks it.
    &CATALOG[code as usize]
}

/// Every entry, in [`ErrorCode::ALL`] order.
pub fn entries() -> &'static [CodeInfo] {
    &CATALOG
}

const NONE_EN: &str = "None.";
const NONE_ZH: &str = "无";
const NEVER_EN: &str = "None: Stoa never raises this code.";
const NEVER_ZH: &str = "无：Stoa 不会抛出此错误码。";

const SFU: Raised = Raised::Planned("media plane (SFU, publish/subscribe)");
const WEB_SDK: Raised = Raised::Planned("Web SDK");
const CDN: Raised = Raised::Planned("CDN live streaming");
const RELAY: Raised = Raised::Planned("channel media relay");
const PROXY: Raised = Raised::Planned("cloud proxy");
const DATA_CHANNELS: Raised = Raised::Planned("data channels (SFU)");
const METADATA: Raised = Raised::Planned("stream messages and metadata over signalling");
const REPORTS: Raised = Raised::Planned("custom event reports");
const EXTENSIONS: Raised = Raised::Planned("Web SDK extensions (registerExtensions)");
const FEATURE_POLICY: Raised = Raised::Planned("per-app feature policy (admin API)");
const NO_ELECTRON: Raised = Raised::Never("Stoa has no Electron integration; screen sharing uses getDisplayMedia.");
const NO_CHROME_PLUGIN: Raised = Raised::Never(
    "Chrome's screen-sharing extension is obsolete; Stoa's Web SDK shares the screen with getDisplayMedia.",
);
const NO_BEAUTY: Raised = Raised::Never("Stoa's Web SDK has no built-in beauty effect or WebGL video processing.");

static CATALOG: [CodeInfo; 96] = [
    CodeInfo {
        code: ErrorCode::UnexpectedError,
        category: Category::General,
        description_en: "An unexpected error that cannot be handled; the error usually carries a specific message.",
        description_zh: "无法处理的、非预期的错误，通常这个错误会有具体的错误提示。",
        advice_en: NONE_EN,
        advice_zh: NONE_ZH,
        arises: "Server and SDKs, for an internal failure that has no more specific code; the detail says what failed.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::UnexpectedResponse,
        category: Category::General,
        description_en: "The server returned an unexpected response.",
        description_zh: "服务端返回了非预期的响应。",
        advice_en: NONE_EN,
        advice_zh: NONE_ZH,
        arises: "SDKs, when a discovery or signalling reply is malformed or refuses a request without a more specific code (data carries the server's reason).",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::PbError,
        category: Category::General,
        description_en: "Encoding or decoding a protobuf message failed.",
        description_zh: "Protobuf 消息编码或解码失败。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: Agora's SDK raises it when it cannot decode the protobuf replies of Agora's access points.",
        raised: Raised::Never("Stoa's protocol is JSON; there is no protobuf to decode."),
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::Timeout,
        category: Category::General,
        description_en: "The operation timed out.",
        description_zh: "操作超时。",
        advice_en: "Check the local network with the network-quality event and retry the operation.",
        advice_zh: "通过 network-quality 回调确认本地网络状况，并重试该操作。",
        arises: "Reserved for operations with an overall deadline (e.g. track creation); signalling requests without a reply in time raise NETWORK_TIMEOUT.",
        raised: Raised::Planned("Web SDK and media plane"),
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::InvalidParams,
        category: Category::General,
        description_en: "Invalid parameter.",
        description_zh: "非法参数。",
        advice_en: "Check the operation against the detail message and pass the parameters as documented.",
        advice_zh: "根据具体提示确认操作，并根据文档传入正确的参数。",
        arises: "Server and SDKs, when an argument or message field is malformed (app id, channel name, uid, token, role), checked before any state changes.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::NotReadable,
        category: Category::Track,
        description_en: "The capture device cannot be read: another application holds it, or it failed at the hardware or OS level (NotReadableError).",
        description_zh: "无法读取采集设备：设备被其他应用占用，或在硬件、操作系统层面出错（NotReadableError）。",
        advice_en: "Close other applications that use the camera or microphone, or pick another device, then retry.",
        advice_zh: "关闭正在使用摄像头或麦克风的其他应用，或换用其他设备后重试。",
        arises: "Web SDK, when getUserMedia fails with NotReadableError while a camera or microphone track is created.",
        raised: Raised::Now,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::NotSupported,
        category: Category::General,
        description_en: "The browser does not support it.",
        description_zh: "浏览器不支持。",
        advice_en: "Check the browser support list.",
        advice_zh: "参考浏览器支持情况。",
        arises: "Web SDK, when the browser lacks a required API (WebRTC, getUserMedia, getDisplayMedia, enumerateDevices); Rust SDK, when the client's codec has no encoder in its media engine or a sound device offers only a sample format it cannot take.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::InvalidOperation,
        category: Category::General,
        description_en: "Invalid operation, usually because the operation is not allowed in the current state.",
        description_zh: "非法操作，通常是因为在当前状态不能进行该操作。",
        advice_en: "Check the order of calls; for example, join the channel before publishing.",
        advice_zh: "确认操作的先后顺序，比如发布前请确认已经加入频道。",
        arises: "Server and SDKs, for a call not allowed in the current state, e.g. joining twice, publishing before join or as audience, or renewing a token before join.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::OperationAborted,
        category: Category::General,
        description_en: "The operation was aborted, usually because a poor network or a lost connection broke communication with the Stoa server.",
        description_zh: "操作中止，通常是因为网络质量差或连接断开导致与 Agora 服务器通信失败。",
        advice_en: "Check the local network with the network-quality event and retry the operation.",
        advice_zh: "通过 network-quality 回调确认本地网络状况，并重试该操作。",
        arises: "SDKs, when leave is called while a join is still in progress: the join fails with this code.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::WebSecurityRestrict,
        category: Category::General,
        description_en: "Restricted by the browser's security policy.",
        description_zh: "浏览器安全策略限制。",
        advice_en: "Make sure the web page runs in a secure context (HTTPS or localhost).",
        advice_zh: "请确保 Web 页面运行在安全环境中。",
        arises: "Web SDK, when the page is not a secure context, so the browser withholds media devices or WebRTC.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::ExchangeSdpFailed,
        category: Category::Transport,
        description_en: "Exchanging session descriptions (SDP offer/answer) with the server failed.",
        description_zh: "与服务器交换 SDP（offer/answer）失败。",
        advice_en: "Check the network and retry; if it persists, report it with the SDK and server logs.",
        advice_zh: "检查网络状况后重试；如果问题持续，请附上 SDK 和服务器日志反馈。",
        arises: "Server, when the SFU cannot use a publish offer or a subscriber answer; Web SDK, when it cannot answer the server's subscriber offer.",
        raised: Raised::Now,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::AddCandidateFailed,
        category: Category::Transport,
        description_en: "Adding an ICE candidate to the peer connection failed.",
        description_zh: "向 PeerConnection 添加 ICE 候选地址失败。",
        advice_en: "Check the network and retry; if it persists, report it with the SDK log.",
        advice_zh: "检查网络状况后重试；如果问题持续，请附上 SDK 日志反馈。",
        arises: "SDKs, when the browser (or the Rust SDK's WebRTC stack) rejects an ICE candidate sent by the SFU.",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::DatachannelFailed,
        category: Category::DataChannel,
        description_en: "A data channel operation failed, e.g. sending on a channel that is not open.",
        description_zh: "数据通道操作失败，例如在未打开的通道上发送数据。",
        advice_en: "Check the data channel's readyState; publish or subscribe the data channel again if it closed.",
        advice_zh: "检查数据通道的 readyState；如果通道已关闭，重新发布或订阅该数据通道。",
        arises: "SDKs, when sending or receiving on a published or subscribed data channel fails.",
        raised: DATA_CHANNELS,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::NetworkError,
        category: Category::Network,
        description_en: "A network error that cannot be pinpointed.",
        description_zh: "无法定位的网络错误。",
        advice_en: NONE_EN,
        advice_zh: NONE_ZH,
        arises: "SDKs, when the discovery HTTP request fails at the network level (DNS, refused connection, TLS).",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::NetworkTimeout,
        category: Category::Network,
        description_en: "The request timed out, usually because a poor network or a lost connection broke communication with the Stoa server.",
        description_zh: "请求超时，通常是因为网络质量差或连接断开导致与 Agora 服务器通信失败。",
        advice_en: "Check the local network with the network-quality event and retry the operation.",
        advice_zh: "通过 network-quality 回调确认本地网络状况，并重试该操作。",
        arises: "SDKs, when the discovery HTTP request gets no answer within the timeout.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::NetworkResponseError,
        category: Category::Network,
        description_en: "Response error, usually an invalid HTTP status code.",
        description_zh: "响应错误，一般是状态码非法。",
        advice_en: "Check that the operation's parameters are correct and pass them as documented.",
        advice_zh: "确认操作的参数是否正确，并根据文档传入正确的参数。",
        arises: "SDKs, when the discovery endpoint answers with a non-success HTTP status or an unreadable body.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::ApiInvokeTimeout,
        category: Category::General,
        description_en: "An API call took too long to complete.",
        description_zh: "API 调用未能在规定时间内完成。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: in Agora's SDK it belongs to the reporting of API calls to Agora's statistics service.",
        raised: Raised::Never(
            "Stoa's SDKs report no API calls to a statistics service; slow requests fail with TIMEOUT.",
        ),
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::EnumerateDevicesFailed,
        category: Category::Device,
        description_en: "Enumerating local devices failed, usually because of a browser restriction.",
        description_zh: "枚举本地设备失败，一般是由于浏览器限制。",
        advice_en: NONE_EN,
        advice_zh: NONE_ZH,
        arises: "Rust SDK (feature devices: get_devices, get_microphones, get_playback_devices), when the audio host cannot list its devices; Web SDK, when navigator.mediaDevices.enumerateDevices fails or is missing (getDevices, getCameras, getMicrophones, getPlaybackDevices).",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::DeviceNotFound,
        category: Category::Device,
        description_en: "The specified device cannot be found.",
        description_zh: "无法找到指定设备。",
        advice_en: "Pass a correct device ID.",
        advice_zh: "传入正确的设备 ID。",
        arises: "Rust SDK (feature devices: MicrophoneAudioTrack::new, Speaker::open), when the device id matches no device or the machine has no default one; Web SDK, when the cameraId or microphoneId given to a track or to setDevice matches no device.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::ElectronIsNull,
        category: Category::Track,
        description_en: "The Electron object cannot be obtained (the page does not run in Electron).",
        description_zh: "无法获取 Electron 对象（当前不在 Electron 环境中）。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: Agora's SDK raises it when getElectronScreenSources runs outside Electron.",
        raised: NO_ELECTRON,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::ElectronDesktopCapturerGetSourcesError,
        category: Category::Track,
        description_en: "Getting the screen-sharing sources through Electron's desktopCapturer failed.",
        description_zh: "无法通过 Electron 的 desktopCapturer 获取屏幕共享源。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: Agora's SDK raises it when Electron's desktopCapturer fails in getElectronScreenSources.",
        raised: NO_ELECTRON,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::ChromePluginNoResponse,
        category: Category::Track,
        description_en: "The Chrome screen-sharing extension does not respond.",
        description_zh: "Chrome 屏幕共享插件无响应。",
        advice_en: "Check the state of the Chrome screen-sharing extension or reinstall it.",
        advice_zh: "确认 Chrome 屏幕共享插件的状态或重新安装屏幕共享插件。",
        arises: "Nowhere: old Chrome versions needed an extension for screen sharing, while Stoa uses getDisplayMedia.",
        raised: NO_CHROME_PLUGIN,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::ChromePluginNotInstall,
        category: Category::Track,
        description_en: "The Chrome screen-sharing extension is not installed.",
        description_zh: "Chrome 屏幕共享插件没有安装。",
        advice_en: "Install the Chrome screen-sharing extension.",
        advice_zh: "安装Chrome 屏幕共享插件。",
        arises: "Nowhere: old Chrome versions needed an extension for screen sharing, while Stoa uses getDisplayMedia.",
        raised: NO_CHROME_PLUGIN,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::MediaOptionInvalid,
        category: Category::Track,
        description_en: "Unsupported media capture parameters.",
        description_zh: "不支持的媒体采集的参数。",
        advice_en: "Change the capture parameters or use one of the SDK's presets.",
        advice_zh: "修改媒体采集参数或使用 SDK 预设的配置。",
        arises: "Web SDK, when a track's capture or encoder options (resolution, frame rate, bitrate, preset name) are invalid.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::PermissionDenied,
        category: Category::Track,
        description_en: "Permission to use the media device was denied.",
        description_zh: "获取媒体设备权限被拒绝。",
        advice_en: "Choose **Allow** in the browser's device permission prompt.",
        advice_zh: "在弹出的获取设备权限窗口中选择**允许**。",
        arises: "Web SDK, when the user or a browser policy denies camera, microphone or screen capture (NotAllowedError).",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::ConstraintNotSatisfied,
        category: Category::Track,
        description_en: "Unsupported media capture parameters (the device cannot satisfy the constraints).",
        description_zh: "不支持的媒体采集的参数。",
        advice_en: "Change the capture parameters or use one of the SDK's presets.",
        advice_zh: "修改媒体采集参数或使用 SDK 预设的配置。",
        arises: "Web SDK, when getUserMedia cannot satisfy the capture constraints (OverconstrainedError), e.g. a resolution the camera lacks.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::TrackIsDisabled,
        category: Category::Track,
        description_en: "The track is disabled, usually because Track.setEnabled(false) was called on it.",
        description_zh: "轨道被禁用，通常因为轨道设置了 Track.setEnabled(false)。",
        advice_en: "Call Track.setEnabled(true) on the track before the operation.",
        advice_zh: "对该轨道调用 Track.setEnabled(true) 后再进行操作。",
        arises: "Server (and SDKs first), when publish carries a track that setEnabled(false) has disabled.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::GetVideoElementVisibleError,
        category: Category::Track,
        description_en: "Getting the visibility status of the video element that plays the track failed.",
        description_zh: "获取播放该轨道的视频元素的可见状态失败。",
        advice_en: "Call getVideoElementVisibleStatus only while the track is playing in an element of the page.",
        advice_zh: "仅在轨道正在页面元素中播放时调用 getVideoElementVisibleStatus。",
        arises: "Web SDK, when getVideoElementVisibleStatus cannot inspect the playing element, e.g. because it left the page.",
        raised: WEB_SDK,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::ShareAudioNotAllowed,
        category: Category::Track,
        description_en: "The end user did not tick **Share audio** when sharing the screen with audio.",
        description_zh: "屏幕共享音频时终端用户没有点击**分享音频**。",
        advice_en: "Ask the end user to tick **Share audio** in the screen-sharing dialog.",
        advice_zh: "要求终端用户在弹出的屏幕共享窗口中勾选**分享音频**。",
        arises: "Web SDK, when createScreenVideoTrack is called with withAudio \"enable\" and the user shares no audio.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::LowStreamEncodingError,
        category: Category::Media,
        description_en: "Encoding the low-quality stream (dual stream) with RTCRtpEncodingParameters failed.",
        description_zh: "使用 RTCRtpEncodingParameters 进行小流（双流模式）编码失败。",
        advice_en: "Check the low-stream parameters (setLowStreamParameter) and the browser's simulcast support, then enable dual stream again.",
        advice_zh: "检查小流参数（setLowStreamParameter）和浏览器对 simulcast 的支持，然后重新开启双流模式。",
        arises: "SDKs, when enableDualStream or setDualStreamMode cannot set up the low-quality simulcast layer of a published video track.",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::SetEncodingParameterError,
        category: Category::Media,
        description_en: "Setting the RTP encoding parameters (bitrate, frame rate, resolution scale) of the sender failed.",
        description_zh: "设置 RTP 编码参数（码率、帧率、分辨率缩放）失败。",
        advice_en: "Check the encoder configuration and retry; if it persists, unpublish the track and publish it again.",
        advice_zh: "检查编码配置后重试；如果问题持续，取消发布后重新发布该轨道。",
        arises: "Web SDK, when setEncoderConfiguration or setOptimizationMode on a published track cannot be applied to its RTP sender (setParameters fails).",
        raised: Raised::Now,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::TrackStateUnreachable,
        category: Category::Track,
        description_en: "The track cannot reach the requested state, e.g. setEnabled(false) while it is muted, or setMuted(true) while it is disabled.",
        description_zh: "轨道无法进入请求的状态，例如在轨道已静音时调用 setEnabled(false)，或在轨道已禁用时调用 setMuted(true)。",
        advice_en: "Use either setEnabled or setMuted on a track: undo one (setMuted(false) or setEnabled(true)) before using the other.",
        advice_zh: "同一轨道只使用 setEnabled 或 setMuted 之一：先撤销其中一个（setMuted(false) 或 setEnabled(true)）再使用另一个。",
        arises: "Web SDK, when setEnabled and setMuted are combined on one track in a way its state machine cannot follow.",
        raised: WEB_SDK,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::InvalidUintUidFromStringUid,
        category: Category::Client,
        description_en: "The string-uid allocation service returned an invalid integer uid.",
        description_zh: "String UID 分配服务返回了非法的 int UID。",
        advice_en: "Join the channel with a different uid.",
        advice_zh: "使用不同的 UID 进入频道。",
        arises: "Server and SDKs, when a join with a string uid cannot get a valid integer uid from the server's string-uid map.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::CanNotGetProxyServer,
        category: Category::Client,
        description_en: "The address of the cloud proxy service cannot be obtained.",
        description_zh: "无法获取云代理服务地址。",
        advice_en: NONE_EN,
        advice_zh: NONE_ZH,
        arises: "SDKs, when startProxyServer is on and discovery returns no cloud proxy (TURN or TLS relay) address.",
        raised: PROXY,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::CanNotGetGatewayServer,
        category: Category::Client,
        description_en: "The address of the Stoa server cannot be obtained.",
        description_zh: "无法获取 Agora 服务器地址。",
        advice_en: NONE_EN,
        advice_zh: NONE_ZH,
        arises: "SDKs, when gateway discovery fails or refuses the join (unknown app id, invalid or expired token, no signalling node), with the server's reason and whether to retry in data.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::VoidGatewayAddress,
        category: Category::Client,
        description_en: "The gateway address list returned by the access point is empty.",
        description_zh: "从接入服务获取的网关地址列表为空。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: Stoa reports an empty discovery answer as CAN_NOT_GET_GATEWAY_SERVER, as Agora's SDK does since 4.7.0.",
        raised: Raised::Never(
            "obsolete in Agora's SDK since 4.7.0; an empty discovery answer is reported as CAN_NOT_GET_GATEWAY_SERVER.",
        ),
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::UidConflict,
        category: Category::Client,
        description_en: "Duplicate uid in the same channel.",
        description_zh: "同一个频道内 UID 重复。",
        advice_en: "Join the channel with a different uid.",
        advice_zh: "使用不同的 UID 进入频道。",
        arises: "Server and SDKs, when a join uses a uid already present in the channel, or a page joins the same channel twice with the same uid.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::MultiUnilbsResponseError,
        category: Category::Client,
        description_en: "Parsing the replies of several load-balancing (UniLBS) access points failed.",
        description_zh: "解析多个负载均衡（UniLBS）接入服务的响应失败。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: Agora's SDK raises it when it merges the replies of several access-point clusters.",
        raised: Raised::Never(
            "Stoa has a single discovery service; there are no parallel load-balancer replies to merge.",
        ),
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::UpdateTicketFailed,
        category: Category::Client,
        description_en: "The request to update the gateway ticket failed.",
        description_zh: "更新网关票据（Ticket）的请求失败。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: in Agora's SDK the access point issues a ticket for the gateway, which the SDK renews.",
        raised: Raised::Never(
            "Stoa's signalling join is authorised by the token itself; discovery issues no ticket to renew.",
        ),
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::TokenExpire,
        category: Category::Client,
        description_en: "The token has expired.",
        description_zh: "Token 已过期。",
        advice_en: "Generate a new token on your app server: call renewToken when token-privilege-will-expire fires, or join again with the new token.",
        advice_zh: "在你的应用服务器上生成新的 Token：收到 token-privilege-will-expire 事件时调用 renewToken，或使用新 Token 重新加入频道。",
        arises: "Server, when renewToken carries an expired token; a joined client whose token runs out is disconnected with reason TOKEN_EXPIRE (a join with an expired token is refused with CAN_NOT_GET_GATEWAY_SERVER, access-point code 2010013).",
        raised: Raised::Now,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::InvalidLocalTrack,
        category: Category::Media,
        description_en: "An invalid LocalTrack was passed.",
        description_zh: "传入了非法的 LocalTrack。",
        advice_en: "Check the track passed in and pass a valid LocalTrack.",
        advice_zh: "检查传入的 Track，并传入正确的 LocalTrack。",
        arises: "SDKs, when publish or unpublish receives something that is not a live local track of this SDK.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::InvalidTrack,
        category: Category::Track,
        description_en: "An invalid track was passed.",
        description_zh: "传入了非法的轨道。",
        advice_en: "Pass a track object of the kind the API expects.",
        advice_zh: "传入该 API 所要求类型的轨道对象。",
        arises: "Web SDK, when an API that takes a track, such as checkVideoTrackIsActive or checkAudioTrackIsActive, gets an object that is not a track of the expected kind.",
        raised: WEB_SDK,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::SenderNotFound,
        category: Category::Transport,
        description_en: "The RTP sender of the track cannot be found (e.g. during replaceTrack).",
        description_zh: "找不到该轨道对应的 RTP 发送端（例如在 replaceTrack 时）。",
        advice_en: "Unpublish the track and publish it again.",
        advice_zh: "取消发布该轨道后重新发布。",
        arises: "SDKs, when a published track whose RTP sender is gone, e.g. after a media reconnect, is replaced or reconfigured.",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::CreateOfferFailed,
        category: Category::Transport,
        description_en: "The peer connection failed to create an SDP offer.",
        description_zh: "PeerConnection 创建 SDP offer 失败。",
        advice_en: "Check the browser's codecs (getSupportedCodec) against the client's codec setting, then retry.",
        advice_zh: "通过 getSupportedCodec 核对浏览器支持的编解码器与 Client 的 codec 设置后重试。",
        arises: "Web SDK, when createOffer fails while publishing, usually because the peer connection is closed.",
        raised: Raised::Now,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::SetAnswerFailed,
        category: Category::Transport,
        description_en: "Applying the server's SDP answer to the peer connection failed.",
        description_zh: "PeerConnection 设置服务器返回的 SDP answer 失败。",
        advice_en: "Check the client's codec setting against the codecs the server allows, then retry.",
        advice_zh: "对照服务器允许的编解码器检查 Client 的 codec 设置后重试。",
        arises: "Web SDK, when setRemoteDescription rejects the SFU's answer to a publish offer, e.g. because no codec is common to both sides.",
        raised: Raised::Now,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::IceFailed,
        category: Category::Transport,
        description_en: "ICE connectivity checks failed: there is no working network path to the media server.",
        description_zh: "ICE 连通性检查失败：与媒体服务器之间没有可用的网络路径。",
        advice_en: "Make sure no firewall blocks UDP (or the configured TCP port) to the server, or use the cloud proxy.",
        advice_zh: "确认防火墙没有屏蔽到服务器的 UDP（或配置的 TCP 端口），或使用云代理。",
        arises: "SDKs, when the peer connection to the SFU reaches the ICE state failed.",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::PcClosed,
        category: Category::Transport,
        description_en: "The peer connection was closed while the operation was in progress.",
        description_zh: "操作进行过程中 PeerConnection 已关闭。",
        advice_en: "Wait until connection-state-change reports CONNECTED again, then retry.",
        advice_zh: "等待 connection-state-change 事件报告连接状态重新变为 CONNECTED 后重试。",
        arises: "SDKs, when publish, subscribe or a stats call races with leave or with a media reconnect that closes the peer connection.",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::SenderReplaceFailed,
        category: Category::Transport,
        description_en: "Replacing the track of an RTP sender failed.",
        description_zh: "替换 RTP 发送端的轨道失败。",
        advice_en: "Unpublish the old track and publish the new one.",
        advice_zh: "取消发布旧轨道后发布新轨道。",
        arises: "Web SDK, when replaceTrack, setDevice or a mixed audio change on a published track cannot swap the track in its RTP sender.",
        raised: Raised::Now,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::GetLocalCapabilitiesFailed,
        category: Category::Transport,
        description_en: "Getting the local RTP capabilities (codecs and header extensions) failed.",
        description_zh: "获取本地 RTP 能力（编解码器和头部扩展）失败。",
        advice_en: "Check the browser's WebRTC support and the client's codec setting.",
        advice_zh: "检查浏览器的 WebRTC 支持情况和 Client 的 codec 设置。",
        arises: "SDKs, when building the media capabilities sent with publish or subscribe fails, e.g. because the chosen codec is unavailable.",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::GetLocalConnectionParamsFailed,
        category: Category::Transport,
        description_en: "Getting the local connection parameters (ICE credentials, DTLS fingerprint) failed.",
        description_zh: "获取本地连接参数（ICE 凭据、DTLS 指纹）失败。",
        advice_en: "Retry; if it persists, check the browser's WebRTC support.",
        advice_zh: "重试；如果问题持续，检查浏览器的 WebRTC 支持情况。",
        arises: "SDKs, when preparing the peer connection to the SFU fails before the first publish or subscribe.",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::SubscribeFailed,
        category: Category::Media,
        description_en: "Subscribing to the remote track failed.",
        description_zh: "订阅远端轨道失败。",
        advice_en: "Wait for the next user-published event and subscribe again.",
        advice_zh: "等待下一次 user-published 事件后重新订阅。",
        arises: "Web SDK, when the server's subscriber offer has no m-line for the requested track or applying it fails.",
        raised: Raised::Now,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::UnsubscribeFailed,
        category: Category::Media,
        description_en: "Unsubscribing from the remote track failed.",
        description_zh: "取消订阅远端轨道失败。",
        advice_en: "Retry; leaving the channel releases every subscription anyway.",
        advice_zh: "重试；离开频道时所有订阅都会被释放。",
        arises: "Server and SDKs, when the SFU cannot tear down a subscription, e.g. because the signalling request fails midway.",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::GatewayP2pLost,
        category: Category::Transport,
        description_en: "The server reports that its media connection (peer connection) with this client is lost.",
        description_zh: "服务器报告与该客户端之间的媒体连接（PeerConnection）已断开。",
        advice_en: "None needed: the SDK reconnects the media by itself (media-reconnect-start, media-reconnect-end); check the network if it recurs.",
        advice_zh: "无需处理：SDK 会自动重连媒体（media-reconnect-start、media-reconnect-end 事件）；频繁出现时请检查网络。",
        arises: "Server, when the SFU's ICE/DTLS session with the client times out while signalling is still up.",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::NoIceCandidate,
        category: Category::Transport,
        description_en: "No ICE candidate is available, so no media connection can be attempted.",
        description_zh: "没有可用的 ICE 候选地址，无法建立媒体连接。",
        advice_en: "Check the public address the server announces and the client's network, or use the cloud proxy.",
        advice_zh: "检查服务器对外公布的公网地址和客户端网络，或使用云代理。",
        arises: "Rust SDK, when it has no local address that can reach the media address the server announced (e.g. IPv4 only against an IPv6 server).",
        raised: Raised::Now,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::CanNotPublishMultipleVideoTracks,
        category: Category::Media,
        description_en: "A client publishes more than one video track.",
        description_zh: "一个 Client 发布多个视频轨道。",
        advice_en: "A client can publish only one video track at a time; create more clients to publish more video tracks.",
        advice_zh: "一个 Client 同一时间只能发布一个视频轨道，如果想发布多个视频轨道请创建多个 Client。",
        arises: "Server (and SDKs first), when publish carries a second video track while this client already publishes one, or two at once.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::ExistDisabledVideoTrack,
        category: Category::Media,
        description_en: "A published video track is disabled, so another video track cannot be published.",
        description_zh: "已发布的视频轨道处于禁用状态，无法再发布其他视频轨道。",
        advice_en: "Unpublish the disabled video track first, or enable it again instead of publishing another one.",
        advice_zh: "先取消发布被禁用的视频轨道，或重新启用它，而不是发布另一个视频轨道。",
        arises: "SDKs, when publish gets a video track while a published video track is disabled with setEnabled(false).",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::InvalidRemoteUser,
        category: Category::Media,
        description_en: "Invalid remote user: the remote user may not be in the channel or may not have published any track.",
        description_zh: "非法的远端用户，可能是远端用户不在频道内或还未发布任何媒体轨道。",
        advice_en: "Subscribe after receiving the user-published event.",
        advice_zh: "收到 user-published 事件后再进行订阅操作。",
        arises: "Server and SDKs, when subscribe names a uid that is not in the channel (or an audience member, or oneself).",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::RemoteUserIsNotPublished,
        category: Category::Media,
        description_en: "The remote user has published audio or video, but not the type your subscribe call asked for.",
        description_zh: "远端用户已发布了音频或视频轨道，但不是与你的订阅操作所指定的类型不符。",
        advice_en: "Make sure the media type passed to subscribe matches the one given by user-published, or check AgoraRTCRemoteUser.hasVideo and AgoraRTCRemoteUser.hasAudio before subscribing.",
        advice_zh: "请确保订阅操作传入的轨道类型需要与 user-published 事件给出的类型一致，或者在订阅前通过 AgoraRTCRemoteUser.hasVideo 和 AgoraRTCRemoteUser.hasAudio 确认远端用户是否发布了该类型的轨道。",
        arises: "Server and SDKs, when subscribe asks for a media type the remote user has not published, or has muted or disabled.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::CustomReportSendFailed,
        category: Category::Report,
        description_en: "Sending the custom event report failed, usually for network reasons.",
        description_zh: "自定义事件上报失败，通常是因为网络原因。",
        advice_en: "Check the network and send the report again later.",
        advice_zh: "检查网络状况，稍后重新上报。",
        arises: "Web SDK, when sendCustomReportMessage cannot deliver reports to the server's report endpoint.",
        raised: REPORTS,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::CustomReportFrequencyTooHigh,
        category: Category::Report,
        description_en: "Custom event reports are sent too often (at most 20 reports every 5 seconds).",
        description_zh: "自定义事件上报过于频繁（每 5 秒最多 20 条）。",
        advice_en: "Batch the reports and stay under 20 reports every 5 seconds.",
        advice_zh: "合并上报内容，确保每 5 秒不超过 20 条。",
        arises: "Web SDK, when sendCustomReportMessage is called beyond the rate limit.",
        raised: REPORTS,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::FetchAudioFileFailed,
        category: Category::Track,
        description_en: "Downloading the online audio file failed.",
        description_zh: "下载在线音频文件失败。",
        advice_en: "Pass a correct online audio URL and make sure it can be reached.",
        advice_zh: "填入正确的在线音频地址，并确保可以正常访问。",
        arises: "Rust SDK (BufferSourceAudioTrack::new) and Web SDK (createBufferSourceAudioTrack), when the source URL cannot be reached or answers other than 2xx (in browsers also CORS, not HTTPS).",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::ReadLocalAudioFileError,
        category: Category::Track,
        description_en: "Reading the local audio file failed.",
        description_zh: "读取本地音频文件失败。",
        advice_en: "Pass a correct local audio file.",
        advice_zh: "填入正确的本地音频文件路径。",
        arises: "Rust SDK (BufferSourceAudioTrack::new), when the file path is missing or unreadable; Web SDK, when createBufferSourceAudioTrack cannot read the File it was given.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::DecodeAudioFileFailed,
        category: Category::Track,
        description_en: "Decoding the audio file failed, possibly because the browser's WebAudio does not support its encoding format.",
        description_zh: "音频文件解码失败，可能是因为音频文件的编码格式是浏览器 WebAudio 不支持的编码格式。",
        advice_en: "Check that the browser's WebAudio supports the encoding format of the audio file.",
        advice_zh: "检查浏览器 WebAudio 是否支持音频文件的编码格式。",
        arises: "Rust SDK (BufferSourceAudioTrack::new), when the file is not decodable audio (symphonia: wav, flac, ogg/vorbis, mp3, aac/m4a); Web SDK, when decodeAudioData rejects the data of a buffer-source audio track.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::WsAbort,
        category: Category::Signalling,
        description_en: "The WebSocket disconnected while a request to the Stoa server was in progress.",
        description_zh: "请求 Agora 服务器过程中 WebSocket 断开。",
        advice_en: "Listen for the connection-state-change event and retry once the state is **CONNECTED**.",
        advice_zh: "监听 connection-state-change 事件，待连接状态变为 **CONNECTED** 后重试。",
        arises: "SDKs, when the signalling WebSocket drops after a request (join, publish, renewToken, ...) is sent and before its reply arrives.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::WsDisconnect,
        category: Category::Signalling,
        description_en: "The WebSocket was already disconnected before the request to the Stoa server.",
        description_zh: "请求 Agora 服务器前，WebSocket 就已经断开。",
        advice_en: "Listen for the connection-state-change event and retry once the state is **CONNECTED**.",
        advice_zh: "监听 connection-state-change 事件，待连接状态变为 **CONNECTED** 后重试。",
        arises: "SDKs, when a request is made while the signalling WebSocket is down, e.g. during RECONNECTING.",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::WsErr,
        category: Category::Signalling,
        description_en: "An error occurred on the WebSocket connection.",
        description_zh: "WebSocket 连接发生错误。",
        advice_en: "Check the browser's WebSocket support.",
        advice_zh: "检查当前浏览器对 WebSocket 的支持情况。",
        arises: "SDKs, when the signalling WebSocket cannot be opened or fails (refused handshake, TLS error, protocol violation).",
        raised: Raised::Now,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::ExternalSignalAbort,
        category: Category::Signalling,
        description_en: "A request over an external signalling channel (not the SDK's own WebSocket) was aborted.",
        description_zh: "通过外部信令通道（而非 SDK 自身的 WebSocket）发送的请求被中止。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: Stoa has a single signalling path, its own WebSocket.",
        raised: Raised::Never(
            "Stoa has one signalling channel, its own WebSocket; there is no external signalling path to abort.",
        ),
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::LiveStreamingTaskConflict,
        category: Category::LiveStreaming,
        description_en: "The push task already exists.",
        description_zh: "推流任务已经存在。",
        advice_en: "Call Client.stopLiveStreaming to stop that push task before pushing again.",
        advice_zh: "先调用Client.stopLiveStreaming 停止该推流任务再重新进行推流操作。",
        arises: "Server, when startLiveStreaming names a URL that already has a running push from this channel.",
        raised: CDN,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::LiveStreamingInvalidArgument,
        category: Category::LiveStreaming,
        description_en: "Invalid push parameters.",
        description_zh: "推流参数错误。",
        advice_en: "Check the push parameters against the API documentation of Client.startLiveStreaming.",
        advice_zh: "参考 Client.startLiveStreaming 的 API 文档检查推流操作的参数。",
        arises: "Server and SDKs, when startLiveStreaming or setLiveTranscoding gets an invalid URL or transcoding configuration.",
        raised: CDN,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::LiveStreamingInternalServerError,
        category: Category::LiveStreaming,
        description_en: "Internal error of the push server.",
        description_zh: "推流服务器内部错误。",
        advice_en: "Push again; if it still fails, refresh the page and retry.",
        advice_zh: "重新进行推流操作，如果仍然失败，刷新页面重试。",
        arises: "Server, when the egress worker (stoa-egress) fails to start or crashes during a push.",
        raised: CDN,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::LiveStreamingPublishStreamNotAuthorized,
        category: Category::LiveStreaming,
        description_en: "The push URL is already in use.",
        description_zh: "推流 URL 被占用。",
        advice_en: "Check whether the URL is already in use.",
        advice_zh: "检查填入的 URL 是否被占用。",
        arises: "Server, when the RTMP server refuses the publish because the stream key is in use or not authorised.",
        raised: CDN,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::LiveStreamingTranscodingNotSupported,
        category: Category::LiveStreaming,
        description_en: "Transcoding parameters were used with a non-transcoding (raw) push.",
        description_zh: "在非转码推流中使用了转码参数。",
        advice_en: "Start the push with transcodingEnabled set to true to use a transcoding configuration.",
        advice_zh: "如需使用转码配置，请在推流时将 transcodingEnabled 设为 true。",
        arises: "Server, when transcoding settings are applied to a push started with transcodingEnabled = false.",
        raised: CDN,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::LiveStreamingCdnError,
        category: Category::LiveStreaming,
        description_en: "An error at the target CDN made the push fail.",
        description_zh: "推流的目标 CDN 出现错误导致推流失败。",
        advice_en: "Check the health of the target CDN.",
        advice_zh: "确认目标 CDN 的健康状况。",
        arises: "Server, when the RTMP connection to the CDN fails or drops during a push.",
        raised: CDN,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::LiveStreamingInvalidRawStream,
        category: Category::LiveStreaming,
        description_en: "The push timed out.",
        description_zh: "推流超时。",
        advice_en: "Make sure the stream to push exists.",
        advice_zh: "确认目标流是否存在。",
        arises: "Server, when a raw (non-transcoded) push gets no media to forward in time, e.g. the host has not published or its codec cannot go into FLV.",
        raised: CDN,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::LiveStreamingWarnStreamNumReachLimit,
        category: Category::LiveStreaming,
        description_en: "Warning: the number of push URLs exceeds the limit of 10.",
        description_zh: "警告：推流地址数量超过 10 路的上限。",
        advice_en: "Stop the pushes that are no longer needed before adding new ones.",
        advice_zh: "先停止不再需要的推流，再添加新的推流地址。",
        arises: "Server, as a live-streaming-warning when a channel asks for more than 10 push URLs.",
        raised: CDN,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::LiveStreamingWarnFailedLoadImage,
        category: Category::LiveStreaming,
        description_en: "Warning: the background image or watermark cannot be fetched; the push goes on without it.",
        description_zh: "警告：无法拉取推流中的背景图片或水印（不影响推流流程）。",
        advice_en: "Make sure the image URL can be reached from the server and points to a PNG image.",
        advice_zh: "确认服务器可以访问该图片地址，且地址指向 PNG 图片。",
        arises: "Server, as a live-streaming-warning when the egress worker cannot load an image URL of the transcoding configuration.",
        raised: CDN,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::LiveStreamingWarnFrequentRequest,
        category: Category::LiveStreaming,
        description_en: "Warning: push requests are too frequent; the running push is not affected.",
        description_zh: "警告：推流请求过于频繁（不影响推流流程）。",
        advice_en: "Call setLiveTranscoding and startLiveStreaming less often.",
        advice_zh: "降低调用 setLiveTranscoding 和 startLiveStreaming 的频率。",
        arises: "Server, as a live-streaming-warning when transcoding updates or push requests come faster than the rate limit.",
        raised: CDN,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::WebglInternalError,
        category: Category::Extension,
        description_en: "Internal WebGL error.",
        description_zh: "WebGL 内部错误。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: Agora's SDK raises it from the WebGL pipeline of its built-in beauty effect (setBeautyEffect).",
        raised: NO_BEAUTY,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::BeautyProcessorInternalError,
        category: Category::Extension,
        description_en: "Internal error of the beauty effect processor.",
        description_zh: "美颜处理器内部错误。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: Agora's SDK raises it from its built-in beauty effect (setBeautyEffect).",
        raised: NO_BEAUTY,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::CrossChannelWaitStatusError,
        category: Category::ChannelMediaRelay,
        description_en: "Waiting for the \"channel-media-relay-state\" callback failed.",
        description_zh: "等待 \"channel-media-relay-state\" 回调出错。",
        advice_en: "Check the network, then call startChannelMediaRelay again.",
        advice_zh: "检查网络状况后重新调用 startChannelMediaRelay。",
        arises: "Server and SDKs, when the relay does not report the expected state in time during start, update or stop.",
        raised: RELAY,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::CrossChannelFailedJoinSrc,
        category: Category::ChannelMediaRelay,
        description_en: "The request to start relaying media across channels failed (the relay could not join the source channel).",
        description_zh: "发起跨频道转发媒体流请求失败。",
        advice_en: "Check the source channel name and its token (generated with uid 0), then start the relay again.",
        advice_zh: "检查源频道名及其 Token（需使用 uid 0 生成）后重新开始转发。",
        arises: "Server, when the relay cannot join the source channel, e.g. because the source token is invalid or expired.",
        raised: RELAY,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::CrossChannelFailedJoinDest,
        category: Category::ChannelMediaRelay,
        description_en: "Accepting the cross-channel media relay request failed (the relay could not join a destination channel).",
        description_zh: "接受跨频道转发媒体流请求失败。",
        advice_en: "Check the channel name, uid and token of each destination, then start the relay again.",
        advice_zh: "检查每个目标频道的频道名、uid 和 Token 后重新开始转发。",
        arises: "Server, when the relay cannot join a destination channel, e.g. because its token is invalid or its uid is taken.",
        raised: RELAY,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::CrossChannelFailedPacketSentToDest,
        category: Category::ChannelMediaRelay,
        description_en: "The server failed to receive the relayed media stream.",
        description_zh: "服务器接收跨频道转发媒体流失败。",
        advice_en: "Make sure a host in the source channel is publishing and the network is stable, then retry.",
        advice_zh: "确认源频道中有主播正在发布且网络稳定后重试。",
        arises: "Server, when no media from the source channel can be forwarded to the destination channels in time.",
        raised: RELAY,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::CrossChannelServerErrorResponse,
        category: Category::ChannelMediaRelay,
        description_en: "The server responded with an error.",
        description_zh: "服务器响应出错。",
        advice_en: "Check the relay configuration (at most 4 destination channels) and the detail message, then retry.",
        advice_zh: "检查转发配置（最多 4 个目标频道）和错误详情后重试。",
        arises: "Server, when it rejects a relay start, update or stop request, e.g. because the configuration is invalid.",
        raised: RELAY,
        in_seed: true,
    },
    CodeInfo {
        code: ErrorCode::MetadataOutOfRange,
        category: Category::DataChannel,
        description_en: "The metadata to send exceeds the maximum size (1024 bytes).",
        description_zh: "要发送的元数据超过了最大长度（1024 字节）。",
        advice_en: "Keep each metadata payload within 1024 bytes.",
        advice_zh: "确保每次发送的元数据不超过 1024 字节。",
        arises: "SDKs and server, when sendMetadata gets a payload larger than 1024 bytes.",
        raised: METADATA,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::LocalAecError,
        category: Category::Track,
        description_en: "Local acoustic echo cancellation (AEC) of external media failed.",
        description_zh: "针对外部媒体的本地回声消除（AEC）处理失败。",
        advice_en: "Pass a playing HTMLMediaElement whose source the page may read (same origin or CORS), then retry.",
        advice_zh: "传入正在播放且来源可被页面读取（同源或支持 CORS）的 HTMLMediaElement 后重试。",
        arises: "Web SDK, when processExternalMediaAEC cannot route the audio of the media element into echo cancellation.",
        raised: WEB_SDK,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::InvalidPlugin,
        category: Category::Extension,
        description_en: "The plugin (extension) is invalid.",
        description_zh: "插件（扩展）不合法。",
        advice_en: "Register only extensions built for the AgoraRTC extension interface, in a version the SDK supports.",
        advice_zh: "仅注册基于 AgoraRTC 扩展接口开发、且版本受 SDK 支持的扩展。",
        arises: "Web SDK, when registerExtensions or AgoraRTC.use gets an object that does not implement the extension or service interface.",
        raised: EXTENSIONS,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::DisconnectP2p,
        category: Category::Transport,
        description_en: "The peer connection is being torn down, which ends the peer-connection operations still pending.",
        description_zh: "PeerConnection 正在断开，尚未完成的 PeerConnection 操作因此结束。",
        advice_en: "None needed after leave; after a media reconnect, retry once the client is CONNECTED again.",
        advice_zh: "离开频道时无需处理；媒体重连时，待连接状态恢复为 CONNECTED 后重试。",
        arises: "SDKs, when leave or a media reconnect closes the peer connection while publish or subscribe steps are still pending.",
        raised: SFU,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::ConvertingImagedataToBlobFailed,
        category: Category::Track,
        description_en: "Converting ImageData to a Blob failed.",
        description_zh: "将 ImageData 转换为 Blob 失败。",
        advice_en: "Make sure the video track is playing and has a frame, then retry.",
        advice_zh: "确认视频轨道正在播放并已有画面后重试。",
        arises: "Web SDK, when getCurrentFrameImage cannot encode the current frame, taken as ImageData, as an image.",
        raised: WEB_SDK,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::ConvertingVideoFrameToBlobFailed,
        category: Category::Track,
        description_en: "Converting a VideoFrame to a Blob failed.",
        description_zh: "将 VideoFrame 转换为 Blob 失败。",
        advice_en: "Make sure the video track is playing and has a frame, then retry.",
        advice_zh: "确认视频轨道正在播放并已有画面后重试。",
        arises: "Web SDK, when getCurrentFrameImage cannot encode the current frame, taken as a WebCodecs VideoFrame, as an image.",
        raised: WEB_SDK,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::InitDatachannelTimeout,
        category: Category::DataChannel,
        description_en: "Initialising the data channel timed out.",
        description_zh: "初始化数据通道超时。",
        advice_en: "Check the network and publish or subscribe the data channel again.",
        advice_zh: "检查网络状况后重新发布或订阅数据通道。",
        arises: "SDKs, when a published or subscribed data channel is not set up within the timeout.",
        raised: DATA_CHANNELS,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::CreateDatachannelError,
        category: Category::DataChannel,
        description_en: "Creating the data channel failed.",
        description_zh: "创建数据通道失败。",
        advice_en: "Check the data channel configuration (id 0-65535, metadata at most 512 characters), then retry.",
        advice_zh: "检查数据通道配置（id 取值 0-65535，metadata 不超过 512 个字符）后重试。",
        arises: "SDKs, when the peer connection refuses to create a data channel, e.g. because its id is already in use.",
        raised: DATA_CHANNELS,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::DatachannelConnectionTimeout,
        category: Category::DataChannel,
        description_en: "The data channel did not open in time.",
        description_zh: "数据通道连接超时。",
        advice_en: "Check the network and publish or subscribe the data channel again.",
        advice_zh: "检查网络状况后重新发布或订阅数据通道。",
        arises: "SDKs, when a created data channel does not reach the open state within the timeout.",
        raised: DATA_CHANNELS,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::ProhibitedOperation,
        category: Category::General,
        description_en: "The operation is prohibited, e.g. the feature is disabled for this app.",
        description_zh: "该操作被禁止，例如该功能对当前应用已禁用。",
        advice_en: "Ask the server administrator to enable the feature for your app id.",
        advice_zh: "请联系服务器管理员为你的 App ID 开启该功能。",
        arises: "Server, when an app uses a feature (e.g. live streaming or media relay) that the administrator has switched off for its app id.",
        raised: FEATURE_POLICY,
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::ImageModerationUploadFailed,
        category: Category::Extension,
        description_en: "Uploading a snapshot for image moderation failed.",
        description_zh: "上传图片审核截图失败。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: Agora's SDK raises it when it uploads video snapshots to Agora's image moderation service (setImageModeration).",
        raised: Raised::Never("image moderation is an Agora cloud service that Stoa does not offer."),
        in_seed: false,
    },
    CodeInfo {
        code: ErrorCode::P2pMessageFailed,
        category: Category::Transport,
        description_en: "Sending a message to the peer in peer-to-peer mode failed.",
        description_zh: "点对点模式下向对端发送消息失败。",
        advice_en: NEVER_EN,
        advice_zh: NEVER_ZH,
        arises: "Nowhere: Agora's SDK raises it in its undocumented \"p2p\" client mode.",
        raised: Raised::Never(
            "Stoa does not implement the undocumented \"p2p\" client mode; media always goes through the SFU.",
        ),
        in_seed: false,
    },
];

/// Renders `docs/errors.md`: an introduction, then one table per [`Category`].
pub fn render_markdown() -> String {
    let mut out = String::new();
    let count = |pred: fn(&Raised) -> bool| CATALOG.iter().filter(|e| pred(&e.raised)).count();
    let now = count(|r| matches!(r, Raised::Now));
    let planned = count(|r| matches!(r, Raised::Planned(_)));
    let never = count(|r| matches!(r, Raised::Never(_)));
    let seed = CATALOG.iter().filter(|e| e.in_seed).count();

    out.push_str(
        "# Error codes\n\
         \n\
         <!-- Generated from crates/proto/src/error/catalog.rs: do not edit by hand. Regenerate with\n     \
         STOA_BLESS=1 cargo test -p stoa-proto docs_errors_md_is_fresh -->\n\
         \n",
    );
    let _ = write!(
        out,
        "Stoa raises the error codes of Agora Web SDK NG 4.24.8 (`AgoraRTCErrorCode`, {} codes), so an app written \
         for `agora-rtc-sdk-ng` handles Stoa's errors unchanged. The catalog in `crates/proto/src/error/catalog.rs` \
         is the only list of codes in Stoa: the server, both SDKs and this page use it.\n\n",
        CATALOG.len()
    );
    out.push_str(
        "## How errors reach you\n\
         \n\
         - **Web SDK.** Every async API (`join`, `publish`, `subscribe`, ...) rejects its Promise with an \
         `AgoraRTCError`; synchronous APIs throw it. `code` is one of the strings below, `name` is \
         `\"AgoraRTCException\"`, `message` is `\"AgoraRTCError CODE: detail\"`, and the optional `data` carries \
         structured detail such as the server's reason. `toString()` appends `data` as JSON.\n\
         - **Events.** Some failures arrive as events instead: `connection-state-change` with a disconnect reason \
         (e.g. `TOKEN_EXPIRE`), and `live-streaming-error` / `live-streaming-warning` with an `AgoraRTCError`.\n\
         - **Rust SDK.** Calls fail with `RtcError { code, detail, data }`; `RtcError::message()` gives the same \
         `\"AgoraRTCError CODE: detail\"` text.\n\
         - **Wire.** The server sends an error as `{\"code\": \"INVALID_PARAMS\", \"message\": \"<detail>\", \
         \"data\": {...}}`: `message` is the detail alone, `data` is left out when there is none, and the SDKs add \
         the `AgoraRTCError CODE: ` prefix.\n\
         \n\
         ## Reading the tables\n\
         \n\
         - **Code** is the string value of `AgoraRTCError.code`. Every value equals its enum member name except \
         one: the member `CROSS_CHANNEL_FAILED_JOIN_SRC` has the value `\"CROSS_CHANNEL_FAILED_JOIN_SEC\"` \
         (Agora's typo, kept for compatibility). Compare with `AgoraRTCErrorCode.CROSS_CHANNEL_FAILED_JOIN_SRC` \
         rather than with a string literal.\n",
    );
    let _ = write!(
        out,
        "- **描述** and **处理方法** of the {seed} codes in Agora's Chinese error-code reference are quoted from it \
         (where it says \"Agora 服务器\", read the Stoa server). Codes marked † were added to the SDK after that \
         document; their text is Stoa's own.\n\
         - **Raised**: `now` = raised by Stoa today; `planned: X` = raised once capability X exists; \
         `never: why` = Stoa never raises it, and the code stays in the catalog so that code written for Agora \
         still matches on it.\n\
         \n\
         Of the {} codes, {now} are raised now, {planned} are planned and {never} are never raised.\n\
         \n\
         | Category | 分类 | Codes | Now | Planned | Never |\n\
         |---|---|---|---|---|---|\n",
        CATALOG.len()
    );
    for &category in Category::ALL {
        let in_cat = || CATALOG.iter().filter(move |e| e.category == category);
        let by = |pred: fn(&Raised) -> bool| in_cat().filter(|e| pred(&e.raised)).count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            category.title(),
            category.title_zh(),
            in_cat().count(),
            by(|r| matches!(r, Raised::Now)),
            by(|r| matches!(r, Raised::Planned(_))),
            by(|r| matches!(r, Raised::Never(_))),
        );
    }

    for &category in Category::ALL {
        let _ = write!(
            out,
            "\n## {} · {}\n\n\
             | Code | Description | 描述 | Advice | 处理方法 | Where it arises in Stoa | Raised |\n\
             |---|---|---|---|---|---|---|\n",
            category.title(),
            category.title_zh()
        );
        for e in CATALOG.iter().filter(|e| e.category == category) {
            let mut code = format!("`{}`", e.code.as_str());
            if e.code == ErrorCode::CrossChannelFailedJoinSrc {
                code.push_str(" (member `CROSS_CHANNEL_FAILED_JOIN_SRC`)");
            }
            if !e.in_seed {
                code.push_str(" †");
            }
            let raised = match e.raised {
                Raised::Now => "now".to_string(),
                Raised::Planned(what) => format!("planned: {what}"),
                Raised::Never(why) => format!("never: {why}"),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&code),
                cell(e.description_en),
                cell(e.description_zh),
                cell(e.advice_en),
                cell(e.advice_zh),
                cell(e.arises),
                cell(&raised),
            );
        }
    }
    out
}

/// Makes text safe for one Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The 44 codes of Agora's Chinese error-code reference (seed/000_9cf2cae352da58b6.txt).
    const SEED: [ErrorCode; 44] = [
        ErrorCode::UnexpectedError,
        ErrorCode::UnexpectedResponse,
        ErrorCode::InvalidParams,
        ErrorCode::NotSupported,
        ErrorCode::InvalidOperation,
        ErrorCode::OperationAborted,
        ErrorCode::WebSecurityRestrict,
        ErrorCode::NetworkTimeout,
        ErrorCode::NetworkResponseError,
        ErrorCode::NetworkError,
        ErrorCode::WsAbort,
        ErrorCode::WsDisconnect,
        ErrorCode::WsErr,
        ErrorCode::EnumerateDevicesFailed,
        ErrorCode::DeviceNotFound,
        ErrorCode::TrackIsDisabled,
        ErrorCode::ShareAudioNotAllowed,
        ErrorCode::ChromePluginNoResponse,
        ErrorCode::ChromePluginNotInstall,
        ErrorCode::MediaOptionInvalid,
        ErrorCode::ConstraintNotSatisfied,
        ErrorCode::PermissionDenied,
        ErrorCode::FetchAudioFileFailed,
        ErrorCode::ReadLocalAudioFileError,
        ErrorCode::DecodeAudioFileFailed,
        ErrorCode::UidConflict,
        ErrorCode::InvalidUintUidFromStringUid,
        ErrorCode::CanNotGetProxyServer,
        ErrorCode::CanNotGetGatewayServer,
        ErrorCode::InvalidLocalTrack,
        ErrorCode::CanNotPublishMultipleVideoTracks,
        ErrorCode::InvalidRemoteUser,
        ErrorCode::RemoteUserIsNotPublished,
        ErrorCode::LiveStreamingTaskConflict,
        ErrorCode::LiveStreamingInvalidArgument,
        ErrorCode::LiveStreamingInternalServerError,
        ErrorCode::LiveStreamingPublishStreamNotAuthorized,
        ErrorCode::LiveStreamingCdnError,
        ErrorCode::LiveStreamingInvalidRawStream,
        ErrorCode::CrossChannelWaitStatusError,
        ErrorCode::CrossChannelFailedJoinSrc,
        ErrorCode::CrossChannelFailedJoinDest,
        ErrorCode::CrossChannelFailedPacketSentToDest,
        ErrorCode::CrossChannelServerErrorResponse,
    ];

    fn is_cjk(c: char) -> bool {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
    }

    #[test]
    fn one_entry_per_code_in_enum_order() {
        assert_eq!(CATALOG.len(), ErrorCode::ALL.len());
        for (entry, code) in CATALOG.iter().zip(ErrorCode::ALL) {
            assert_eq!(entry.code, *code);
            assert_eq!(info(*code).code, *code);
            assert_eq!(code.info().code, *code);
        }
    }

    #[test]
    fn exactly_the_44_seed_codes_are_marked() {
        let marked: BTreeSet<_> = CATALOG.iter().filter(|e| e.in_seed).map(|e| e.code).collect();
        let seed: BTreeSet<_> = SEED.into_iter().collect();
        assert_eq!(seed.len(), 44);
        assert_eq!(marked, seed);
    }

    /// Every source file under `dir` whose name ends with `extension`, skipping folders named in `skip`.
    fn sources(dir: &std::path::Path, extension: &str, skip: &[&str], out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !skip.contains(&name.as_str()) {
                    sources(&path, extension, skip, out);
                }
            } else if name.ends_with(extension) {
                out.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }

    /// "now" means some shipped code raises the code: Rust sources name it as `ErrorCode::X` (the catalog itself
    /// and tests aside), the Web SDK's as the string `"X"` (its generated catalog aside). A capability that lands
    /// without updating the catalog, or a code that stops being raised, fails here.
    #[test]
    fn raised_now_is_what_the_sources_raise() {
        let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let mut rust = Vec::new();
        for krate in ["proto", "server", "sdk", "sfu"] {
            sources(
                &root.join("crates").join(krate).join("src"),
                ".rs",
                &["error", "tests"],
                &mut rust,
            );
        }
        let mut web = Vec::new();
        sources(&root.join("web/src"), ".ts", &["generated"], &mut web);
        assert!(
            rust.len() > 10 && web.len() > 10,
            "the sources were not found from {}",
            root.display()
        );
        let variant = |code: ErrorCode| format!("{code:?}");
        let raised: BTreeSet<_> = ErrorCode::ALL
            .iter()
            .copied()
            .filter(|code| {
                let in_rust = format!("ErrorCode::{}", variant(*code));
                let in_web = format!("\"{}\"", code.as_str());
                rust.iter().any(|text| {
                    text.match_indices(&in_rust).any(|(at, _)| {
                        !text[at + in_rust.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    })
                }) || web.iter().any(|text| text.contains(&in_web))
            })
            .collect();
        let now: BTreeSet<_> = CATALOG
            .iter()
            .filter(|e| e.raised == Raised::Now)
            .map(|e| e.code)
            .collect();
        let unmarked: Vec<_> = raised.difference(&now).map(|c| c.as_str()).collect();
        let unraised: Vec<_> = now.difference(&raised).map(|c| c.as_str()).collect();
        assert!(
            unmarked.is_empty() && unraised.is_empty(),
            "raised in the sources but not marked now: {unmarked:?}; marked now but raised nowhere: {unraised:?}"
        );
    }

    #[test]
    fn every_category_is_used() {
        for category in Category::ALL {
            assert!(
                CATALOG.iter().any(|e| e.category == *category),
                "{category:?} has no code"
            );
        }
    }

    #[test]
    fn texts_are_complete_and_clean() {
        for e in &CATALOG {
            let code = e.code.as_str();
            let english = [e.description_en, e.advice_en, e.arises];
            let chinese = [e.description_zh, e.advice_zh];
            for text in english.iter().chain(&chinese) {
                assert!(!text.is_empty(), "{code}: empty text");
                assert_eq!(text.trim(), *text, "{code}: untrimmed {text:?}");
                assert!(!text.contains('\n'), "{code}: newline in {text:?}");
                assert!(!text.contains("]("), "{code}: markdown link in {text:?}");
            }
            for text in english {
                assert!(text.is_ascii(), "{code}: non-ASCII English {text:?}");
                assert!(text.ends_with('.'), "{code}: {text:?} is not a sentence");
            }
            for text in chinese {
                assert!(text.chars().any(is_cjk), "{code}: no Chinese in {text:?}");
            }
            assert_eq!(
                e.advice_en == NONE_EN,
                e.advice_zh == NONE_ZH,
                "{code}: advice \"none\" in one language only"
            );
            match e.raised {
                Raised::Now => {}
                Raised::Planned(what) => assert!(!what.is_empty(), "{code}: planned for nothing"),
                Raised::Never(why) => {
                    assert!(!why.is_empty(), "{code}: never, without a reason");
                    assert!(
                        e.arises.starts_with("Nowhere"),
                        "{code}: never raised, yet arises somewhere"
                    );
                    if !e.in_seed {
                        assert_eq!((e.advice_en, e.advice_zh), (NEVER_EN, NEVER_ZH), "{code}");
                    }
                }
            }
            if e.arises.starts_with("Nowhere") {
                assert!(
                    matches!(e.raised, Raised::Never(_)),
                    "{code}: arises nowhere, yet raised"
                );
            }
        }
    }

    #[test]
    fn seed_text_is_quoted() {
        // Spot checks of the verbatim quotes, including the seed's own spacing and emphasis.
        assert_eq!(info(ErrorCode::UidConflict).description_zh, "同一个频道内 UID 重复。");
        assert_eq!(
            info(ErrorCode::WsAbort).advice_zh,
            "监听 connection-state-change 事件，待连接状态变为 **CONNECTED** 后重试。"
        );
        assert_eq!(
            info(ErrorCode::LiveStreamingTaskConflict).advice_zh,
            "先调用Client.stopLiveStreaming 停止该推流任务再重新进行推流操作。"
        );
        assert_eq!(
            info(ErrorCode::CanNotGetGatewayServer).description_zh,
            "无法获取 Agora 服务器地址。"
        );
        assert_eq!(info(ErrorCode::NetworkError).advice_zh, "无");
    }

    #[test]
    fn markdown_lists_every_code_once_and_escapes_pipes() {
        let md = render_markdown();
        for code in ErrorCode::ALL {
            let needle = format!("| `{}`", code.as_str());
            assert_eq!(md.matches(&needle).count(), 1, "{code}");
        }
        assert!(md.contains("(member `CROSS_CHANNEL_FAILED_JOIN_SRC`)"));
        assert_eq!(cell("a|b"), "a\\|b");
        let rows = md.lines().filter(|l| l.starts_with("| `")).count();
        assert_eq!(rows, ErrorCode::ALL.len());
        for row in md.lines().filter(|l| l.starts_with("| `")) {
            let unescaped_pipes = row.matches('|').count() - row.matches("\\|").count();
            assert_eq!(unescaped_pipes, 8, "wrong column count: {row}");
        }
    }

    #[test]
    fn docs_errors_md_is_fresh() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
        let rendered = render_markdown();
        if std::env::var("STOA_BLESS").as_deref() == Ok("1") {
            let path = std::path::Path::new(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &rendered).unwrap();
            return;
        }
        let current = std::fs::read_to_string(path).unwrap_or_default().replace("\r\n", "\n");
        assert!(
            current == rendered,
            "docs/errors.md is stale or missing; regenerate it with \
             `STOA_BLESS=1 cargo test -p stoa-proto docs_errors_md_is_fresh`"
        );
    }
}
