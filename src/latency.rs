//! The processing latency an element reports: how long it takes to turn a pair of input
//! frames into an output frame, measured frame by frame.
//!
//! A live pipeline must know this to give each frame time to reach the sink; the elements
//! report it with `gst_aggregator_set_latency`, which answers LATENCY queries and posts a
//! latency message whenever it changes. The rule: the reported latency is
//! [`HEADROOM`] times the slowest frame measured since the stream started, never lowered
//! while the stream runs (a lowered latency would make frames already scheduled late). The
//! first frame after a start or a change of frame size is not counted: it includes one-off
//! costs (GPU pipelines and buffers, the network's first run at a new size).

/// Reported latency over the slowest measured frame: room for frames a little slower than
/// any seen so far, so that a latency message is not posted for every small increase.
pub const HEADROOM: f64 = 1.25;

/// Frame-by-frame measurement of the processing time, and the latency to report.
#[derive(Debug, Clone, Default)]
pub struct LatencyTracker {
    /// The latency reported so far, nanoseconds (0 before any frame was measured).
    reported_ns: u64,
    /// Frames still to skip before measuring (warm-up).
    skip: u32,
}

impl LatencyTracker {
    /// A tracker for a stream about to start: the first frame is a warm-up.
    pub fn new() -> Self {
        LatencyTracker {
            reported_ns: 0,
            skip: 1,
        }
    }

    /// The next frame is a warm-up again (its size changed); the reported latency stays.
    pub fn warm_up(&mut self) {
        self.skip = 1;
    }

    /// Records one frame's processing time, nanoseconds. Returns the new latency to report
    /// when it grows, `None` when the reported one still covers this frame.
    pub fn record(&mut self, elapsed_ns: u64) -> Option<u64> {
        if self.skip > 0 {
            self.skip -= 1;
            return None;
        }
        if elapsed_ns <= self.reported_ns {
            return None;
        }
        self.reported_ns = (elapsed_ns as f64 * HEADROOM).ceil() as u64;
        Some(self.reported_ns)
    }

    /// The latency reported so far, nanoseconds.
    pub fn reported_ns(&self) -> u64 {
        self.reported_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_frames_are_skipped_and_the_latency_only_grows() {
        let ms = 1_000_000;
        let mut tracker = LatencyTracker::new();
        // The first frame (GPU set-up, first network run) does not count.
        assert_eq!(tracker.record(900 * ms), None);
        assert_eq!(tracker.reported_ns(), 0);
        assert_eq!(tracker.record(40 * ms), Some(50 * ms));
        // Frames the headroom covers post nothing; a slower one raises it; faster ones
        // never lower it.
        assert_eq!(tracker.record(48 * ms), None);
        assert_eq!(tracker.record(80 * ms), Some(100 * ms));
        assert_eq!(tracker.record(10 * ms), None);
        assert_eq!(tracker.reported_ns(), 100 * ms);
        // A new frame size: its first frame is a warm-up again.
        tracker.warm_up();
        assert_eq!(tracker.record(2000 * ms), None);
        assert_eq!(tracker.record(120 * ms), Some(150 * ms));
    }
}
