//! Aggregator glue shared by `refocus` and `sterefo`: taking the next pair of frames from two
//! sink pads, by running time (the rule is in [`crate::pairing`]).

use std::sync::Mutex;
use std::time::Duration;

use gst_base::prelude::*;

use crate::latency::LatencyTracker;
use crate::pairing::{Pairing, pair, tolerance_ns};

/// Running time of a buffer's PTS in its pad's segment, nanoseconds.
pub fn running_time(pad: &gst_base::AggregatorPad, buffer: &gst::Buffer) -> Option<u64> {
    let segment = pad.segment();
    let segment = segment.downcast_ref::<gst::ClockTime>()?;
    segment.to_running_time(buffer.pts()?).map(|t| t.nseconds())
}

/// How long a frame lasts, nanoseconds: its duration, else one period of the framerate in
/// its pad's caps (free-running sources often set no durations); None for still images
/// (framerate 0/1) and unknown rates.
pub fn frame_duration_ns(pad: &gst_base::AggregatorPad, buffer: &gst::Buffer) -> Option<u64> {
    buffer.duration().map(|d| d.nseconds()).or_else(|| {
        let caps = pad.current_caps()?;
        let rate = caps.structure(0)?.get::<gst::Fraction>("framerate").ok()?;
        let (numer, denom) = (
            u64::try_from(rate.numer()).ok()?,
            u64::try_from(rate.denom()).ok()?,
        );
        (numer > 0 && denom > 0).then(|| 1_000_000_000 * denom / numer)
    })
}

/// A GAP event as the aggregator base class queues it: an empty buffer flagged GAP.
fn is_gap(buffer: &gst::Buffer) -> bool {
    buffer.flags().contains(gst::BufferFlags::GAP) && buffer.size() == 0
}

/// When a live aggregator stops waiting for a frame's partner: the running time of the
/// earliest frame waiting on either input (the base class waits until then plus the
/// pipeline's latency, then calls `aggregate` with `timeout`); none while both are empty.
pub fn next_time(pads: &[&gst_base::AggregatorPad]) -> Option<gst::ClockTime> {
    pads.iter()
        .filter_map(|pad| running_time(pad, &pad.peek_buffer()?))
        .min()
        .map(gst::ClockTime::from_nseconds)
}

/// Pops the next pair of frames, dropping (and logging) frames that have no partner.
/// `Err(Eos)` once either input has ended with nothing left to pair; `NEED_DATA` while an
/// input has no frame yet. On a live timeout (`timeout`: the deadline of [`next_time`]
/// passed) a frame whose partner has not come is dropped, so one stalled input does not
/// stall the output: a stereo frame cannot be made from one view, and an older partner
/// would be a wrong one.
pub fn next_pair(
    first: &gst_base::AggregatorPad,
    second: &gst_base::AggregatorPad,
    timeout: bool,
    category: gst::DebugCategory,
) -> Result<(gst::Buffer, gst::Buffer), gst::FlowError> {
    loop {
        let (a, b) = match (first.peek_buffer(), second.peek_buffer()) {
            (Some(a), Some(b)) => (a, b),
            (None, _) if first.is_eos() => return Err(gst::FlowError::Eos),
            (_, None) if second.is_eos() => return Err(gst::FlowError::Eos),
            (waiting, _) if timeout => {
                let pad = if waiting.is_some() { first } else { second };
                gst::debug!(
                    category,
                    obj = pad,
                    "dropping a frame: its partner did not arrive within the latency"
                );
                pad.drop_buffer();
                return Err(gst_base::AGGREGATOR_FLOW_NEED_DATA);
            }
            _ => return Err(gst_base::AGGREGATOR_FLOW_NEED_DATA),
        };
        let tolerance = tolerance_ns(frame_duration_ns(first, &a));
        match pair(running_time(first, &a), running_time(second, &b), tolerance) {
            Pairing::Pair if is_gap(&a) || is_gap(&b) => {
                // a gap event on either input (the base class queues it as an empty GAP
                // buffer): no frame can be made at that time
                gst::debug!(
                    category,
                    obj = first,
                    "gap at {:?}: no frame",
                    a.pts().or(b.pts())
                );
                first.drop_buffer();
                second.drop_buffer();
            }
            Pairing::Pair => {
                first.drop_buffer();
                second.drop_buffer();
                return Ok((a, b));
            }
            Pairing::DropFirst => {
                gst::debug!(
                    category,
                    obj = first,
                    "dropping frame {:?}: no partner at its running time",
                    a.pts()
                );
                first.drop_buffer();
            }
            Pairing::DropSecond => {
                gst::debug!(
                    category,
                    obj = second,
                    "dropping frame {:?}: no partner at its running time",
                    b.pts()
                );
                second.drop_buffer();
            }
        }
    }
}

/// Pops the next frame of the only input (a stream that carries both views), skipping GAP
/// events. `Err(Eos)` once it has ended, `NEED_DATA` while it has no frame.
pub fn next_single(
    pad: &gst_base::AggregatorPad,
    category: gst::DebugCategory,
) -> Result<gst::Buffer, gst::FlowError> {
    loop {
        match pad.pop_buffer() {
            Some(buffer) if is_gap(&buffer) => {
                gst::debug!(category, obj = pad, "gap at {:?}: no frame", buffer.pts());
            }
            Some(buffer) => return Ok(buffer),
            None if pad.is_eos() => return Err(gst::FlowError::Eos),
            None => return Err(gst_base::AGGREGATOR_FLOW_NEED_DATA),
        }
    }
}

/// How long an input may stay unlinked once the other has started streaming.
pub const LINK_GRACE: gst::ClockTime = gst::ClockTime::from_seconds(3);

/// Catches an input that is never linked, where an aggregator would otherwise wait forever:
/// armed when a stream starts on either pad, it posts an element error if a sink pad still
/// has no peer `LINK_GRACE` later (pads linked late by decodebin and the like have time).
#[derive(Default)]
pub struct LinkWatch {
    pending: std::sync::Mutex<Option<gst::SingleShotClockId>>,
}

impl LinkWatch {
    pub fn arm(&self, element: &gst::Element, pads: &[&gst_base::AggregatorPad]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.is_some() {
            return;
        }
        let clock = gst::SystemClock::obtain();
        let now = clock.time();
        let id = clock.new_single_shot_id(now + LINK_GRACE);
        let element = element.downgrade();
        let pads: Vec<_> = pads.iter().map(|p| p.downgrade()).collect();
        let armed = id.wait_async(move |_, _, _| {
            let Some(element) = element.upgrade() else {
                return;
            };
            for pad in pads.iter().filter_map(|p| p.upgrade()) {
                if pad.peer().is_none() {
                    gst::element_error!(
                        element,
                        gst::CoreError::Pad,
                        ("{} is not linked", pad.name()),
                        [
                            "{} has no input after {LINK_GRACE}; link both inputs of {}",
                            pad.name(),
                            element.name()
                        ]
                    );
                }
            }
        });
        if armed.is_ok() {
            *pending = Some(id);
        }
    }

    pub fn disarm(&self) {
        if let Some(id) = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            id.unschedule();
        }
    }
}

/// The video info of caps arriving on a sink pad; posts an element error and gives `None`
/// when they cannot be parsed.
pub fn caps_video_info(
    element: &gst::Element,
    caps: &gst::CapsRef,
) -> Option<gst_video::VideoInfo> {
    let info = gst_video::VideoInfo::from_caps(caps).ok();
    if info.is_none() {
        gst::element_error!(
            element,
            gst::StreamError::Format,
            ["cannot parse caps {caps}"]
        );
    }
    info
}

/// A new output buffer of `size` bytes for the input frame `like` that arrived on `pad`:
/// its timestamp is the frame's running time placed in the output segment (as GStreamer's
/// aggregators do, so inputs whose segments do not start at 0, after `concat`, a seek or
/// from a live source, come out in order and at the right time); its duration, flags and
/// metadata are the frame's (see [`copy_metadata`]).
pub fn output_buffer(
    element: &gst_base::Aggregator,
    pad: &gst_base::AggregatorPad,
    size: usize,
    like: &gst::Buffer,
) -> Result<gst::Buffer, gst::FlowError> {
    let mut buffer = gst::Buffer::with_size(size).map_err(|_| gst::FlowError::Error)?;
    {
        let buffer = buffer.get_mut().expect("new buffer is writable");
        buffer.set_pts(output_time(element, running_time(pad, like)));
        buffer.set_duration(like.duration());
        copy_metadata(like, buffer);
    }
    Ok(buffer)
}

/// A running time (nanoseconds) as a position in the element's output segment.
fn output_time(
    element: &gst_base::Aggregator,
    running_time: Option<u64>,
) -> Option<gst::ClockTime> {
    let running_time = gst::ClockTime::from_nseconds(running_time?);
    let segment = element.src_pad().segment();
    match segment.downcast_ref::<gst::ClockTime>() {
        Some(segment) => segment.position_from_running_time(running_time),
        None => Some(running_time),
    }
}

/// Answers a caps query on the sink pad whose format the output takes: the pad's template
/// narrowed to what downstream accepts, so that an upstream converter picks a format
/// downstream can take (as `compositor` does). Where downstream takes none of the
/// template's formats, the template: negotiation then fails with `update_src_caps`'s
/// message, which says what to put after the element. `formats_only`: downstream's sizes
/// and multiview fields say nothing about this input (a frame that packs two views).
pub fn answer_caps_from_downstream(
    element: &gst_base::Aggregator,
    pad: &gst_base::AggregatorPad,
    query: &mut gst::query::Caps,
    formats_only: bool,
) {
    let template = pad.pad_template_caps();
    let mut downstream = element.src_pad().peer_query_caps(None);
    if formats_only {
        let caps = downstream.make_mut();
        for structure in caps.iter_mut() {
            structure.remove_fields([
                "width",
                "height",
                "pixel-aspect-ratio",
                "multiview-mode",
                "multiview-flags",
            ]);
        }
        downstream.simplify();
    }
    let mut caps = downstream.intersect_with_mode(&template, gst::CapsIntersectMode::First);
    if caps.is_empty() {
        caps = template;
    }
    if let Some(filter) = query.filter() {
        caps = filter.intersect_with_mode(&caps, gst::CapsIntersectMode::First);
    }
    query.set_result(&caps);
}

/// Meta tags an output frame of the input's size and orientation keeps valid.
const KEPT_META_TAGS: [&str; 3] = ["video", "size", "orientation"];

/// Copies `like`'s flags and the metas that stay true of an output frame of the same size
/// and orientation, by the rule of GStreamer's video filters: metas without tags (custom
/// metas, reference timestamps) and those tagged only video / size / orientation (regions
/// of interest, a tracker's boxes). Not the `GstVideoMeta`: the output has its own layout.
/// Metas tagged with the colour space or memory are dropped, since the output format (for
/// the disparity outputs) and memory are new.
pub fn copy_metadata(like: &gst::BufferRef, out: &mut gst::BufferRef) {
    let _ = like.copy_into(out, gst::BufferCopyFlags::FLAGS, ..);
    for meta in like.iter_meta::<gst::Meta>() {
        if meta.api() == gst_video::VideoMeta::meta_api()
            || !meta.tags_contain_only(&KEPT_META_TAGS)
        {
            continue;
        }
        let _ = meta.transform(out, &gst::meta::MetaTransformCopy::new(..));
    }
}

/// Reports the element's processing latency (the rule is in [`crate::latency`]) to the
/// aggregator base class, which adds it to the upstream latency in LATENCY queries and posts
/// a latency message when it changes.
#[derive(Default)]
pub struct LatencyReport {
    tracker: Mutex<LatencyTracker>,
}

impl LatencyReport {
    /// The read-only `processing-latency` property.
    pub fn spec() -> glib::ParamSpec {
        glib::ParamSpecUInt64::builder("processing-latency")
            .nick("Processing latency")
            .blurb("The latency reported for this element's own work, nanoseconds: 1.25 x the slowest frame since start (the first frame, a warm-up, excluded)")
            .read_only()
            .build()
    }

    /// A stream starts: nothing measured yet, the first frame is a warm-up.
    pub fn reset(&self, aggregator: &gst_base::Aggregator) {
        *self.tracker.lock().unwrap_or_else(|e| e.into_inner()) = LatencyTracker::new();
        aggregator.set_latency(gst::ClockTime::ZERO, gst::ClockTime::ZERO);
    }

    /// The frame size changes: the next frame is a warm-up.
    pub fn warm_up(&self) {
        self.tracker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .warm_up();
    }

    /// Records one frame's processing time; reports a latency that grew.
    pub fn record(
        &self,
        aggregator: &gst_base::Aggregator,
        elapsed: Duration,
        category: gst::DebugCategory,
    ) {
        let elapsed_ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let grown = self
            .tracker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(elapsed_ns);
        if let Some(latency) = grown.map(gst::ClockTime::from_nseconds) {
            gst::debug!(
                category,
                obj = aggregator,
                "a frame took {} ms: reporting a processing latency of {latency}",
                elapsed.as_millis()
            );
            aggregator.set_latency(latency, latency);
        }
    }

    /// The processing latency reported so far.
    pub fn reported(&self) -> gst::ClockTime {
        gst::ClockTime::from_nseconds(
            self.tracker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reported_ns(),
        )
    }
}
