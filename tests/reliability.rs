//! Reliability: state cycles and mid-stream renegotiation, each pipeline under a timeout.

#[path = "common/pipeline.rs"]
mod pipeline;

use pipeline::{init, run};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;

#[test]
fn a_hundred_null_playing_cycles() {
    init();
    for (element, cycles) in [("refocus", 100), ("sterefo", 100)] {
        let description = if element == "refocus" {
            "refocus name=e ! fakesink \
             videotestsrc num-buffers=2 ! video/x-raw,format=RGBA,width=32,height=24 ! e.sink \
             videotestsrc num-buffers=2 ! video/x-raw,format=GRAY16_LE,width=32,height=24 ! e.sink_disparity"
        } else {
            "sterefo name=e ! fakesink \
             videotestsrc num-buffers=2 ! video/x-raw,format=RGBA,width=32,height=24 ! e.sink_left \
             videotestsrc num-buffers=2 ! video/x-raw,format=RGBA,width=32,height=24 ! e.sink_right"
        };
        let pipeline = gst::parse::launch(description).expect("pipeline");
        for cycle in 0..cycles {
            run(&pipeline, Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{element} cycle {cycle}: {e}"));
        }
    }
}

#[test]
fn resolution_changes_mid_stream_are_followed() {
    init();
    // Both views come from one source through a tee, so they change size together.
    let pipeline = gst::parse::launch(
        "videotestsrc name=source num-buffers=12 pattern=ball ! videoscale ! capsfilter name=size \
           caps=video/x-raw,format=RGBA,width=64,height=48 ! tee name=t \
         t. ! queue ! s.sink_left  t. ! queue ! s.sink_right \
         sterefo name=s ! fakesink name=sink",
    )
    .expect("pipeline")
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    let capsfilter = pipeline.by_name("size").expect("capsfilter");
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&sizes);
    let count = Arc::new(AtomicUsize::new(0));
    let frames = Arc::clone(&count);
    let source = pipeline.by_name("source").expect("source");
    // After 5 frames leave the source, switch it to a larger size.
    source
        .static_pad("src")
        .expect("src")
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            if frames.fetch_add(1, Ordering::SeqCst) == 5 {
                capsfilter.set_property(
                    "caps",
                    gst::Caps::builder("video/x-raw")
                        .field("format", "RGBA")
                        .field("width", 96)
                        .field("height", 64)
                        .build(),
                );
            }
            gst::PadProbeReturn::Ok
        });
    pipeline
        .by_name("sink")
        .expect("sink")
        .static_pad("sink")
        .expect("pad")
        .add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
            if let Some(info) = pad
                .current_caps()
                .and_then(|c| gst_video::VideoInfo::from_caps(&c).ok())
            {
                seen.lock().unwrap().push((info.width(), info.height()));
            }
            gst::PadProbeReturn::Ok
        });
    run(pipeline.upcast_ref(), Duration::from_secs(60)).expect("runs to EOS through the change");
    let sizes = sizes.lock().unwrap();
    assert_eq!(sizes.len(), 12, "no frame lost: {sizes:?}");
    assert_eq!(sizes.first(), Some(&(64, 48)));
    assert_eq!(sizes.last(), Some(&(96, 64)));
}

#[test]
fn a_flushing_seek_restarts_both_inputs_and_ends_at_the_stop_position() {
    init();
    let pipeline = gst::parse::launch(
        "videotestsrc name=left ! video/x-raw,format=RGBA,width=48,height=32,framerate=25/1 ! s.sink_left \
         videotestsrc name=right pattern=ball ! video/x-raw,format=RGBA,width=48,height=32,framerate=25/1 ! s.sink_right \
         sterefo name=s focus-smoothing=0 ! fakesink name=sink sync=false",
    )
    .expect("pipeline");
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&times);
    let sink = pipeline
        .downcast_ref::<gst::Bin>()
        .unwrap()
        .by_name("sink")
        .expect("sink");
    sink.static_pad("sink")
        .expect("pad")
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(pts) = info.buffer().and_then(|b| b.pts()) {
                seen.lock().unwrap().push(pts.mseconds());
            }
            gst::PadProbeReturn::Ok
        });
    pipeline.set_state(gst::State::Paused).expect("to PAUSED");
    let _ = pipeline.state(gst::ClockTime::from_seconds(30));
    // From 1 s to 1.4 s: ten frames at 25 fps, then EOS (the sources never end by themselves).
    // The flush drops whatever was prerolled before the seek.
    times.lock().unwrap().clear();
    pipeline
        .seek(
            1.0,
            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
            gst::SeekType::Set,
            gst::ClockTime::from_seconds(1),
            gst::SeekType::Set,
            gst::ClockTime::from_mseconds(1400),
        )
        .expect("seek");
    run(&pipeline, Duration::from_secs(60)).expect("EOS at the seek's stop position");
    let times = times.lock().unwrap();
    assert_eq!(times.first(), Some(&1000), "{times:?}");
    assert_eq!(times.len(), 10, "{times:?}");
}

/// Run in a child process by `no_gpu_adapter_is_a_clear_error` with wgpu limited to a
/// backend this machine does not have.
#[test]
#[ignore = "run by no_gpu_adapter_is_a_clear_error in a child process"]
fn child_refocus_without_an_adapter() {
    init();
    let pipeline = gst::parse::launch(
        "refocus name=r ! fakesink \
         videotestsrc num-buffers=2 ! video/x-raw,format=RGBA,width=32,height=24 ! r.sink \
         videotestsrc num-buffers=2 ! video/x-raw,format=GRAY16_LE,width=32,height=24 ! r.sink_disparity",
    )
    .expect("pipeline");
    let error = run(&pipeline, Duration::from_secs(30)).expect_err("must fail without an adapter");
    println!("ELEMENT ERROR: {error}");
}

#[test]
fn no_gpu_adapter_is_a_clear_error() {
    // wgpu reads WGPU_BACKEND once per process, so the check runs in a child process.
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_refocus_without_an_adapter",
            "--nocapture",
        ])
        .env("WGPU_BACKEND", "dx12")
        .output()
        .expect("child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ELEMENT ERROR") && stdout.contains("no usable GPU adapter"),
        "{stdout}"
    );
}

#[test]
fn different_framerates_pair_by_time_and_end() {
    init();
    // 25 fps against 30 fps: only frames within half a frame of each other pair; the rest are
    // dropped, and the stream still ends.
    let pipeline = gst::parse::launch(
        "refocus name=r ! fakesink \
         videotestsrc num-buffers=25 ! video/x-raw,format=RGBA,width=32,height=24,framerate=25/1 ! r.sink \
         videotestsrc num-buffers=30 ! video/x-raw,format=GRAY16_LE,width=32,height=24,framerate=30/1 ! r.sink_disparity",
    )
    .expect("pipeline");
    run(&pipeline, Duration::from_secs(60)).expect("EOS");
}
