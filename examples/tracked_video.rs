//! A tracked object kept in focus as it moves across the frame and in depth (paper Fig. 1):
//! `cvtracker` follows it, `sterefo` focuses at the median disparity inside the tracker's box.
//!
//! ```text
//! cargo run --release --example tracked_video -- [--frames N] [--size WxH]
//!     [--smoothing SECONDS] [--aperture A] [--out DIR] [--figure FIGURE.png]
//! ```
//! Defaults: 72 frames of 640x360 at 25 fps, smoothing 0.15 s, aperture 0.25, `out/tracked/`,
//! figure `DIR/figure.png`.
//!
//! The stereo video is procedural, with exact disparity (`tests/common/stereo_scene.rs`): a
//! background plane at 4 px, a static green box at 14 px, and an orange object that crosses
//! the frame while it comes from 6 px to 30 px. Its left and right frames are written as
//! PNGs (`DIR/input/`), then this pipeline runs:
//! ```text
//! multifilesrc location=DIR/input/left_%04d.png caps=image/png,framerate=25/1 ! pngdec
//!   ! videoconvert ! cvtracker draw-rect=false object-initial-x=.. (the first frame's box)
//!   ! videoconvert ! s.sink_left
//! multifilesrc location=DIR/input/right_%04d.png ... ! pngdec ! videoconvert ! s.sink_right
//! sterefo name=s focus-mode=auto focus-smoothing=0.15 ! videoconvert ! pngenc
//!   ! multifilesink location=DIR/refocused_%04d.png
//! ```
//! Pad probes record the tracker's box (its `GstVideoRegionOfInterestMeta`) and sterefo's
//! `focus-in-use` for each frame, printed next to the object's true disparity. The figure
//! shows three frames: the input with the tracker's box (green) above, refocused below.

mod common;
#[path = "../tests/common/png_io.rs"]
mod png_io;
#[path = "../tests/common/stereo_scene.rs"]
mod stereo_scene;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use common::{contact_sheet, element, quoted, run, shrink, write_figure};
use gst::prelude::*;
use png_io::Rgba;
use stereo_scene::MovingScene;

const FPS: u64 = 25;

struct Options {
    frames: usize,
    width: usize,
    height: usize,
    smoothing: f64,
    aperture: f32,
    out: PathBuf,
    figure: Option<PathBuf>,
}

fn options() -> Result<Options> {
    let mut options = Options {
        frames: 72,
        width: 640,
        height: 360,
        smoothing: 0.15,
        aperture: 0.25,
        out: "out/tracked".into(),
        figure: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let Some(name) = arg.strip_prefix("--") else {
            bail!("unexpected argument {arg}; see the doc comment of examples/tracked_video.rs");
        };
        let value = args
            .next()
            .with_context(|| format!("--{name} needs a value"))?;
        match name {
            "frames" => options.frames = value.parse().context("--frames: a whole number")?,
            "size" => {
                let (w, h) = value.split_once('x').context("--size: WIDTHxHEIGHT")?;
                options.width = w.parse().context("--size: a whole width")?;
                options.height = h.parse().context("--size: a whole height")?;
            }
            "smoothing" => options.smoothing = value.parse().context("--smoothing: seconds")?,
            "aperture" => options.aperture = value.parse().context("--aperture: a number")?,
            "out" => options.out = value.into(),
            "figure" => options.figure = Some(value.into()),
            _ => bail!("unknown option --{name}"),
        }
    }
    if !(8..=1000).contains(&options.frames) {
        bail!("--frames must be 8..1000");
    }
    if !(128..=1920).contains(&options.width) || !(96..=1080).contains(&options.height) {
        bail!("--size must be between 128x96 and 1920x1080");
    }
    Ok(options)
}

/// What the probes saw of one frame.
#[derive(Debug, Clone, Copy, Default)]
struct Record {
    /// The tracker's box: x, y, width, height (pixels).
    roi: Option<(u32, u32, u32, u32)>,
    /// sterefo's focus-in-use, pixels.
    focus: Option<f32>,
}

/// The frame index of a buffer, from its timestamp.
fn index_of(buffer: &gst::BufferRef, frames: usize) -> Option<usize> {
    let pts = buffer.pts()?.nseconds();
    let index = ((pts * FPS + 500_000_000) / 1_000_000_000) as usize;
    (index < frames).then_some(index)
}

fn track_and_refocus(options: &Options, scene: &MovingScene, input: &Path) -> Result<Vec<Record>> {
    let start = scene.object(0);
    let source = |side: &str| -> Result<String> {
        Ok(format!(
            "multifilesrc location={} index=0 stop-index={} caps=image/png,framerate={FPS}/1 ! pngdec ! videoconvert",
            quoted(&input.join(format!("{side}_%04d.png")))?,
            options.frames - 1
        ))
    };
    let description = format!(
        "sterefo name=s focus-mode=auto focus-smoothing={smoothing} aperture={aperture} max-disparity=48 \
           ! videoconvert ! pngenc ! multifilesink location={output} \
         {left} ! cvtracker name=tracker draw-rect=false object-initial-x={x} object-initial-y={y} \
           object-initial-width={w} object-initial-height={h} ! videoconvert ! s.sink_left \
         {right} ! s.sink_right",
        smoothing = options.smoothing,
        aperture = options.aperture,
        output = quoted(&options.out.join("refocused_%04d.png"))?,
        left = source("left")?,
        right = source("right")?,
        x = start.x.round(),
        y = start.y.round(),
        w = start.width.round(),
        h = start.height.round(),
    );
    println!(
        "cvtracker starts from the first frame's box: object-initial-x={} object-initial-y={} \
         object-initial-width={} object-initial-height={}",
        start.x.round(),
        start.y.round(),
        start.width.round(),
        start.height.round()
    );
    let pipeline = gst::parse::launch(&description)?;
    let records = Arc::new(Mutex::new(vec![Record::default(); options.frames]));
    let frames = options.frames;

    let sink = records.clone();
    element(&pipeline, "tracker")?
        .static_pad("src")
        .context("cvtracker without src pad")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer()
                && let Some(i) = index_of(buffer, frames)
            {
                let roi = buffer
                    .meta::<gst_video::VideoRegionOfInterestMeta>()
                    .map(|m| m.rect());
                sink.lock().unwrap_or_else(|e| e.into_inner())[i].roi = roi;
            }
            gst::PadProbeReturn::Ok
        });
    let sterefo = element(&pipeline, "s")?;
    let weak = sterefo.downgrade();
    let sink = records.clone();
    sterefo
        .static_pad("src")
        .context("sterefo without src pad")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            // focus-in-use is set before the frame is pushed: it is this frame's focus.
            if let (Some(buffer), Some(sterefo)) = (info.buffer(), weak.upgrade())
                && let Some(i) = index_of(buffer, frames)
            {
                sink.lock().unwrap_or_else(|e| e.into_inner())[i].focus =
                    Some(sterefo.property::<f32>("focus-in-use"));
            }
            gst::PadProbeReturn::Ok
        });
    run(&pipeline, Duration::from_secs(900))?;
    let records = records.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(records)
}

/// Draws a rectangle outline `thickness` pixels wide, clipped to the image.
fn outline(image: &mut Rgba, (x, y, w, h): (u32, u32, u32, u32), thickness: u32, colour: [u8; 4]) {
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x + w) as usize, (y + h) as usize);
    let t = thickness as usize;
    for py in y0..y1.min(image.height) {
        for px in x0..x1.min(image.width) {
            if py < y0 + t || py + t >= y1 || px < x0 + t || px + t >= x1 {
                image.data[(py * image.width + px) * 4..][..4].copy_from_slice(&colour);
            }
        }
    }
}

fn main() -> Result<()> {
    let options = options()?;
    let scene = MovingScene {
        width: options.width,
        height: options.height,
        background: 4.0,
        distractor: 14.0,
        near_start: 6.0,
        near_end: 30.0,
        frames: options.frames,
    };
    let input = options.out.join("input");
    std::fs::create_dir_all(&input)
        .with_context(|| format!("cannot create {}", input.display()))?;
    for i in 0..options.frames {
        let (left, right, _) = scene.render(i);
        for (side, data) in [("left", left), ("right", right)] {
            let image = Rgba {
                width: options.width,
                height: options.height,
                data,
            };
            png_io::write_rgba(input.join(format!("{side}_{i:04}.png")), &image)?;
        }
    }
    println!(
        "{} stereo frames of {}x{} in {}",
        options.frames,
        options.width,
        options.height,
        input.display()
    );

    gst::init()?;
    gststerefo::plugin_register_static()?;
    let started = Instant::now();
    let records = track_and_refocus(&options, &scene, &input)?;
    let elapsed = started.elapsed().as_secs_f32();

    println!("frame  time s  object px  tracker box (x,y wxh)  focus-in-use px  error px");
    for (i, record) in records.iter().enumerate() {
        let truth = scene.object(i).disparity;
        let roi = record.roi.map_or("none".to_string(), |(x, y, w, h)| {
            format!("{x},{y} {w}x{h}")
        });
        let (focus, error) = match record.focus {
            Some(f) => (format!("{f:.2}"), format!("{:+.2}", f - truth)),
            None => ("no frame".to_string(), String::new()),
        };
        println!(
            "{i:5}  {:6.2}  {truth:9.2}  {roi:>21}  {focus:>15}  {error:>8}",
            i as f32 / FPS as f32
        );
    }
    println!(
        "{} frames in {elapsed:.1} s ({:.1} fps); refocused frames: {}",
        records.len(),
        records.len() as f32 / elapsed,
        options.out.join("refocused_%04d.png").display()
    );

    // The figure: early, middle and late frames; input with the tracker's box above,
    // refocused below.
    let n = options.frames;
    let picks = [n / 6, n / 2, n - 1];
    let tile_width = 320.min(options.width);
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for &i in &picks {
        let mut left = png_io::read_rgba(input.join(format!("left_{i:04}.png")))?;
        if let Some(roi) = records[i].roi {
            outline(&mut left, roi, 3, [40, 230, 60, 255]);
        }
        inputs.push(shrink(&left, tile_width));
        let refocused = png_io::read_rgba(options.out.join(format!("refocused_{i:04}.png")))?;
        outputs.push(shrink(&refocused, tile_width));
        println!(
            "figure frame {i}: object at {:.1} px, focus {:.1} px",
            scene.object(i).disparity,
            records[i].focus.unwrap_or(f32::NAN)
        );
    }
    inputs.extend(outputs);
    let sheet = contact_sheet(&inputs, picks.len(), 4);
    let path = options
        .figure
        .clone()
        .unwrap_or_else(|| options.out.join("figure.png"));
    write_figure(&path, &sheet)?;
    println!(
        "figure: {} ({}x{})",
        path.display(),
        sheet.width,
        sheet.height
    );
    Ok(())
}
