//! End-to-end frames per second of `sterefo` (disparity network + refocus), next to the
//! `disparity` element of gst-plugins-bad (OpenCV SGBM and block matching) on the same
//! stereo pair, in the same run.
//!
//! ```text
//! cargo run --release --example bench_sterefo [-- --quick | --nv12]
//! ```
//! Input: the Middlebury motorcycle pair resized to each size (data/bench/, made by
//! scripts/setup.sh), repeated by `imagefreeze`. The rate is measured between the first and
//! the last frame reaching the sink, so start-up (model load, shader compilation) is excluded.
//! A second table: 1920x1080 NV12 in and out (what decoders deliver), `sterefo` taking and
//! giving NV12 itself against `videoconvert ! sterefo ! videoconvert` (RGBA inside).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use gst::prelude::*;

fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    gst::init()?;
    gststerefo::plugin_register_static()?;
    if std::env::args().any(|a| a == "--nv12") {
        return nv12_table();
    }
    println!("| size | pipeline | fps | ms per frame | vs SGBM |");
    println!("|---|---|---|---|---|");
    let sizes: &[(u32, u32, u32)] = if quick {
        &[(1242, 375, 6)]
    } else {
        &[(1242, 375, 24), (1920, 1080, 8)]
    };
    for &(width, height, frames) in sizes {
        let stem = format!("data/bench/{width}x{height}");
        let source = |file: &str, format: &str, pad: &str| {
            format!(
                "filesrc location={stem}_{file}.png ! pngdec ! videoconvert ! video/x-raw,format={format} \
                 ! imagefreeze num-buffers={frames} ! queue ! {pad} "
            )
        };
        let sterefo = |properties: &str| {
            format!(
                "sterefo name=s {properties} ! fakesink name=sink sync=false {}{}",
                source("image", "RGBA", "s.sink_left"),
                source("right", "RGBA", "s.sink_right")
            )
        };
        let disparity = |method: &str| {
            format!(
                "disparity name=d method={method} ! fakesink name=sink sync=false {}{}",
                source("image", "RGB", "d.sink_left"),
                source("right", "RGB", "d.sink_right")
            )
        };
        let cases = [
            (
                "disparity element, SGBM (disparity only)",
                disparity("sgbm"),
            ),
            (
                "disparity element, block matching (disparity only)",
                disparity("sbm"),
            ),
            (
                "sterefo, refocused, working-scale 1",
                sterefo("working-scale=1.0 aperture=0.25 focus-disparity=40 max-disparity=80"),
            ),
            (
                "sterefo, disparity only, working-scale 1",
                sterefo("working-scale=1.0 output=disparity"),
            ),
            (
                "sterefo, refocused, working-scale 0.875",
                sterefo("working-scale=0.875 aperture=0.25 focus-disparity=40 max-disparity=80"),
            ),
            (
                "sterefo, refocused, working-scale 0.5",
                sterefo("working-scale=0.5 aperture=0.25 focus-disparity=40 max-disparity=80"),
            ),
            (
                "sterefo, disparity only, working-scale 0.5",
                sterefo("working-scale=0.5 output=disparity"),
            ),
        ];
        let mut sgbm_fps = None;
        for (name, description) in cases {
            let fps = measure(&description, frames)?;
            if sgbm_fps.is_none() {
                sgbm_fps = Some(fps);
            }
            println!(
                "| {width}x{height} | {name} | {fps:.2} | {:.0} | {:.2}x |",
                1000.0 / fps,
                fps / sgbm_fps.unwrap_or(fps)
            );
        }
    }
    if !quick {
        nv12_table()?;
    }
    Ok(())
}

/// NV12 in, NV12 out at 1920x1080: native against converters around the element.
fn nv12_table() -> Result<()> {
    let (width, height, frames) = (1920, 1080, 8);
    println!("\n| size | NV12 in, NV12 out | fps | ms per frame | vs with videoconvert |");
    println!("|---|---|---|---|---|");
    let stem = format!("data/bench/{width}x{height}");
    for scale in [1.0, 0.5] {
        let pipeline = |to_element: &str, from_element: &str| {
            let source = |file: &str, pad: &str| {
                format!(
                    "filesrc location={stem}_{file}.png ! pngdec ! videoconvert ! video/x-raw,format=NV12 \
                     ! imagefreeze num-buffers={frames} ! {to_element}queue ! {pad} "
                )
            };
            format!(
                "sterefo name=s working-scale={scale} aperture=0.25 focus-disparity=40 max-disparity=80 \
                 ! {from_element}video/x-raw,format=NV12 ! fakesink name=sink sync=false {}{}",
                source("image", "s.sink_left"),
                source("right", "s.sink_right")
            )
        };
        let converted = measure(
            &pipeline(
                "videoconvert ! video/x-raw,format=RGBA ! ",
                "videoconvert ! ",
            ),
            frames,
        )?;
        let native = measure(&pipeline("", ""), frames)?;
        for (name, fps) in [
            ("videoconvert ! sterefo ! videoconvert", converted),
            ("sterefo, NV12 natively", native),
        ] {
            println!(
                "| {width}x{height}, working-scale {scale} | {name} | {fps:.2} | {:.0} | {:.2}x |",
                1000.0 / fps,
                fps / converted
            );
        }
    }
    Ok(())
}

/// Frames per second between the first and the last frame at the sink.
fn measure(description: &str, frames: u32) -> Result<f64> {
    let pipeline = gst::parse::launch(description)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow!("not a pipeline"))?;
    let sink = pipeline.by_name("sink").context("no sink")?;
    let arrivals = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let recorder = Arc::clone(&arrivals);
    sink.static_pad("sink").context("sink pad")?.add_probe(
        gst::PadProbeType::BUFFER,
        move |_, _| {
            recorder.lock().expect("probe lock").push(Instant::now());
            gst::PadProbeReturn::Ok
        },
    );
    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().context("bus")?;
    let result = loop {
        let Some(message) = bus.timed_pop(gst::ClockTime::from_seconds(600)) else {
            break Err(anyhow!("no end of stream after 10 minutes"));
        };
        match message.view() {
            gst::MessageView::Eos(_) => break Ok(()),
            gst::MessageView::Error(e) => {
                break Err(anyhow!("{}: {} ({:?})", description, e.error(), e.debug()));
            }
            _ => {}
        }
    };
    pipeline.set_state(gst::State::Null)?;
    result?;
    let arrivals = arrivals.lock().expect("probe lock");
    anyhow::ensure!(
        arrivals.len() >= 2,
        "only {} of {frames} frames came out",
        arrivals.len()
    );
    let span = arrivals[arrivals.len() - 1]
        .duration_since(arrivals[0])
        .as_secs_f64();
    Ok((arrivals.len() - 1) as f64 / span)
}
