//! Which session does a datagram belong to? Helpers for the router's demultiplexing.

/// The local (router side) ICE ufrag of a STUN message: the part of USERNAME before the colon. For a binding request
/// from a client, USERNAME is `<router ufrag>:<client ufrag>` (RFC 8445 7.2.2). `None` for anything else.
pub(crate) fn stun_local_ufrag(buf: &[u8]) -> Option<&str> {
    const HEADER: usize = 20;
    const USERNAME: u16 = 0x0006;
    if buf.len() < HEADER || buf[0] >= 2 || buf[4..8] != [0x21, 0x12, 0xa4, 0x42] {
        return None;
    }
    let declared = u16::from_be_bytes([buf[2], buf[3]]) as usize;
    let end = buf.len().min(HEADER + declared);
    let mut i = HEADER;
    while i + 4 <= end {
        let typ = u16::from_be_bytes([buf[i], buf[i + 1]]);
        let len = u16::from_be_bytes([buf[i + 2], buf[i + 3]]) as usize;
        let value = i + 4;
        if value + len > end {
            return None;
        }
        if typ == USERNAME {
            let name = std::str::from_utf8(&buf[value..value + len]).ok()?;
            return name.split(':').next();
        }
        i = value + len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (typ, value) in attrs {
            body.extend_from_slice(&typ.to_be_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut msg = vec![0x00, 0x01];
        msg.extend_from_slice(&(body.len() as u16).to_be_bytes());
        msg.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        msg.extend_from_slice(&[7; 12]);
        msg.extend_from_slice(&body);
        msg
    }

    #[test]
    fn finds_the_local_ufrag() {
        let msg = stun(&[(0x0024, &[0, 0, 0, 1]), (0x0006, b"abcd:efgh")]);
        assert_eq!(stun_local_ufrag(&msg), Some("abcd"));
        let odd = stun(&[(0x0006, b"abc:de")]);
        assert_eq!(stun_local_ufrag(&odd), Some("abc"));
    }

    #[test]
    fn refuses_non_stun_and_truncation() {
        assert_eq!(stun_local_ufrag(&[]), None);
        assert_eq!(stun_local_ufrag(&[0x80; 40]), None);
        let mut msg = stun(&[(0x0006, b"abcd:efgh")]);
        msg.truncate(msg.len() - 4);
        assert_eq!(stun_local_ufrag(&msg), None);
        let no_user = stun(&[(0x0024, &[0, 0, 0, 1])]);
        assert_eq!(stun_local_ufrag(&no_user), None);
        let mut bad_cookie = stun(&[(0x0006, b"abcd:efgh")]);
        bad_cookie[4] = 0;
        assert_eq!(stun_local_ufrag(&bad_cookie), None);
    }
}
