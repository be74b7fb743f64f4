//! A light pre-scan of a publisher offer, before str0m applies it: which m-lines exist, their kind, mid and whether
//! the client sends on them. It lets the router refuse an offer (too many tracks) without touching the session, and
//! enumerate the mids str0m then confirms.

use crate::error::SfuError;
use crate::types::MediaKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScannedMedia {
    /// `None` for application (data channel) and unknown media types.
    pub kind: Option<MediaKind>,
    pub mid: Option<String>,
    /// The offerer sends on it: direction sendonly or sendrecv (explicit or inherited) and a non-zero port.
    pub sending: bool,
    /// The payload types (formats) of the m-line, in the offerer's order of preference.
    pub formats: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

fn direction(line: &str) -> Option<Dir> {
    match line {
        "a=sendrecv" => Some(Dir::SendRecv),
        "a=sendonly" => Some(Dir::SendOnly),
        "a=recvonly" => Some(Dir::RecvOnly),
        "a=inactive" => Some(Dir::Inactive),
        _ => None,
    }
}

struct Section {
    kind: Option<MediaKind>,
    formats: Vec<String>,
    port_zero: bool,
    mid: Option<String>,
    dir: Option<Dir>,
}

/// Scans the m-lines of `sdp`. Fails when there is none or more than `max_mlines`.
pub(crate) fn scan(sdp: &str, max_mlines: usize) -> Result<Vec<ScannedMedia>, SfuError> {
    let mut session_dir = Dir::SendRecv;
    let mut sections: Vec<Section> = Vec::new();
    for line in sdp.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("m=") {
            if sections.len() == max_mlines {
                return Err(SfuError::InvalidSdp(format!("more than {max_mlines} m-lines")));
            }
            let mut fields = rest.split(' ');
            let kind = match fields.next() {
                Some("audio") => Some(MediaKind::Audio),
                Some("video") => Some(MediaKind::Video),
                _ => None,
            };
            let port_zero = fields.next().is_some_and(|p| p == "0");
            let formats = fields.skip(1).map(str::to_string).collect();
            sections.push(Section {
                kind,
                formats,
                port_zero,
                mid: None,
                dir: None,
            });
        } else if let Some(dir) = direction(line) {
            match sections.last_mut() {
                Some(s) => s.dir = Some(dir),
                None => session_dir = dir,
            }
        } else if let Some(mid) = line.strip_prefix("a=mid:")
            && let Some(s) = sections.last_mut()
        {
            s.mid = Some(mid.trim().to_string());
        }
    }
    if sections.is_empty() {
        return Err(SfuError::InvalidSdp("no m-lines".into()));
    }
    Ok(sections
        .into_iter()
        .map(|s| ScannedMedia {
            kind: s.kind,
            sending: !s.port_zero && matches!(s.dir.unwrap_or(session_dir), Dir::SendRecv | Dir::SendOnly),
            mid: s.mid,
            formats: s.formats,
        })
        .collect())
}

/// Reorders the payload types of each answered m-line to follow the offer's order for the same mid. str0m lists
/// them in its own codec order, but the offerer sends with the first codec of the answer it supports, so this is
/// what makes a browser publish with the codec it put first (Agora's `codec` setting) rather than our favourite.
pub(crate) fn follow_offer_order(answer: &str, offer: &[ScannedMedia]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut current_mline: Option<usize> = None;
    for line in answer.split("\r\n") {
        if line.starts_with("m=") {
            current_mline = Some(out.len());
        } else if let Some(mid) = line.strip_prefix("a=mid:")
            && let Some(at) = current_mline.take()
            && let Some(offered) = offer.iter().find(|m| m.mid.as_deref() == Some(mid.trim()))
        {
            let mline = &out[at];
            let mut fields: Vec<&str> = mline.split(' ').collect();
            if fields.len() > 3 {
                let rank = |pt: &str| offered.formats.iter().position(|f| f == pt).unwrap_or(usize::MAX);
                fields[3..].sort_by_key(|pt| rank(pt));
                out[at] = fields.join(" ");
            }
        }
        out.push(line.to_string());
    }
    out.join("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_directions_and_mids() {
        let sdp = "v=0\r\na=sendonly\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=recvonly\r\n\
                   m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:3\r\n";
        let media = scan(sdp, 16).unwrap();
        assert_eq!(media.len(), 4);
        assert_eq!(media[0].kind, Some(MediaKind::Audio));
        assert!(media[0].sending, "inherits the session-level sendonly");
        assert_eq!(media[0].mid.as_deref(), Some("0"));
        assert!(!media[1].sending);
        assert!(!media[2].sending, "port 0");
        assert_eq!(media[3].kind, None);
    }

    #[test]
    fn answer_formats_follow_the_offer() {
        let offer = scan(
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=mid:a\r\nm=video 9 UDP/TLS/RTP/SAVPF 102 96 98\r\na=mid:v\r\n",
            16,
        )
        .unwrap();
        assert_eq!(offer[1].formats, ["102", "96", "98"]);
        let answer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\n\
                      m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 102\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\n";
        assert_eq!(
            follow_offer_order(answer, &offer),
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\n\
             m=video 9 UDP/TLS/RTP/SAVPF 102 96 98 97\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\n"
        );
    }

    #[test]
    fn limits() {
        assert!(matches!(scan("v=0\r\n", 16), Err(SfuError::InvalidSdp(_))));
        let many = "m=audio 9 x 111\r\n".repeat(3);
        assert!(matches!(scan(&many, 2), Err(SfuError::InvalidSdp(_))));
    }
}
