//! Where to focus: the focus disparity from a point, a region of interest or the user, with
//! the temporal smoothing of a focus puller (paper section 4.2: the focus follows a tracked
//! object, at the median disparity inside its box).

/// A rectangle in pixels (as `GstVideoRegionOfInterestMeta` carries it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Median disparity inside `rect` (clamped to the frame), or `None` when the clamped box is
/// empty or holds no finite value. `disparity` is `width x height`, row by row.
pub fn median_in(disparity: &[f32], width: usize, height: usize, rect: Rect) -> Option<f32> {
    let x0 = (rect.x as usize).min(width);
    let y0 = (rect.y as usize).min(height);
    let x1 = (rect.x as usize)
        .saturating_add(rect.width as usize)
        .min(width);
    let y1 = (rect.y as usize)
        .saturating_add(rect.height as usize)
        .min(height);
    let mut values: Vec<f32> = (y0..y1)
        .flat_map(|y| disparity[y * width + x0..y * width + x1].iter().copied())
        .filter(|d| d.is_finite())
        .collect();
    if values.is_empty() {
        return None;
    }
    let middle = values.len() / 2;
    let (_, median, _) = values.select_nth_unstable_by(middle, f32::total_cmp);
    Some(*median)
}

/// The box around a normalised point (0..1 each) used to read its disparity: 3% of the
/// frame's larger side, at least 5 pixels.
pub fn point_box(x: f64, y: f64, width: usize, height: usize) -> Rect {
    let side = ((width.max(height) as f64 * 0.03).round() as u32).max(5);
    let cx = (x.clamp(0.0, 1.0) * width as f64) as i64;
    let cy = (y.clamp(0.0, 1.0) * height as f64) as i64;
    let half = i64::from(side / 2);
    Rect {
        x: (cx - half).max(0) as u32,
        y: (cy - half).max(0) as u32,
        width: side,
        height: side,
    }
}

/// Exponential smoothing of the focus over running time: a step in the target is followed
/// with time constant `tau` seconds (0 = jump at once). Frames without a timestamp count as
/// one frame period each (the stream's framerate), so the focus still moves; with neither a
/// timestamp nor a framerate (still images) it jumps.
#[derive(Debug, Clone, Default)]
pub struct FocusPuller {
    current: Option<f32>,
    last_time_ns: Option<u64>,
}

impl FocusPuller {
    /// Moves toward `target` for a frame at running time `time_ns` (None: untimestamped,
    /// then `frame_ns`, the frame period, is the time that passed); returns the focus to use.
    pub fn follow(
        &mut self,
        target: f32,
        time_ns: Option<u64>,
        frame_ns: Option<u64>,
        tau_seconds: f64,
    ) -> f32 {
        let elapsed_ns = match (self.last_time_ns, time_ns) {
            (Some(last), Some(now)) if now > last => Some(now - last),
            (_, None) => frame_ns,
            _ => None,
        };
        let focus = match (self.current, elapsed_ns) {
            (Some(current), Some(elapsed)) if tau_seconds > 0.0 => {
                let keep = (-(elapsed as f64 * 1e-9) / tau_seconds).exp() as f32;
                current * keep + target * (1.0 - keep)
            }
            _ => target,
        };
        self.current = Some(focus);
        if time_ns.is_some() {
            self.last_time_ns = time_ns;
        }
        focus
    }

    /// The focus in use (after the last frame), if any.
    pub fn current(&self) -> Option<f32> {
        self.current
    }

    /// Forgets the history (after a flush or a new stream).
    pub fn reset(&mut self) {
        *self = FocusPuller::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_a_box_ignores_outside_and_non_finite() {
        let (w, h) = (6, 4);
        let mut disparity: Vec<f32> = (0..w * h).map(|p| p as f32).collect();
        disparity[7] = f32::NAN;
        // Box x 1..4, y 1..3: values 7(NaN) 8 9 13 14 15 -> median of 8 9 13 14 15 = 13.
        assert_eq!(
            median_in(
                &disparity,
                w,
                h,
                Rect {
                    x: 1,
                    y: 1,
                    width: 3,
                    height: 2
                }
            ),
            Some(13.0)
        );
        // Clamped to the frame; an empty box gives None.
        assert_eq!(
            median_in(
                &disparity,
                w,
                h,
                Rect {
                    x: 5,
                    y: 3,
                    width: 10,
                    height: 10
                }
            ),
            Some(23.0)
        );
        assert_eq!(
            median_in(
                &disparity,
                w,
                h,
                Rect {
                    x: 9,
                    y: 0,
                    width: 3,
                    height: 3
                }
            ),
            None
        );
        assert_eq!(
            median_in(
                &disparity,
                w,
                h,
                Rect {
                    x: 1,
                    y: 1,
                    width: 0,
                    height: 2
                }
            ),
            None
        );
    }

    #[test]
    fn puller_glides_with_its_time_constant_and_jumps_without() {
        let mut puller = FocusPuller::default();
        assert_eq!(puller.follow(10.0, Some(0), None, 0.5), 10.0);
        // One time constant later, 63% of the way to the new target.
        let focus = puller.follow(20.0, Some(500_000_000), None, 0.5);
        let one_tau = 10.0 + 10.0 * (1.0 - (-1.0f32).exp());
        assert!((focus - one_tau).abs() < 1e-4, "{focus}");
        let mut jumpy = FocusPuller::default();
        jumpy.follow(10.0, Some(0), None, 0.0);
        assert_eq!(jumpy.follow(20.0, Some(40_000_000), None, 0.0), 20.0);
    }

    #[test]
    fn untimestamped_frames_count_one_frame_period_or_jump_without_a_framerate() {
        // 25 frames of 20 ms without timestamps are one time constant of 0.5 s.
        let mut puller = FocusPuller::default();
        puller.follow(10.0, None, Some(20_000_000), 0.5);
        let mut focus = 10.0;
        for _ in 0..25 {
            focus = puller.follow(20.0, None, Some(20_000_000), 0.5);
        }
        let one_tau = 10.0 + 10.0 * (1.0 - (-1.0f32).exp());
        assert!((focus - one_tau).abs() < 1e-3, "{focus}");
        // no timestamp and no framerate (a still image): the target at once
        let mut still = FocusPuller::default();
        still.follow(10.0, None, None, 0.5);
        assert_eq!(still.follow(20.0, None, None, 0.5), 20.0);
    }

    #[test]
    fn point_box_stays_in_the_frame() {
        let rect = point_box(1.0, 0.0, 100, 50);
        assert_eq!(
            rect,
            Rect {
                x: 98,
                y: 0,
                width: 5,
                height: 5
            }
        );
    }
}
