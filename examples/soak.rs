//! Soak run: many frames through `sterefo` with the focus and the aperture changing while
//! playing; reports frames in, frames out and resident memory at start and end.
//!
//! ```text
//! cargo run --release --example soak -- [FRAMES (default 10000)] [WIDTHxHEIGHT (default 320x192)]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use gst::prelude::*;

/// Resident memory of this process, MiB (from /proc/self/status).
fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let frames: u64 = args
        .next()
        .map_or(Ok(10_000), |a| a.parse())
        .context("FRAMES must be a number")?;
    let size = args.next().unwrap_or_else(|| "320x192".into());
    let (width, height) = size.split_once('x').context("size must be WIDTHxHEIGHT")?;
    gst::init()?;
    gststerefo::plugin_register_static()?;
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc name=left num-buffers={frames} pattern=ball ! video/x-raw,format=RGBA,width={width},height={height} ! s.sink_left \
         videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,format=RGBA,width={width},height={height} ! s.sink_right \
         sterefo name=s working-scale=0.5 max-disparity=64 ! fakesink name=sink sync=false"
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| anyhow!("not a pipeline"))?;
    let sterefo = pipeline.by_name("s").context("sterefo")?;
    let (frames_in, frames_out) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let counter = Arc::clone(&frames_in);
    pipeline
        .by_name("left")
        .context("left")?
        .static_pad("src")
        .context("pad")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counter.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    let counter = Arc::clone(&frames_out);
    let element = sterefo.clone();
    pipeline
        .by_name("sink")
        .context("sink")?
        .static_pad("sink")
        .context("pad")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            // Change focus and aperture from the streaming thread of another element while
            // playing, as an application thread would.
            let n = counter.fetch_add(1, Ordering::Relaxed);
            element.set_property("focus-disparity", (n % 64) as f32);
            element.set_property("aperture", 0.1 + 0.7 * ((n / 64) % 8) as f32 / 7.0);
            gst::PadProbeReturn::Ok
        });

    let start = Instant::now();
    let mut rss_start = f64::NAN;
    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().context("bus")?;
    loop {
        if rss_start.is_nan() && frames_out.load(Ordering::Relaxed) >= 100 {
            rss_start = resident_mib(); // after warm-up: model, shaders and buffers exist
        }
        let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(200)) else {
            continue;
        };
        match message.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => return Err(anyhow!("{} ({:?})", e.error(), e.debug())),
            _ => {}
        }
    }
    let rss_end = resident_mib();
    pipeline.set_state(gst::State::Null)?;
    let (input, output) = (
        frames_in.load(Ordering::Relaxed),
        frames_out.load(Ordering::Relaxed),
    );
    println!(
        "{size}: frames in {input}, frames out {output}, lost {}; resident memory after 100 frames {rss_start:.1} MiB, at the end {rss_end:.1} MiB; {:.1} s",
        input.saturating_sub(output),
        start.elapsed().as_secs_f64()
    );
    anyhow::ensure!(input == output, "frames were lost");
    Ok(())
}
