//! Temporal stability, measured: plain (no filter) against `temporal-smoothing`, on two
//! 60-frame stereo videos made from the motorcycle pair at half size (370x250), each frame
//! with its own sensor noise (sigma 5 levels of 255 on each view):
//! - static: the pair as it is; flicker = mean absolute frame-to-frame change of the
//!   refocused output (levels of 255), with the noisy frame as `sterefo` renders it, and
//!   rendered from the noise-free left view (so only the disparity's changes show: what the
//!   filter is for), and of the disparity itself (pixels);
//! - moving: a textured card 30 px of disparity nearer than the bike sliding 3 px per frame
//!   across; flicker at static pixels within 16 px of its path (where it never is), and
//!   ghosting = the mean absolute difference from the plain output in the band the card
//!   left in the last 3 frames (a filter that trails the card shows it there).
//!
//! ```text
//! cargo run --release --example flicker [MODEL.onnx]
//! ```
//! The disparity network, the filter and the renderer run as `sterefo` runs them (the
//! depth module, `temporal::TemporalFilter`, the GPU renderer), frame by frame.

mod common;
#[path = "../tests/common/png_io.rs"]
mod png_io;

use anyhow::Result;
use gststerefo::depth::{ChannelOrder, DepthEstimator, DepthOptions, StereoImage};
use gststerefo::dof::Params;
use gststerefo::dof::gpu::Renderer;
use gststerefo::gpu::GpuContext;
use gststerefo::properties::DEFAULT_TEMPORAL_GATE;
use gststerefo::temporal::TemporalFilter;

const FRAMES: usize = 60;
const SIGMA: f32 = 5.0;
const CARD: (usize, usize, usize) = (60, 40, 30); // width, height, disparity offset

/// A deterministic Gaussian-ish noise value (sum of uniforms), sigma 1.
fn noise(i: usize, t: usize, view: usize) -> f32 {
    let mut h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ ((t * 2 + view) as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    let mut sum = 0.0;
    for _ in 0..4 {
        h ^= h >> 29;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        sum += (h >> 40) as f32 / (1u64 << 24) as f32;
    }
    (sum - 2.0) * 1.732
}

fn half(image: &png_io::Rgba) -> (Vec<u8>, usize, usize) {
    let (w, h) = (image.width / 2, image.height / 2);
    let mut out = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            for c in 0..4 {
                let p = |dx: usize, dy: usize| {
                    u32::from(image.data[((2 * y + dy) * image.width + 2 * x + dx) * 4 + c])
                };
                out[(y * w + x) * 4 + c] = ((p(0, 0) + p(1, 0) + p(0, 1) + p(1, 1) + 2) / 4) as u8;
            }
        }
    }
    (out, w, h)
}

struct Video {
    left: Vec<u8>,
    right: Vec<u8>,
    width: usize,
    height: usize,
    moving: bool,
}

impl Video {
    /// The card's left edge in the left view at frame `t`, and its top.
    fn card(&self, t: usize) -> (usize, usize) {
        (40 + 3 * t, self.height / 2 - CARD.1 / 2)
    }

    /// The left view at frame `t` without noise.
    fn clean_left(&self, t: usize) -> Vec<u8> {
        self.draw(t)[0].clone()
    }

    /// Both views at frame `t` with the card, without noise.
    fn draw(&self, t: usize) -> [Vec<u8>; 2] {
        let w = self.width;
        let mut views = [self.left.clone(), self.right.clone()];
        if self.moving {
            let (cx, cy) = self.card(t);
            for (view, image) in views.iter_mut().enumerate() {
                // the right camera sees the card shifted left by its disparity (the bike's
                // plus CARD.2)
                let shift = if view == 1 { 25 + CARD.2 } else { 0 };
                for y in cy..cy + CARD.1 {
                    for x in 0..CARD.0 {
                        let px = (cx + x).wrapping_sub(shift);
                        if px < w {
                            let value = if (x / 6 + y / 6) % 2 == 0 { 230 } else { 40 };
                            let p = (y * w + px) * 4;
                            image[p..p + 3].copy_from_slice(&[value, (x * 4) as u8, 255 - value]);
                        }
                    }
                }
            }
        }
        views
    }

    fn frame(&self, t: usize) -> (Vec<u8>, Vec<u8>) {
        let mut views = self.draw(t);
        for (view, image) in views.iter_mut().enumerate() {
            for (i, v) in image.iter_mut().enumerate() {
                if i % 4 != 3 {
                    *v = (f32::from(*v) + SIGMA * noise(i, t, view))
                        .round()
                        .clamp(0.0, 255.0) as u8;
                }
            }
        }
        let [l, r] = views;
        (l, r)
    }
}

fn mean_change(a: &[u8], b: &[u8], mask: &[bool]) -> f64 {
    let (mut sum, mut n) = (0u64, 0u64);
    for (p, &m) in mask.iter().enumerate() {
        if m {
            for c in 0..3 {
                sum += u64::from(a[p * 4 + c].abs_diff(b[p * 4 + c]));
                n += 1;
            }
        }
    }
    sum as f64 / n.max(1) as f64
}

fn main() -> Result<()> {
    let (left, w, h) = half(&png_io::read_rgba("data/motorcycle/left.png")?);
    let (right, _, _) = half(&png_io::read_rgba("data/motorcycle/right.png")?);
    let model = common::model_from_args();
    let mut depth = DepthEstimator::new(
        &model,
        &DepthOptions {
            cpu_threads: 2,
            ..DepthOptions::default()
        },
    )?;
    let mut renderer = Renderer::new(GpuContext::shared()?)?;
    let params = Params {
        aperture: 0.25,
        focus_disparity: 12.0,
        max_disparity: 80.0,
        ..Params::default()
    };
    println!(
        "| video | temporal-smoothing | output flicker at static pixels (levels) | of it from the disparity (levels) | disparity flicker (px) | ghosting behind the moving card (levels) | filter ms/frame | frame ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for moving in [false, true] {
        let video = Video {
            left: left.clone(),
            right: right.clone(),
            width: w,
            height: h,
            moving,
        };
        // static pixels: all of the static video; near the moving card's path but never under it
        let (_, top) = video.card(0);
        let near_path: Vec<bool> = (0..w * h)
            .map(|p| {
                let (x, y) = (p % w, p / w);
                let (x0, x1) = (40usize, 40 + 3 * FRAMES + CARD.0);
                let band = (top.saturating_sub(16)..top).contains(&y)
                    || (top + CARD.1..top + CARD.1 + 16).contains(&y);
                !moving || (band && (x0..x1).contains(&x))
            })
            .collect();
        let mut plain_frames = Vec::new();
        for smoothing in [0.0f32, 0.5, 0.8] {
            let mut filter = TemporalFilter::default();
            let (mut flicker, mut ghost, mut filter_ms, mut frame_ms) = (0.0, 0.0, 0.0, 0.0);
            let (mut clean_flicker, mut disparity_flicker) = (0.0, 0.0);
            let mut previous: Option<(Vec<u8>, Vec<u8>, Vec<f32>)> = None;
            let mut disparity = Vec::new();
            for t in 0..FRAMES {
                let started = std::time::Instant::now();
                let (l, r) = video.frame(t);
                let image = |data| StereoImage::packed(data, w, h, ChannelOrder::Rgba);
                depth.estimate(&image(&l), &image(&r), &mut disparity)?;
                let filtering = std::time::Instant::now();
                filter.apply(&mut disparity, w, h, smoothing, DEFAULT_TEMPORAL_GATE);
                filter_ms += filtering.elapsed().as_secs_f64() * 1000.0;
                let mut out = vec![0u8; w * h * 4];
                renderer.render(&l, &disparity, w as u32, h as u32, &params, &mut out)?;
                frame_ms += started.elapsed().as_secs_f64() * 1000.0;
                // the same disparity on the noise-free frame (the card drawn, no noise)
                let clean_left = if moving {
                    video.clean_left(t)
                } else {
                    left.clone()
                };
                let mut clean = vec![0u8; w * h * 4];
                renderer.render(
                    &clean_left,
                    &disparity,
                    w as u32,
                    h as u32,
                    &params,
                    &mut clean,
                )?;
                if let Some((before, clean_before, disparity_before)) = &previous {
                    flicker += mean_change(&out, before, &near_path);
                    clean_flicker += mean_change(&clean, clean_before, &near_path);
                    let (mut sum, mut n) = (0.0, 0.0);
                    for (p, &m) in near_path.iter().enumerate() {
                        if m {
                            sum += f64::from((disparity[p] - disparity_before[p]).abs());
                            n += 1.0;
                        }
                    }
                    disparity_flicker += sum / n;
                }
                if moving && t >= 3 {
                    // where the card was 1-3 frames ago and no longer is
                    let (cx, cy) = video.card(t);
                    let vacated: Vec<bool> = (0..w * h)
                        .map(|p| {
                            let (x, y) = (p % w, p / w);
                            (cy..cy + CARD.1).contains(&y)
                                && (cx.saturating_sub(9)..cx).contains(&x)
                        })
                        .collect();
                    if smoothing == 0.0 {
                        plain_frames.push(out.clone());
                    } else {
                        ghost += mean_change(&out, &plain_frames[t - 3], &vacated);
                    }
                }
                previous = Some((out, clean, disparity.clone()));
            }
            let n = (FRAMES - 1) as f64;
            let ghost = if moving && smoothing > 0.0 {
                format!("{:.2}", ghost / (FRAMES - 3) as f64)
            } else {
                "-".into()
            };
            println!(
                "| {} | {smoothing} | {:.2} | {:.2} | {:.3} | {ghost} | {:.2} | {:.0} |",
                if moving { "moving card" } else { "static" },
                flicker / n,
                clean_flicker / n,
                disparity_flicker / n,
                filter_ms / FRAMES as f64,
                frame_ms / FRAMES as f64
            );
        }
    }
    // the filter alone at the renderer benchmark's sizes
    for (w, h) in [(1242usize, 375usize), (1920, 1080)] {
        let mut filter = TemporalFilter::default();
        let first: Vec<f32> = (0..w * h).map(|i| 20.0 + noise(i, 0, 0) * 0.2).collect();
        filter.apply(&mut first.clone(), w, h, 0.8, DEFAULT_TEMPORAL_GATE);
        let frames: Vec<Vec<f32>> = (1..21)
            .map(|t| {
                first
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v + noise(i, t, 0) * 0.2)
                    .collect()
            })
            .collect();
        let started = std::time::Instant::now();
        for mut frame in frames {
            filter.apply(&mut frame, w, h, 0.8, DEFAULT_TEMPORAL_GATE);
        }
        println!(
            "temporal filter alone at {w}x{h}: {:.2} ms per frame",
            started.elapsed().as_secs_f64() * 1000.0 / 20.0
        );
    }
    Ok(())
}
