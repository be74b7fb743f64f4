//! `stoa serve` serves the Web SDK bundles at /sdk/ and the demo page at / (with the development app's id filled
//! in), embedded in the binary; the status page lives at /status.

mod common;

use common::*;

async fn get(url: &str) -> (u16, String, String) {
    let response = reqwest::get(url).await.expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, content_type, response.text().await.unwrap())
}

fn committed(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[tokio::test]
async fn the_sdk_bundles_are_served_with_their_content_types() {
    let server = Server::start(&[]);
    let base = server.url();
    for (path, file, content_type) in [
        (
            "/sdk/stoa-rtc.js",
            "web/dist/stoa-rtc.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/sdk/stoa-rtc.mjs",
            "web/dist/stoa-rtc.mjs",
            "text/javascript; charset=utf-8",
        ),
        (
            "/sdk/stoa-rtc.d.ts",
            "web/dist/stoa-rtc.d.ts",
            "application/typescript; charset=utf-8",
        ),
    ] {
        let (status, got_type, body) = get(&format!("{base}{path}")).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(got_type, content_type, "{path}");
        assert_eq!(body, committed(file), "{path} is the committed bundle");
    }
    let (_, _, umd) = get(&format!("{base}/sdk/stoa-rtc.js")).await;
    assert!(
        umd.contains("globalThis.AgoraRTC") || umd.contains(".AgoraRTC="),
        "the UMD bundle defines AgoraRTC"
    );
    let (_, _, esm) = get(&format!("{base}/sdk/stoa-rtc.mjs")).await;
    assert!(esm.contains(" as default"), "the ES module has a default export");
    server.stop();
}

#[tokio::test]
async fn the_demo_is_at_the_root_with_the_development_app_filled_in() {
    let server = Server::start(&[]);
    let base = server.url();
    let dev_app = server.app_ids[0].clone();
    let (status, content_type, page) = get(&format!("{base}/")).await;
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    assert!(!page.contains("__STOA_DEV_APP_ID__"));
    assert!(
        page.contains(&format!("value=\"{dev_app}\"")),
        "the app id field holds {dev_app}"
    );
    assert!(page.contains("/sdk/stoa-rtc.js"));
    let (_, _, same) = get(&format!("{base}/demo/index.html")).await;
    assert_eq!(same, page);
    for (path, file, content_type) in [
        ("/demo/demo.js", "web/demo/demo.js", "text/javascript; charset=utf-8"),
        ("/demo/demo.css", "web/demo/demo.css", "text/css; charset=utf-8"),
    ] {
        let (status, got_type, body) = get(&format!("{base}{path}")).await;
        assert_eq!((status, got_type.as_str()), (200, content_type), "{path}");
        assert_eq!(body, committed(file), "{path}");
    }
    let (status, _, _) = get(&format!("{base}/demo/secrets.txt")).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&format!("{base}/demo/..%2F..%2FCargo.toml")).await;
    assert_eq!(status, 404);
    let (status, _, statuspage) = get(&format!("{base}/status")).await;
    assert_eq!(status, 200);
    assert!(statuspage.contains("Stoa is running") && statuspage.contains(&dev_app));
    server.stop();
}

#[tokio::test]
async fn with_configured_apps_the_demo_app_id_is_left_empty() {
    let server = Server::start(&["--app", APP]);
    let (status, _, page) = get(&format!("{}/", server.url())).await;
    assert_eq!(status, 200);
    assert!(!page.contains("__STOA_DEV_APP_ID__"));
    assert!(!page.contains(APP), "a configured app's id is not advertised");
    server.stop();
}

#[tokio::test]
async fn discovery_and_bundles_answer_pages_of_other_origins() {
    let server = Server::start(&[]);
    let base = server.url();
    let http = reqwest::Client::new();
    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{base}/api/v1/gateway"))
        .header("origin", "http://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    let allowed = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(allowed(&preflight, "access-control-allow-origin"), "*");
    assert!(allowed(&preflight, "access-control-allow-methods").contains("POST"));
    assert!(allowed(&preflight, "access-control-allow-headers").contains("content-type"));
    let body = format!(
        r#"{{"app_id":"{}","channel":"lobby","token":null,"uid":null}}"#,
        server.app_ids[0]
    );
    let answer = http
        .post(format!("{base}/api/v1/gateway"))
        .header("origin", "http://app.example")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(allowed(&answer, "access-control-allow-origin"), "*");
    let refused = http
        .post(format!("{base}/api/v1/gateway"))
        .body(r#"{"app_id":"nope","channel":"lobby"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(
        allowed(&refused, "access-control-allow-origin"),
        "*",
        "refusals are readable too"
    );
    let module = http.get(format!("{base}/sdk/stoa-rtc.mjs")).send().await.unwrap();
    assert_eq!(allowed(&module, "access-control-allow-origin"), "*");
    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(
        allowed(&page, "access-control-allow-origin"),
        "",
        "the demo page is not shared"
    );
    server.stop();
}
