//! AccessToken2 parsing: arbitrary input must never panic, and whatever parses must survive a rebuild.
//!
//! The first input byte picks how the rest becomes a token, so the fuzzer also gets past the outer layers:
//! 0 = the bytes as text, 1 = "007" + base64(bytes) (fuzzes the zlib layer), 2 = "007" + base64(zlib(bytes)) (the
//! fuzzer controls the token content), other = the same with a 32-byte signature and a valid app id in front (so
//! issue_ts, expire, salt and the services are fuzzed, and tokens are rebuildable from the start).
#![no_main]

use std::io::Write;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use stoa_proto::token::{AccessToken2, Service, check_rtc_token};

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = match mode {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => format!("007{}", B64.encode(rest)),
        _ => {
            let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            if mode > 2 {
                zlib.write_all(&[32, 0]).unwrap();
                zlib.write_all(&[0; 32]).unwrap();
                zlib.write_all(&[32, 0]).unwrap();
                zlib.write_all(APP_ID.as_bytes()).unwrap();
            }
            zlib.write_all(rest).unwrap();
            format!("007{}", B64.encode(zlib.finish().unwrap()))
        }
    };

    let now = u64::from(data.len() as u32) * 1_000_003;
    let _ = check_rtc_token(&token, APP_ID, CERT, "channel", "1", now);
    let Ok(parsed) = AccessToken2::parse(&token) else {
        return;
    };
    let _ = parsed.verify_signature(CERT);
    if let Some(rtc) = parsed.rtc_services().next() {
        let _ = check_rtc_token(&token, &parsed.app_id, CERT, &rtc.channel_name, &rtc.uid, now);
        let _ = check_rtc_token(
            &token,
            APP_ID,
            CERT,
            &rtc.channel_name,
            &rtc.uid,
            u64::from(parsed.issue_ts),
        );
    }

    // Rebuild (re-signed with CERT, re-compressed by the zlib port) and parse again: same fields, services in the
    // packing order (stable by type), valid signature.
    let Ok(rebuilt) = parsed.build(CERT) else {
        return;
    };
    let again = AccessToken2::parse(&rebuilt).expect("a built token parses");
    assert!(again.verify_signature(CERT), "a built token verifies");
    assert_eq!(
        (&again.app_id, again.issue_ts, again.expire, again.salt),
        (&parsed.app_id, parsed.issue_ts, parsed.expire, parsed.salt)
    );
    let mut sorted: Vec<&Service> = parsed.services.iter().collect();
    sorted.sort_by_key(|service| service.kind());
    assert_eq!(again.services.iter().collect::<Vec<_>>(), sorted);
    assert_eq!(
        again.build(CERT).as_deref(),
        Ok(rebuilt.as_str()),
        "rebuilding is deterministic"
    );
});
