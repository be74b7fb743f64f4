//! Does an RTP payload start a keyframe? Used to start a new video subscription on a picture the subscriber can
//! decode. Pure byte inspection, no allocation, never panics on short or hostile input.

use str0m::format::Codec;

/// True when `payload` (RTP payload, no header) is the first packet of a keyframe, or for H.264 a packet carrying
/// the SPS/IDR that opens one.
pub(crate) fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => vp8(payload),
        Codec::Vp9 => vp9(payload),
        Codec::H264 => h264(payload),
        _ => false,
    }
}

/// RFC 7741: payload descriptor, then the VP8 payload header whose bit 0 (P) is 0 for keyframes.
fn vp8(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    let extended = b0 & 0x80 != 0;
    let start = b0 & 0x10 != 0;
    let partition = b0 & 0x07;
    if !start || partition != 0 {
        return false;
    }
    let mut i = 1;
    if extended {
        let Some(&x) = p.get(1) else { return false };
        i = 2;
        if x & 0x80 != 0 {
            // PictureID: 7 or 15 bits (M flag).
            let Some(&pid) = p.get(i) else { return false };
            i += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            i += 1; // TID / KEYIDX
        }
    }
    p.get(i).is_some_and(|h| h & 0x01 == 0)
}

/// draft-ietf-payload-vp9: descriptor byte `I|P|L|F|B|E|V|Z`; a keyframe starts with B=1 and P=0.
fn vp9(p: &[u8]) -> bool {
    p.first().is_some_and(|b| b & 0x40 == 0 && b & 0x08 != 0)
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;

/// RFC 6184: a single NAL unit, a STAP-A aggregate, or the first FU-A fragment of an IDR or SPS.
fn h264(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    let opens = |t: u8| t == NAL_IDR || t == NAL_SPS;
    match b0 & 0x1f {
        24 => {
            // STAP-A: 16-bit size, NAL unit, repeated.
            let mut i = 1;
            while i + 2 <= p.len() {
                let size = u16::from_be_bytes([p[i], p[i + 1]]) as usize;
                i += 2;
                if size == 0 || i + size > p.len() {
                    return false;
                }
                if opens(p[i] & 0x1f) {
                    return true;
                }
                i += size;
            }
            false
        }
        28 => p.get(1).is_some_and(|fu| fu & 0x80 != 0 && opens(fu & 0x1f)),
        t => opens(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_descriptors() {
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x00]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x10, 0x01]));
        assert!(
            !starts_keyframe(Codec::Vp8, &[0x00, 0x00]),
            "not the start of a partition"
        );
        assert!(!starts_keyframe(Codec::Vp8, &[0x11, 0x00]), "partition 1");
        // Extended, 7-bit and 15-bit picture ids, TL0PICIDX and TID.
        assert!(starts_keyframe(Codec::Vp8, &[0x90, 0x80, 0x42, 0x00]));
        assert!(starts_keyframe(Codec::Vp8, &[0x90, 0x80, 0x80, 0x42, 0x00]));
        assert!(starts_keyframe(Codec::Vp8, &[0x90, 0xe0, 0x80, 0x42, 0x07, 0x20, 0x00]));
        assert!(!starts_keyframe(
            Codec::Vp8,
            &[0x90, 0xe0, 0x80, 0x42, 0x07, 0x20, 0x01]
        ));
        // Truncated.
        for p in [&[][..], &[0x90], &[0x90, 0x80], &[0x90, 0x80, 0x80, 0x42]] {
            assert!(!starts_keyframe(Codec::Vp8, p));
        }
    }

    #[test]
    fn vp9_descriptors() {
        assert!(starts_keyframe(Codec::Vp9, &[0x88]));
        assert!(starts_keyframe(Codec::Vp9, &[0xa8, 0x12, 0x34]));
        assert!(!starts_keyframe(Codec::Vp9, &[0xc8]), "inter-predicted");
        assert!(!starts_keyframe(Codec::Vp9, &[0x80]), "not the beginning of a frame");
        assert!(!starts_keyframe(Codec::Vp9, &[]));
    }

    #[test]
    fn h264_nal_units() {
        assert!(starts_keyframe(Codec::H264, &[0x65, 1, 2]));
        assert!(starts_keyframe(Codec::H264, &[0x67, 1, 2]));
        assert!(!starts_keyframe(Codec::H264, &[0x41, 1, 2]));
        // STAP-A with SPS + PPS.
        assert!(starts_keyframe(Codec::H264, &[0x78, 0, 2, 0x67, 9, 0, 2, 0x68, 9]));
        assert!(!starts_keyframe(Codec::H264, &[0x78, 0, 2, 0x41, 9]));
        assert!(
            !starts_keyframe(Codec::H264, &[0x78, 0, 9, 0x67]),
            "size beyond the payload"
        );
        // FU-A: start of IDR, middle of IDR.
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85, 1]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x05, 1]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c]));
        assert!(!starts_keyframe(Codec::Opus, &[0x65]));
    }
}
