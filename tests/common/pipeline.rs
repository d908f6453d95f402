//! Shared by the pipeline tests: plugin registration, running a pipeline under a timeout,
//! and feeding an aggregator's input from its own thread.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gst::prelude::*;

/// Initialises GStreamer and registers the plugin statically, once per test binary.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().expect("GStreamer");
        gststerefo::plugin_register_static().expect("register sterefo");
    });
}

/// Runs a pipeline to EOS or error within `limit`; the error's text and debug on failure.
pub fn run(pipeline: &gst::Element, limit: Duration) -> Result<(), String> {
    run_until(pipeline, limit).map_err(|failure| match failure {
        Failure::Error { message, debug } => format!("{message} ({debug:?})"),
        Failure::Hung => "timed out: the pipeline hung".to_string(),
    })
}

/// Why a pipeline run did not reach EOS.
#[derive(Debug)]
pub enum Failure {
    /// An error message: its text (what an application shows a user) and its debug details.
    Error {
        message: String,
        debug: Option<String>,
    },
    /// Neither EOS nor an error within the time limit.
    Hung,
}

/// Runs a pipeline that must fail within `limit`; the message of its error (what an
/// application shows a user), without the debug details.
pub fn error_message(pipeline: &gst::Element, limit: Duration) -> String {
    match run_until(pipeline, limit) {
        Ok(()) => panic!("the pipeline ran to EOS but must fail"),
        Err(Failure::Error { message, debug }) => {
            println!("error: {message} ({debug:?})");
            message
        }
        Err(Failure::Hung) => panic!("timed out: the pipeline hung instead of failing"),
    }
}

/// Runs a pipeline to EOS or error within `limit`, then sets it to NULL.
pub fn run_until(pipeline: &gst::Element, limit: Duration) -> Result<(), Failure> {
    // A failed state change still posts its error on the bus, read below.
    let _ = pipeline.set_state(gst::State::Playing);
    let bus = pipeline.bus().expect("bus");
    let deadline = Instant::now() + limit;
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Err(Failure::Hung);
        }
        let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(left.as_millis() as u64))
        else {
            continue;
        };
        match message.view() {
            gst::MessageView::Eos(_) => break Ok(()),
            gst::MessageView::Error(e) => {
                break Err(Failure::Error {
                    message: e.error().message().to_string(),
                    debug: e.debug().map(|d| d.to_string()),
                });
            }
            _ => {}
        }
    };
    pipeline.set_state(gst::State::Null).expect("to NULL");
    result
}

/// The sink pad of the element `name` in `pipeline`.
pub fn sink_pad(pipeline: &gst::Element, name: &str) -> gst::Pad {
    pipeline
        .downcast_ref::<gst::Bin>()
        .expect("a bin")
        .by_name(name)
        .unwrap_or_else(|| panic!("no element {name}"))
        .static_pad("sink")
        .expect("sink pad")
}

/// Counts the buffers that reach the sink pad of the element `name` (a probe on it).
pub fn count_buffers(pipeline: &gst::Element, name: &str) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    sink_pad(pipeline, name).add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        gst::PadProbeReturn::Ok
    });
    count
}

/// The largest difference between two byte images of the same length, in levels.
pub fn worst_difference(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len(), "images of different sizes");
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

/// Collects the timestamps (PTS, milliseconds) of the buffers that reach the sink pad of
/// the element `name` (a probe on it).
pub fn timestamps_at(pipeline: &gst::Element, name: &str) -> Arc<Mutex<Vec<Option<u64>>>> {
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&times);
    sink_pad(pipeline, name).add_probe(gst::PadProbeType::BUFFER, move |_, probe| {
        let pts = probe.buffer().and_then(|b| b.pts()).map(|t| t.mseconds());
        seen.lock().unwrap_or_else(|e| e.into_inner()).push(pts);
        gst::PadProbeReturn::Ok
    });
    times
}

/// Pushes buffers then EOS into a harness from a thread (an aggregator's sink pad blocks in
/// `push` until its frame is consumed); the thread hands the harness back when done.
pub fn feed(
    mut harness: gst_check::Harness,
    buffers: Vec<gst::Buffer>,
) -> JoinHandle<gst_check::Harness> {
    std::thread::spawn(move || {
        for buffer in buffers {
            if harness.push(buffer).is_err() {
                break;
            }
        }
        harness.push_event(gst::event::Eos::new());
        harness
    })
}

/// `data` (tightly packed RGBA, `width` x `height`) with each row `padding` bytes longer
/// (junk in the padding), put in a buffer by `buffer_of` and described by a `GstVideoMeta`,
/// as a camera or decoder would send it.
pub fn padded_rgba(
    data: &[u8],
    width: usize,
    height: usize,
    padding: usize,
    buffer_of: impl FnOnce(Vec<u8>) -> gst::Buffer,
) -> gst::Buffer {
    let stride = width * 4 + padding;
    let mut bytes = vec![0xA5u8; stride * height];
    for (y, row) in data.chunks_exact(width * 4).enumerate() {
        bytes[y * stride..y * stride + width * 4].copy_from_slice(row);
    }
    let mut buffer = buffer_of(bytes);
    gst_video::VideoMeta::add_full(
        buffer.get_mut().expect("new buffer"),
        gst_video::VideoFrameFlags::empty(),
        gst_video::VideoFormat::Rgba,
        width as u32,
        height as u32,
        &[0],
        &[stride as i32],
    )
    .expect("video meta");
    buffer
}
