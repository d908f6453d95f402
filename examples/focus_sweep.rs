//! A still stereo pair refocused from far to near through the `sterefo` element (paper
//! Fig. 2), as a sequence of PNGs and a contact sheet.
//!
//! ```text
//! cargo run --release --example focus_sweep -- [LEFT.png RIGHT.png] [--steps N]
//!     [--aperture A] [--out DIR] [--sheet SHEET.png]
//! ```
//! Defaults: `data/motorcycle/left.png data/motorcycle/right.png` (made by scripts/setup.sh),
//! 6 steps, aperture 0.25, `out/sweep_motorcycle/`, sheet `DIR/sheet.png`.
//!
//! Two pipelines, both through `sterefo` with its default model:
//! 1. `sterefo output=disparity` once, to find the scene's far and near disparity (5th and
//!    95th percentiles) and to draw the disparity map;
//! 2. `imagefreeze num-buffers=N` on both inputs into `sterefo focus-mode=disparity
//!    focus-smoothing=0 ! videoconvert ! pngenc ! multifilesink`: a pad probe on sterefo's
//!    src pad sets `focus-disparity` for the next frame, so frame k is focused at the k-th
//!    of N disparities from far to near.
//!
//! The sheet shows the left input, the disparity map (viridis, far = dark) and the N
//! refocused frames; the swatch in each frame's corner is the disparity map's colour of the
//! depth in focus.

mod common;
#[path = "../tests/common/png_io.rs"]
mod png_io;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use common::{contact_sheet, element, quoted, run, shrink, write_figure};
use gst::prelude::*;
use png_io::Rgba;

struct Options {
    left: PathBuf,
    right: PathBuf,
    steps: usize,
    aperture: f32,
    out: PathBuf,
    sheet: Option<PathBuf>,
}

fn options() -> Result<Options> {
    let mut positional = Vec::new();
    let mut options = Options {
        left: "data/motorcycle/left.png".into(),
        right: "data/motorcycle/right.png".into(),
        steps: 6,
        aperture: 0.25,
        out: "out/sweep_motorcycle".into(),
        sheet: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if let Some(name) = arg.strip_prefix("--") {
            let value = args
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            match name {
                "steps" => options.steps = value.parse().context("--steps: a whole number")?,
                "aperture" => options.aperture = value.parse().context("--aperture: a number")?,
                "out" => options.out = value.into(),
                "sheet" => options.sheet = Some(value.into()),
                _ => bail!("unknown option --{name}"),
            }
        } else {
            positional.push(PathBuf::from(arg));
        }
    }
    match positional.as_slice() {
        [] => {}
        [left, right] => (options.left, options.right) = (left.clone(), right.clone()),
        _ => bail!(
            "usage: focus_sweep [LEFT.png RIGHT.png] [--steps N] [--aperture A] [--out DIR] [--sheet SHEET.png]"
        ),
    }
    if !(2..=32).contains(&options.steps) {
        bail!("--steps must be 2..32");
    }
    for path in [&options.left, &options.right] {
        if !path.is_file() {
            bail!(
                "{} not found (scripts/setup.sh makes the motorcycle pair)",
                path.display()
            );
        }
    }
    Ok(options)
}

/// The pair's two inputs, as RGBA into `s.sink_left` and `s.sink_right`, `extra` after the
/// decoder (e.g. an imagefreeze).
fn inputs(options: &Options, extra: &str) -> Result<String> {
    let side = |path: &Path, pad: &str| -> Result<String> {
        Ok(format!(
            "filesrc location={} ! pngdec ! videoconvert ! video/x-raw,format=RGBA {extra} ! s.{pad} ",
            quoted(path)?
        ))
    };
    Ok(side(&options.left, "sink_left")? + &side(&options.right, "sink_right")?)
}

/// Disparity in pixels of the pair, from `sterefo output=disparity`.
fn disparity(options: &Options) -> Result<(usize, usize, Vec<f32>)> {
    let description = format!(
        "sterefo name=s output=disparity ! fakesink {}",
        inputs(options, "")?
    );
    let pipeline = gst::parse::launch(&description)?;
    let captured = Arc::new(Mutex::new(None));
    let sink = captured.clone();
    element(&pipeline, "s")?
        .static_pad("src")
        .context("sterefo without src pad")?
        .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            if let (Some(buffer), Some(caps)) = (info.buffer(), pad.current_caps())
                && let Ok(video) = gst_video::VideoInfo::from_caps(&caps)
                && let Ok(frame) =
                    gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &video)
                && let Ok(data) = frame.plane_data(0)
            {
                let (width, height, stride) = (
                    video.width() as usize,
                    video.height() as usize,
                    video.stride()[0] as usize,
                );
                let values = (0..height)
                    .flat_map(|y| data[y * stride..y * stride + 2 * width].chunks(2))
                    .map(|b| f32::from(u16::from_le_bytes([b[0], b[1]])) / 256.0)
                    .collect::<Vec<_>>();
                *sink.lock().unwrap_or_else(|e| e.into_inner()) = Some((width, height, values));
            }
            gst::PadProbeReturn::Ok
        });
    run(&pipeline, Duration::from_secs(300))?;
    let result = captured.lock().unwrap_or_else(|e| e.into_inner()).take();
    result.context("sterefo produced no disparity")
}

fn percentile(values: &[f32], p: f32) -> f32 {
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f32::total_cmp);
    sorted[((sorted.len() - 1) as f32 * p).round() as usize]
}

/// One refocused frame: its focus in use and its RGBA pixels.
struct Refocused {
    focus: f32,
    image: Rgba,
}

/// Refocuses the pair at each of `focuses` (pixels) in one pipeline; writes the PNGs.
fn sweep(options: &Options, focuses: &[f32], range: (f32, f32)) -> Result<Vec<Refocused>> {
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("cannot create {}", options.out.display()))?;
    let description = format!(
        "sterefo name=s focus-mode=disparity focus-smoothing=0 focus-disparity={focus} aperture={aperture} \
           min-disparity={low} max-disparity={high} ! videoconvert ! pngenc ! multifilesink location={location} {inputs}",
        focus = focuses[0],
        aperture = options.aperture,
        low = range.0,
        high = range.1,
        location = quoted(&options.out.join("sweep_%02d.png"))?,
        inputs = inputs(
            options,
            &format!("! imagefreeze num-buffers={}", focuses.len())
        )?,
    );
    let pipeline = gst::parse::launch(&description)?;
    let sterefo = element(&pipeline, "s")?;
    let frames = Arc::new(Mutex::new(Vec::new()));
    let sink = frames.clone();
    let next = focuses.to_vec();
    let weak = sterefo.downgrade();
    sterefo
        .static_pad("src")
        .context("sterefo without src pad")?
        .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let (Some(buffer), Some(caps), Some(sterefo)) =
                (info.buffer(), pad.current_caps(), weak.upgrade())
            else {
                return gst::PadProbeReturn::Ok;
            };
            let mut frames = sink.lock().unwrap_or_else(|e| e.into_inner());
            if let Ok(video) = gst_video::VideoInfo::from_caps(&caps)
                && let Ok(frame) =
                    gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &video)
                && let Ok(data) = frame.plane_data(0)
            {
                let (width, height, stride) = (
                    video.width() as usize,
                    video.height() as usize,
                    video.stride()[0] as usize,
                );
                let pixels = (0..height)
                    .flat_map(|y| &data[y * stride..y * stride + 4 * width])
                    .copied()
                    .collect();
                frames.push(Refocused {
                    focus: sterefo.property::<f32>("focus-in-use"),
                    image: Rgba {
                        width,
                        height,
                        data: pixels,
                    },
                });
            }
            // The src task aggregates the next frame only after this probe returns, so
            // the next frame is rendered with the next focus.
            if let Some(focus) = next.get(frames.len()) {
                sterefo.set_property("focus-disparity", *focus);
            }
            gst::PadProbeReturn::Ok
        });
    run(&pipeline, Duration::from_secs(600))?;
    let frames = std::mem::take(&mut *frames.lock().unwrap_or_else(|e| e.into_inner()));
    if frames.len() != focuses.len() {
        bail!(
            "expected {} refocused frames, got {}",
            focuses.len(),
            frames.len()
        );
    }
    Ok(frames)
}

/// Paints a filled square with a white border at (x, y).
fn swatch(image: &mut Rgba, x: usize, y: usize, side: usize, colour: [u8; 4]) {
    for sy in y..(y + side).min(image.height) {
        for sx in x..(x + side).min(image.width) {
            let border = sy < y + 2 || sx < x + 2 || sy + 2 >= y + side || sx + 2 >= x + side;
            let c = if border { [255; 4] } else { colour };
            image.data[(sy * image.width + sx) * 4..][..4].copy_from_slice(&c);
        }
    }
}

fn main() -> Result<()> {
    let options = options()?;
    gst::init()?;
    gststerefo::plugin_register_static()?;

    let (width, height, disparity) = disparity(&options)?;
    // Far and near: percentiles, so that a few wild pixels do not set the sweep.
    let (far, near) = (percentile(&disparity, 0.05), percentile(&disparity, 0.95));
    // The renderer's plane range: the scene's, with a margin (fewer planes than 0..128).
    let range = (
        (percentile(&disparity, 0.0) - 2.0).floor().max(0.0),
        (percentile(&disparity, 1.0) + 2.0).ceil(),
    );
    println!(
        "{width}x{height}: disparity far {far:.1} px, near {near:.1} px; planes over {:.0}..{:.0} px",
        range.0, range.1
    );
    let steps = options.steps;
    let focuses: Vec<f32> = (0..steps)
        .map(|k| far + (near - far) * k as f32 / (steps - 1) as f32)
        .collect();

    let started = Instant::now();
    let frames = sweep(&options, &focuses, range)?;
    println!("frame  focus asked  focus in use  file");
    for (k, (frame, asked)) in frames.iter().zip(&focuses).enumerate() {
        let file = options.out.join(format!("sweep_{k:02}.png"));
        println!(
            "{k:5}  {asked:8.2} px  {:9.2} px  {}",
            frame.focus,
            file.display()
        );
    }
    println!(
        "{} frames in {:.1} s",
        frames.len(),
        started.elapsed().as_secs_f32()
    );

    let left = png_io::read_rgba(&options.left)?;
    let coloured = |d: f32| gststerefo::colormap::viridis(d, far - 2.0, near + 2.0);
    let disparity_image = Rgba {
        width,
        height,
        data: disparity.iter().flat_map(|&d| coloured(d)).collect(),
    };
    let tile_width = 216.min(width);
    let side = (tile_width / 12).max(8);
    let mut tiles = vec![
        shrink(&left, tile_width),
        shrink(&disparity_image, tile_width),
    ];
    for frame in &frames {
        let mut tile = shrink(&frame.image, tile_width);
        swatch(&mut tile, 4, 4, side, coloured(frame.focus));
        tiles.push(tile);
    }
    let sheet = contact_sheet(&tiles, 4, 4);
    let path = options
        .sheet
        .clone()
        .unwrap_or_else(|| options.out.join("sheet.png"));
    write_figure(&path, &sheet)?;
    println!(
        "contact sheet: {} ({}x{})",
        path.display(),
        sheet.width,
        sheet.height
    );
    Ok(())
}
