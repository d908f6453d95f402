//! Shared by the pipeline tests: plugin registration, running a pipeline under a timeout,
//! and feeding an aggregator's input from its own thread.
#![allow(dead_code)]

use std::sync::Once;
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
    // A failed state change still posts its error on the bus, read below.
    let _ = pipeline.set_state(gst::State::Playing);
    let bus = pipeline.bus().expect("bus");
    let deadline = Instant::now() + limit;
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Err("timed out: the pipeline hung".to_string());
        }
        let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(left.as_millis() as u64))
        else {
            continue;
        };
        match message.view() {
            gst::MessageView::Eos(_) => break Ok(()),
            gst::MessageView::Error(e) => break Err(format!("{} ({:?})", e.error(), e.debug())),
            _ => {}
        }
    };
    pipeline.set_state(gst::State::Null).expect("to NULL");
    result
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
