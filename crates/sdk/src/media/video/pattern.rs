//! Test-pattern tools for video: frames that carry a frame counter robust enough to survive lossy compression, the
//! reader for it, and a luma PSNR.
//!
//! A [`CounterPattern`] frame has a band at the top with the 32 bits of the counter as big black and white blocks
//! (most significant bit first), each block followed by its complement below it, so that reading a bit is a
//! comparison of two neighbouring blocks and does not depend on the encoder's brightness. At 640×360 the band is
//! 32 columns × 2 rows of 20×20 blocks (40 lines); at 1280×720 the blocks are 40×40. Frames narrower than 512
//! pixels fold the bits into more rows (16 columns at 320 pixels, ...); the band never takes more than a third of
//! the height, and below about 96×64 the blocks get too small to survive much compression.
//!
//! Below the band a diagonal gradient and a coarse texture slide sideways by 2 pixels a frame (motion the encoder
//! can predict), with light per-frame noise on top (which it cannot, like camera noise), so that a constant-bitrate
//! encoder spends its budget much as it would on camera video.

use stoa_proto::RtcError;

use super::{VideoFrame, check_dimensions};

/// Luma of the black and white blocks (BT.601 studio range).
const BLACK: u8 = 16;
const WHITE: u8 = 235;
/// Smallest difference between a block and its complement for a bit to count as read.
const MIN_CONTRAST: f64 = 60.0;
/// Per-frame noise of the background: uniform over this many luma levels.
const NOISE_LEVELS: u32 = 7;

/// Where the counter blocks are for a frame size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    /// Bits per row.
    cols: u32,
    /// Rows of data blocks (each followed by a row of complements).
    data_rows: u32,
    block_w: u32,
    block_h: u32,
}

impl Layout {
    fn for_size(width: u32, height: u32) -> Layout {
        let band_limit = height / 3;
        let mut best: Option<Layout> = None;
        for cols in [32, 16, 8, 4, 2, 1] {
            let data_rows = 32 / cols;
            let block_w = width / cols;
            let block_h = block_w.min(band_limit / (2 * data_rows));
            let layout = Layout {
                cols,
                data_rows,
                block_w,
                block_h,
            };
            // The widest layout with blocks of 16×16 or more; failing that, the one with the biggest blocks.
            if layout.size() >= 16 {
                return layout;
            }
            if best.is_none_or(|b| layout.size() > b.size()) {
                best = Some(layout);
            }
        }
        best.unwrap_or(Layout {
            cols: 32,
            data_rows: 1,
            block_w: 0,
            block_h: 0,
        })
    }

    fn size(&self) -> u32 {
        self.block_w.min(self.block_h)
    }

    fn band_height(&self) -> u32 {
        2 * self.data_rows * self.block_h
    }

    /// Top-left corner of bit `i`'s data block (`complement: false`) or of its complement.
    fn block_origin(&self, bit: u32, complement: bool) -> (u32, u32) {
        let col = bit % self.cols;
        let row = 2 * (bit / self.cols) + u32::from(complement);
        (col * self.block_w, row * self.block_h)
    }

    /// Which block covers a pixel of the band: `(bit, complement)`.
    fn block_at(&self, x: u32, y: u32) -> Option<(u32, bool)> {
        if self.block_w == 0 || self.block_h == 0 {
            return None;
        }
        let col = x / self.block_w;
        let row = y / self.block_h;
        if col >= self.cols || row >= 2 * self.data_rows {
            return None;
        }
        Some(((row / 2) * self.cols + col, row % 2 == 1))
    }
}

/// A source of test frames whose content encodes a frame counter; see the [module documentation](self).
#[derive(Clone, Debug)]
pub struct CounterPattern {
    width: u32,
    height: u32,
    next: u32,
}

impl CounterPattern {
    /// Frames of `width`×`height`, counting from 0. Dimensions a [`VideoFrame`] cannot have are `INVALID_PARAMS`.
    pub fn new(width: u32, height: u32) -> Result<Self, RtcError> {
        check_dimensions(width, height)?;
        Ok(CounterPattern { width, height, next: 0 })
    }

    /// Starts counting at `counter` instead of 0.
    pub fn starting_at(mut self, counter: u32) -> Self {
        self.next = counter;
        self
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The counter the next [`CounterPattern::next_frame`] carries.
    pub fn next_counter(&self) -> u32 {
        self.next
    }

    /// Width and height of one counter block at this size.
    pub fn block_size(&self) -> (u32, u32) {
        let layout = Layout::for_size(self.width, self.height);
        (layout.block_w, layout.block_h)
    }

    /// The frame for the next counter value; the counter then advances (wrapping after `u32::MAX`).
    pub fn next_frame(&mut self) -> VideoFrame {
        let frame = self.frame(self.next);
        self.next = self.next.wrapping_add(1);
        frame
    }

    /// The frame carrying `counter` (the same counter always gives the same frame).
    pub fn frame(&self, counter: u32) -> VideoFrame {
        let (w, h) = (self.width, self.height);
        let layout = Layout::for_size(w, h);
        let band = layout.band_height();
        let luma = w as usize * h as usize;
        let chroma = luma / 4;
        let mut data = vec![0u8; luma + 2 * chroma];
        let (y_plane, uv) = data.split_at_mut(luma);
        let (u_plane, v_plane) = uv.split_at_mut(chroma);
        for y in 0..h {
            let row = &mut y_plane[(y * w) as usize..((y + 1) * w) as usize];
            for (x, px) in (0..w).zip(row.iter_mut()) {
                *px = match (y < band).then(|| layout.block_at(x, y)).flatten() {
                    Some((bit, complement)) => {
                        let one = (counter >> (31 - bit)) & 1 == 1;
                        if one != complement { WHITE } else { BLACK }
                    }
                    None => background_luma(x, y, counter),
                };
            }
        }
        let (cw, ch) = (w / 2, h / 2);
        for cy in 0..ch {
            for cx in 0..cw {
                let i = (cy * cw + cx) as usize;
                let (x, y) = (cx * 2, cy * 2);
                if y < band && layout.block_at(x, y).is_some() {
                    u_plane[i] = 128;
                    v_plane[i] = 128;
                } else {
                    let sx = x.wrapping_sub(counter.wrapping_mul(2));
                    u_plane[i] = (96 + triangle(sx, 64)) as u8;
                    v_plane[i] = (104 + triangle(sx.wrapping_add(y), 48)) as u8;
                }
            }
        }
        VideoFrame::new(w, h, data)
    }
}

/// 0..=amplitude..=0 over a period of `2 * amplitude`.
fn triangle(t: u32, amplitude: u32) -> u32 {
    let t = t % (2 * amplitude);
    if t < amplitude { t } else { 2 * amplitude - t }
}

fn hash(mut v: u32) -> u32 {
    v ^= v >> 16;
    v = v.wrapping_mul(0x7feb_352d);
    v ^= v >> 15;
    v = v.wrapping_mul(0x846c_a68b);
    v ^ (v >> 16)
}

fn background_luma(x: u32, y: u32, counter: u32) -> u8 {
    // Everything slides right by 2 pixels a frame (motion the encoder can predict): a diagonal gradient and a
    // coarse texture of 8×8 cells, ...
    let sx = x.wrapping_sub(counter.wrapping_mul(2));
    let gradient = 48 + triangle(sx.wrapping_add(y / 2), 160) as i32;
    let texture = (hash((sx / 8).wrapping_mul(0x9e37) ^ (y / 8).wrapping_mul(0x85eb_ca6b)) & 0x3f) as i32 - 32;
    // ... with light noise that changes every frame on top (which it cannot predict, like camera noise).
    let noise =
        (hash(x ^ (y << 12) ^ counter.wrapping_mul(0x27d4_eb2f)) % NOISE_LEVELS) as i32 - NOISE_LEVELS as i32 / 2;
    (gradient + texture + noise).clamp(i32::from(BLACK), i32::from(WHITE)) as u8
}

/// Reads the counter of a [`CounterPattern`] frame (after any codec): `None` when the frame is malformed or a block
/// cannot be told from its complement (not a pattern frame, or damaged beyond reading).
pub fn read_counter(frame: &VideoFrame) -> Option<u32> {
    let (w, h) = (frame.width, frame.height);
    let y_plane = frame.y_plane();
    if w == 0 || h == 0 || y_plane.len() != w as usize * h as usize {
        return None;
    }
    let layout = Layout::for_size(w, h);
    if layout.size() < 2 {
        return None;
    }
    let margin = layout.size() / 5;
    let mean = |(x0, y0): (u32, u32)| -> f64 {
        let (x1, y1) = (x0 + layout.block_w - margin, y0 + layout.block_h - margin);
        let mut sum = 0u64;
        let mut n = 0u64;
        for y in y0 + margin..y1 {
            let row = y as usize * w as usize;
            for &px in &y_plane[row + (x0 + margin) as usize..row + x1 as usize] {
                sum += u64::from(px);
                n += 1;
            }
        }
        sum as f64 / n.max(1) as f64
    };
    let mut counter = 0u32;
    for bit in 0..32 {
        let contrast = mean(layout.block_origin(bit, false)) - mean(layout.block_origin(bit, true));
        if contrast.abs() < MIN_CONTRAST {
            return None;
        }
        if contrast > 0.0 {
            counter |= 1 << (31 - bit);
        }
    }
    Some(counter)
}

/// PSNR of the Y planes of two frames of the same size, in dB (`f64::INFINITY` when identical; `None` when the
/// sizes differ or a frame is malformed).
pub fn psnr_y(a: &VideoFrame, b: &VideoFrame) -> Option<f64> {
    let (ya, yb) = (a.y_plane(), b.y_plane());
    let n = a.width as usize * a.height as usize;
    if (a.width, a.height) != (b.width, b.height) || n == 0 || ya.len() != n || yb.len() != n {
        return None;
    }
    let sse: u64 = ya
        .iter()
        .zip(yb)
        .map(|(&p, &q)| {
            let d = i64::from(p) - i64::from(q);
            (d * d) as u64
        })
        .sum();
    if sse == 0 {
        return Some(f64::INFINITY);
    }
    let mse = sse as f64 / n as f64;
    Some(10.0 * (255.0 * 255.0 / mse).log10())
}
