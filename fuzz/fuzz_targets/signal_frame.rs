//! The signalling frame parser on arbitrary text: it must never panic, must refuse what is over the size limit, and
//! whatever it accepts must survive a round trip through JSON. The uid checks run on every join it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stoa_proto::signal::{ClientFrame, MAX_FRAME_BYTES, Request, ServerFrame, parse_client_frame};
use stoa_proto::validate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // A small limit too, so the size check is exercised at fuzzer-sized inputs.
    for limit in [MAX_FRAME_BYTES, 64] {
        match parse_client_frame(text, limit) {
            Ok(frame) => {
                assert!(text.len() <= limit);
                let again = serde_json::to_string(&frame).expect("accepted frames serialize");
                let reparsed: ClientFrame = serde_json::from_str(&again).expect("and parse back");
                assert_eq!(reparsed.id, frame.id);
                if let Request::Join(join) = &frame.request {
                    let _ = validate::uid_value(&join.uid);
                    let _ = validate::channel_name(&join.channel);
                    let _ = validate::token(join.token.as_deref());
                }
            }
            Err((_, error)) => assert_eq!(error.code, stoa_proto::ErrorCode::InvalidParams),
        }
    }
    // The client side parses server frames with the same care.
    let _ = serde_json::from_str::<ServerFrame>(text);
});
