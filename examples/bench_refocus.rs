//! Speed of the layered depth of field renderer, next to the same algorithm written naively
//! with one OpenCV `filter2D` per plane (`scripts/naive_refocus.py`), in the same run.
//!
//! ```text
//! cargo run --release --example bench_refocus [-- --quick] [--no-baseline] [--options]
//! ```
//! `--options`: instead, the cost of the rendering options (linear light, highlights, blades,
//! foreground fill) as ratios to plain Algorithm 1 with the same aperture and `max-kernel`.
//! `--outputs`: instead, the cost of converted formats in and out (NV12, I420, YUY2):
//! converted on the GPU in the refocusing's command buffer (what `refocus` does) against
//! converted on the CPU (`formats::read`, `formats::write`) around an RGBA refocusing, next
//! to RGBA as it is.
//! Needs `data/bench/` (made by `scripts/make_test_data.py`) and the project's Python venv.
//! Input: the Middlebury motorcycle image and its ground-truth disparity resized to each size,
//! disparity rescaled to [0, 72] px; sweep [0, 80], focus at 40 px. `--quick`: 1242x375 only.

#[path = "../tests/common/png_io.rs"]
mod png_io;

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use gststerefo::dof::gpu::{Colour, RenderStats, Renderer};
use gststerefo::dof::{Highlights, Light, Params, Shape, Transfer};
use gststerefo::formats::{self, gpu::PlaneCoding};
use gststerefo::gpu::GpuContext;

fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let no_baseline = std::env::args().any(|a| a == "--no-baseline");
    if std::env::args().any(|a| a == "--options") {
        return options(quick);
    }
    if std::env::args().any(|a| a == "--outputs") {
        return outputs(quick);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| ".venv/bin/python".into());
    let context = GpuContext::shared()?;
    let mut renderer = Renderer::new(context.clone())?;
    println!("GPU: {}", context.describe());
    println!();
    println!(
        "| size | a | kmax | planes drawn | sterefo ms | sterefo fps | naive OpenCV ms | speed-up |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for input in inputs(quick)? {
        let (width, height) = (input.width, input.height);
        // All renderer timings first, then the naive ones, whose bursts of allocation and
        // threads would disturb the frames timed right after them.
        let mut rows = Vec::new();
        for max_kernel in [0u32, 11] {
            for aperture in [0.1f32, 0.25, 0.5, 0.8] {
                let params = Params {
                    aperture,
                    focus_disparity: 40.0,
                    min_disparity: 0.0,
                    max_disparity: 80.0,
                    max_kernel,
                    ..Default::default()
                };
                rows.push(params);
            }
        }
        let timed = time_in_turns(&mut renderer, &input, &rows, if quick { 4 } else { 8 })?;
        for (params, (stats, ms)) in rows.into_iter().zip(timed) {
            let naive = if no_baseline {
                f64::NAN
            } else {
                naive_ms(&python, &input.stem, &params)?
            };
            println!(
                "| {width}x{height} | {} | {} | {}/{} | {ms:.1} | {:.1} | {naive:.0} | {:.1}x |",
                params.aperture,
                if params.max_kernel == 0 {
                    "0 (exact)".to_string()
                } else {
                    params.max_kernel.to_string()
                },
                stats.planes_drawn,
                stats.planes_total,
                1000.0 / ms,
                naive / ms
            );
        }
    }
    Ok(())
}

/// Milliseconds per frame of the naive OpenCV version, measured by the Python script.
fn naive_ms(python: &str, stem: &str, params: &Params) -> Result<f64> {
    let output = Command::new(python)
        .args([
            "scripts/naive_refocus.py",
            &format!("{stem}_image.png"),
            &format!("{stem}_disparity.png"),
            &params.aperture.to_string(),
            &params.focus_disparity.to_string(),
            &params.min_disparity.to_string(),
            &params.max_disparity.to_string(),
            &params.max_kernel.to_string(),
        ])
        .output()
        .with_context(|| format!("cannot run {python} scripts/naive_refocus.py"))?;
    anyhow::ensure!(
        output.status.success(),
        "naive_refocus.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .parse::<f64>()
        .with_context(|| format!("naive_refocus.py printed '{text}'"))
}

/// The rendering options against plain Algorithm 1: the fastest of 8 frames each, taking
/// turns, at a = 0.25 and 0.8 with `max-kernel=11`.
fn options(quick: bool) -> Result<()> {
    let context = GpuContext::shared()?;
    let mut renderer = Renderer::new(context.clone())?;
    println!("GPU: {}", context.describe());
    println!();
    println!("| size | a | option | ms | ratio to plain |");
    println!("|---|---|---|---|---|");
    let linear = |gain| Light::Linear {
        transfer: Transfer::Srgb,
        highlights: Highlights {
            threshold: 0.8,
            gain,
        },
    };
    let hexagon = Shape::Blades {
        blades: 6,
        rotation: 0.0,
    };
    let options = [
        ("plain", Light::Encoded, Shape::Disc, None),
        ("linear-light", linear(0.0), Shape::Disc, None),
        (
            "linear-light highlight-gain=4",
            linear(4.0),
            Shape::Disc,
            None,
        ),
        ("blades=6", Light::Encoded, hexagon, None),
        (
            "blades=6 linear-light highlight-gain=4",
            linear(4.0),
            hexagon,
            None,
        ),
        (
            "foreground-fill (right view, as sterefo)",
            Light::Encoded,
            Shape::Disc,
            Some(true),
        ),
        (
            "foreground-fill (no right view, as refocus)",
            Light::Encoded,
            Shape::Disc,
            Some(false),
        ),
    ];
    for input in inputs(quick)? {
        let mut rows = Vec::new();
        for aperture in [0.25f32, 0.8] {
            // fill: None = off, else whether the fill has the right view.
            for (name, light, shape, fill) in options {
                let params = Params {
                    aperture,
                    focus_disparity: 40.0,
                    max_disparity: 80.0,
                    light,
                    shape,
                    fill_hidden: fill.is_some(),
                    ..Default::default()
                };
                rows.push((name, params, fill == Some(true)));
            }
        }
        let params: Vec<(Params, bool)> = rows.iter().map(|(_, p, right)| (*p, *right)).collect();
        let timed = time_views_in_turns(&mut renderer, &input, &params, 8)?;
        let rows: Vec<(&str, Params, f64)> = rows
            .into_iter()
            .zip(timed)
            .map(|((name, params, _), (_, ms))| (name, params, ms))
            .collect();
        for (name, params, ms) in &rows {
            let plain = rows
                .iter()
                .find(|(name, p, _)| p.aperture == params.aperture && *name == "plain")
                .map_or(f64::NAN, |row| row.2);
            println!(
                "| {}x{} | {} | {name} | {ms:.1} | {:.2}x |",
                input.width,
                input.height,
                params.aperture,
                ms / plain
            );
        }
    }
    Ok(())
}

/// A benchmark frame: the motorcycle and its disparity at one size (`data/bench/`).
struct Input {
    width: u32,
    height: u32,
    /// Path prefix of its files.
    stem: String,
    image: png_io::Rgba,
    /// The right view (the foreground fill's).
    right: png_io::Rgba,
    disparity: Vec<f32>,
}

/// A way of refocusing a frame of a format: RGBA as it is, or a converted format converted
/// on the CPU or the GPU.
struct Way {
    name: String,
    /// The converted format's frame (the input, refocused into a frame like it).
    frame: Option<(gst_video::VideoInfo, gst::Buffer)>,
    on_gpu: bool,
}

fn outputs(quick: bool) -> Result<()> {
    gst::init()?;
    let context = GpuContext::shared()?;
    let mut renderer = Renderer::new(context.clone())?;
    println!("GPU: {}", context.describe());
    println!();
    println!("| size | format in and out | ms per frame | ratio to RGBA | conversion ms |");
    println!("|---|---|---|---|---|");
    let params = Params {
        aperture: 0.25,
        focus_disparity: 40.0,
        min_disparity: 0.0,
        max_disparity: 80.0,
        max_kernel: 11,
        ..Default::default()
    };
    for input in inputs(quick)? {
        let (width, height) = (input.width, input.height);
        let mut ways = vec![Way {
            name: "RGBA as it is".into(),
            frame: None,
            on_gpu: false,
        }];
        for format in ["NV12", "I420", "YUY2"] {
            let caps: gst::Caps =
                format!("video/x-raw,format={format},width={width},height={height},framerate=25/1")
                    .parse()?;
            let info = gst_video::VideoInfo::from_caps(&caps)?;
            let mut buffer = gst::Buffer::with_size(info.size())?;
            {
                let buffer = buffer.get_mut().context("a new buffer is writable")?;
                let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, &info)?;
                formats::write(&input.image.data, &mut frame)?;
            }
            for on_gpu in [false, true] {
                let place = if on_gpu { "GPU" } else { "CPU" };
                ways.push(Way {
                    name: format!("{format}, converted on the {place}"),
                    frame: Some((info.clone(), buffer.clone())),
                    on_gpu,
                });
            }
        }
        let (mut pixels, mut image, mut planes) = (Vec::new(), Vec::new(), Vec::new());
        let disparity = &input.disparity;
        let mut refocus = |way: &Way| {
            let Some((info, buffer)) = &way.frame else {
                pixels.resize(input.image.data.len(), 0);
                let image = &input.image.data;
                renderer.render(image, disparity, width, height, &params, &mut pixels)?;
                return Ok::<_, anyhow::Error>(());
            };
            let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), info)?;
            let mut output = gst::Buffer::with_size(info.size())?;
            let output = output.get_mut().context("a new buffer is writable")?;
            let mut out = gst_video::VideoFrameRef::from_buffer_ref_writable(output, info)?;
            if way.on_gpu {
                let coding = PlaneCoding::of(info).context("a converted format")?;
                formats::gpu::read_planes(&frame, &coding, &mut image)?;
                let colour = Colour::Planes(&coding, &image);
                renderer.render_planes(
                    colour,
                    None,
                    disparity,
                    width,
                    height,
                    &params,
                    &coding,
                    &mut planes,
                )?;
                formats::gpu::write_planes(&planes, &coding, &mut out)?;
            } else {
                formats::read(&frame, &mut image)?;
                pixels.resize(image.len(), 0);
                renderer.render(&image, disparity, width, height, &params, &mut pixels)?;
                formats::write(&pixels, &mut out)?;
            }
            Ok(())
        };
        let mut best = vec![f64::INFINITY; ways.len()];
        for pass in 0..if quick { 4 } else { 8 } + 1 {
            for (way, best) in ways.iter().zip(&mut best) {
                let start = Instant::now();
                refocus(way)?;
                if pass > 0 {
                    *best = best.min(start.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
        for (way, ms) in ways.iter().zip(&best) {
            println!(
                "| {width}x{height} | {} | {ms:.1} | {:.2}x | {:.1} |",
                way.name,
                ms / best[0],
                ms - best[0]
            );
        }
    }
    Ok(())
}

/// The frames at 1242x375 and (unless `quick`) 1920x1080.
fn inputs(quick: bool) -> Result<Vec<Input>> {
    let sizes: &[(u32, u32)] = if quick {
        &[(1242, 375)]
    } else {
        &[(1242, 375), (1920, 1080)]
    };
    sizes
        .iter()
        .map(|&(width, height)| {
            let stem = format!("data/bench/{width}x{height}");
            let image = png_io::read_rgba(format!("{stem}_image.png"))?;
            let right = png_io::read_rgba(format!("{stem}_right.png"))?;
            let (_, _, disparity) = png_io::read_disparity(format!("{stem}_disparity.png"))?;
            Ok(Input {
                width,
                height,
                stem,
                image,
                right,
                disparity,
            })
        })
        .collect()
}

/// Each configuration's stats and fastest frame (ms) over `passes` passes after a warm-up,
/// the configurations taking turns: a slow spell of the (shared, virtual) machine then
/// costs one pass, not one configuration.
fn time_in_turns(
    renderer: &mut Renderer,
    input: &Input,
    configurations: &[Params],
    passes: usize,
) -> Result<Vec<(RenderStats, f64)>> {
    let configurations: Vec<(Params, bool)> = configurations.iter().map(|p| (*p, false)).collect();
    time_views_in_turns(renderer, input, &configurations, passes)
}

/// [`time_in_turns`] of configurations that may give the renderer the right view (`true`).
fn time_views_in_turns(
    renderer: &mut Renderer,
    input: &Input,
    configurations: &[(Params, bool)],
    passes: usize,
) -> Result<Vec<(RenderStats, f64)>> {
    let mut output = vec![0u8; input.image.data.len()];
    let mut render = |(params, with_right): &(Params, bool)| {
        let (width, height) = (input.width, input.height);
        renderer.render_views(
            &input.image.data,
            with_right.then_some(input.right.data.as_slice()),
            &input.disparity,
            width,
            height,
            params,
            &mut output,
        )
    };
    let mut timed = Vec::new();
    for configuration in configurations {
        timed.push((render(configuration)?, f64::INFINITY));
    }
    for _ in 0..passes {
        for (configuration, (_, ms)) in configurations.iter().zip(&mut timed) {
            let start = Instant::now();
            render(configuration)?;
            *ms = ms.min(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(timed)
}
