//! Speed of the depth module next to OpenCV SGBM, as a Markdown table.
//!
//!     source scripts/env.sh
//!     cargo run --release --example bench_depth [-- MODEL.onnx]
//!
//! sterefo: `DepthEstimator` on the CPU provider (2 intra-op threads), on
//! `data/bench/*_image.png` (made by scripts/setup.sh) as left image and a copy shifted by
//! 12 px as right image (the network's cost depends on the content a little, through its
//! gathers: on random noise both versions 4 and 5 took 20-70% longer). Median of
//! several frames after a warm-up, pre- and post-processing included; "of which network"
//! is the bare ONNX Runtime run on the same tensors.
//!
//! SGBM: the `disparity` element of gst-plugins-bad (OpenCV StereoSGBM, its fixed settings)
//! through `gst-launch-1.0`, the same PNG on both pads (`imagefreeze` repeats it). Time per
//! frame = difference of the wall times of a long and a short run over the difference in
//! frames that reached the sink (the element drops a frame or two at start, as it pairs by
//! arrival), so start-up and PNG decoding cancel out.
//!
//! The model is the one built into the plugin (`models/stereonet.onnx`) unless a file is
//! given (or `STEREFO_MODEL`).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use gststerefo::depth::{ChannelOrder, DepthEstimator, DepthOptions, Provider, StereoImage};

mod common;
#[path = "../tests/common/png_io.rs"]
mod png_io;

const SIZES: [&str; 2] = ["1242x375", "1920x1080"];
const SCALES: [f32; 3] = [1.0, 0.5, 0.25];
const SHIFT: usize = 12;

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = common::model_from_args();
    let options = DepthOptions {
        // STEREFO_PROVIDER=cuda (scripts/bench_gpu.sh) measures the CUDA provider instead.
        provider: match std::env::var("STEREFO_PROVIDER").as_deref() {
            Ok("cuda") => Provider::Cuda,
            Ok("auto") => Provider::Auto,
            _ => Provider::Cpu,
        },
        cpu_threads: 2,
        ..DepthOptions::default()
    };
    let mut estimator = DepthEstimator::new(&model, &options)?;

    println!("## Depth: ms per frame on this CPU\n");
    println!("{}\n", machine());
    println!(
        "Model: {}, provider {}. SGBM: `disparity` element (gst-plugins-bad, OpenCV StereoSGBM).\n",
        match model.path() {
            Some(path) => format!("`{}`", path.strip_prefix(root).unwrap_or(path).display()),
            None => "the built-in `models/stereonet.onnx`".to_string(),
        },
        estimator.provider_description()
    );
    println!(
        "| input | working scale | network input | sterefo ms/frame | of which network | SGBM ms/frame | SGBM time / sterefo time |"
    );
    println!("|---|---|---|---|---|---|---|");
    for size in SIZES {
        let path = root.join(format!("data/bench/{size}_image.png"));
        let left = png_io::read_rgba(&path).with_context(|| {
            format!(
                "{} missing: run scripts/setup.sh (it makes data/)",
                path.display()
            )
        })?;
        let (width, height) = (left.width, left.height);
        let right = shifted(&left.data, width, height, SHIFT);
        let sgbm = sgbm_ms_per_frame(&path, if width > 1500 { 6 } else { 12 });
        for scale in SCALES {
            estimator.set_scale(scale)?;
            let (_, _, padded_width, padded_height) = estimator.network_size(width, height);
            let frames = if width * height > 1_000_000 && scale == 1.0 {
                3
            } else {
                6
            };
            let ms = time_estimate(&mut estimator, &left.data, &right, width, height, frames)?;
            let network_ms = time_network(&mut estimator, frames)?;
            let (sgbm_text, ratio) = match &sgbm {
                Ok(sgbm) => (format!("{sgbm:.0}"), format!("{:.2}", sgbm / ms)),
                Err(error) => (format!("n/a ({error})"), "n/a".into()),
            };
            println!(
                "| {width}x{height} | {scale} | {padded_width}x{padded_height} | {ms:.0} | {network_ms:.0} | {sgbm_text} | {ratio} |"
            );
        }
    }
    Ok(())
}

/// CPU, cores and load, so readers can judge the numbers.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "{cpu}, {cores} cores, load average {load} at start (other work on the machine slows \
         every column alike: compare the ratios, not the absolute times)"
    )
}

/// The right view of a fronto-parallel scene at `shift` px: right(x) = left(x + shift).
fn shifted(left: &[u8], width: usize, height: usize, shift: usize) -> Vec<u8> {
    let mut right = vec![0; left.len()];
    for y in 0..height {
        for x in 0..width {
            let source = (x + shift).min(width - 1);
            let (i, j) = (4 * (y * width + x), 4 * (y * width + source));
            right[i..i + 4].copy_from_slice(&left[j..j + 4]);
        }
    }
    right
}

/// Median milliseconds per frame after one warm-up frame.
fn time_estimate(
    estimator: &mut DepthEstimator,
    left: &[u8],
    right: &[u8],
    width: usize,
    height: usize,
    frames: usize,
) -> Result<f64> {
    let left = StereoImage::packed(left, width, height, ChannelOrder::Rgba);
    let right = StereoImage::packed(right, width, height, ChannelOrder::Rgba);
    let mut disparity = Vec::new();
    estimator.estimate(&left, &right, &mut disparity)?;
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        let start = Instant::now();
        estimator.estimate(&left, &right, &mut disparity)?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Median milliseconds of the bare network on the last frame's tensors (no pre- or
/// post-processing; includes one copy of the inputs into fresh tensors).
fn time_network(estimator: &mut DepthEstimator, frames: usize) -> Result<f64> {
    let input = estimator.network_input().context("no frame yet")?;
    let (left, right) = (input.left.to_vec(), input.right.to_vec());
    let (width, height) = (input.width, input.height);
    let mut raw = Vec::new();
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        let start = Instant::now();
        estimator.run_network(&left, &right, width, height, &mut raw)?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Milliseconds per frame of the `disparity` element, from a short and a long run.
fn sgbm_ms_per_frame(image: &Path, extra: usize) -> Result<f64> {
    let (short_seconds, short_frames) = run_sgbm(image, 4)?;
    let (long_seconds, long_frames) = run_sgbm(image, 4 + extra)?;
    if long_frames <= short_frames {
        bail!(
            "the disparity element produced {long_frames} frames from {} pairs",
            4 + extra
        );
    }
    Ok((long_seconds - short_seconds) * 1000.0 / (long_frames - short_frames) as f64)
}

/// Wall time in seconds and frames that reached the sink for `frames` input pairs.
fn run_sgbm(image: &Path, frames: usize) -> Result<(f64, usize)> {
    let location = image.to_str().context("non-UTF-8 path")?;
    let branch = |pad: &str| {
        format!(
            "filesrc location={location} ! pngdec ! videoconvert ! video/x-raw,format=RGB ! \
             imagefreeze num-buffers={frames} ! queue ! d.{pad}"
        )
    };
    // `-v` with a non-silent fakesink prints one "chain" line per frame that arrives
    let pipeline = format!(
        "disparity name=d method=sgbm ! fakesink name=out sync=false silent=false {} {}",
        branch("sink_left"),
        branch("sink_right")
    );
    let start = Instant::now();
    let output = Command::new("gst-launch-1.0")
        .arg("-v")
        .args(pipeline.split_whitespace())
        .output()
        .context("gst-launch-1.0 not found (scripts/setup.sh installs it)")?;
    let seconds = start.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "gst-launch-1.0 failed: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let arrived = stdout
        .lines()
        .filter(|line| line.contains("/GstFakeSink:out") && line.contains("chain"))
        .count();
    Ok((seconds, arrived))
}
