//! Pairing of frames from two inputs by running time (never by arrival order).
//!
//! The rule: two head frames whose running times differ by at most the tolerance are a pair.
//! Otherwise the earlier one can have no partner any more (its partner would have arrived
//! before the other input's head) and is dropped. Frames without a timestamp pair with
//! whatever is at the other input's head, which is what still images need.

/// What to do with the two inputs' head frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// Use both together.
    Pair,
    /// Drop the first input's head: it is older than any partner that can still come.
    DropFirst,
    /// Drop the second input's head.
    DropSecond,
}

/// Decides from the running times (nanoseconds) of the two head frames.
pub fn pair(first: Option<u64>, second: Option<u64>, tolerance_ns: u64) -> Pairing {
    match (first, second) {
        (Some(a), Some(b)) if a.abs_diff(b) > tolerance_ns => {
            if a < b {
                Pairing::DropFirst
            } else {
                Pairing::DropSecond
            }
        }
        _ => Pairing::Pair,
    }
}

/// Tolerance for a stream of the given frame duration (the buffer's, else the caps'
/// framerate's): half a frame, or 1 ms when unknown.
pub fn tolerance_ns(frame_duration_ns: Option<u64>) -> u64 {
    frame_duration_ns.map_or(1_000_000, |d| d / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_times_pair_and_stale_frames_drop() {
        let ms = 1_000_000;
        assert_eq!(pair(Some(0), Some(5 * ms), 16 * ms), Pairing::Pair);
        assert_eq!(pair(Some(0), Some(33 * ms), 16 * ms), Pairing::DropFirst);
        assert_eq!(
            pair(Some(66 * ms), Some(33 * ms), 16 * ms),
            Pairing::DropSecond
        );
        assert_eq!(pair(None, Some(33 * ms), 16 * ms), Pairing::Pair);
        assert_eq!(tolerance_ns(Some(40 * ms)), 20 * ms);
        assert_eq!(tolerance_ns(None), ms);
    }
}
