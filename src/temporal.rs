//! Temporal stability for video: the disparity filtered over time, so that a static scene
//! does not flicker, without ghosts behind moving objects.
//!
//! A per-pixel exponential moving average, gated by motion: where the new disparity d_t is
//! within `gate` pixels of the filtered one f_{t-1}, `f_t = f_{t-1} + (1 - s) (d_t -
//! f_{t-1})` with the smoothing `s` in [0, 1); where it is farther (something moved, or the
//! scene cut), `f_t = d_t` at once, so a moving edge never trails a ghost of where it was.
//! The network's frame-to-frame jitter on a static scene (sensor noise) is a fraction of a
//! pixel, well inside a gate of a pixel or two; an object moving across the background
//! changes the disparity by its depth step, far outside it.

/// The filter's memory: the last filtered disparity of one frame size.
#[derive(Debug, Default, Clone)]
pub struct TemporalFilter {
    previous: Vec<f32>,
    width: usize,
    height: usize,
}

impl TemporalFilter {
    /// Forgets the past (after a seek, a flush or a size change).
    pub fn reset(&mut self) {
        self.previous.clear();
    }

    /// Filters `disparity` (`width` x `height`, row by row) in place with smoothing
    /// `smoothing` in [0, 1) and `gate` pixels; 0 smoothing leaves it as it is.
    pub fn apply(
        &mut self,
        disparity: &mut [f32],
        width: usize,
        height: usize,
        smoothing: f32,
        gate: f32,
    ) {
        if smoothing <= 0.0 {
            self.reset();
            return;
        }
        if (width, height) != (self.width, self.height) || self.previous.len() != disparity.len() {
            (self.width, self.height) = (width, height);
            self.previous.clear();
            self.previous.extend_from_slice(disparity);
            return;
        }
        let follow = 1.0 - smoothing.min(0.99);
        for (d, f) in disparity.iter_mut().zip(self.previous.iter_mut()) {
            let change = *d - *f;
            if change.abs() <= gate && f.is_finite() {
                *f += follow * change;
                *d = *f;
            } else {
                *f = *d;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic jitter in [-amplitude, amplitude].
    fn jitter(i: usize, t: usize, amplitude: f32) -> f32 {
        let h = ((i * 7919 + t * 104_729) % 1000) as f32 / 999.0;
        amplitude * (2.0 * h - 1.0)
    }

    #[test]
    fn a_static_scene_flickers_less() {
        let (width, height) = (32, 8);
        let mut filter = TemporalFilter::default();
        let (mut raw_flicker, mut filtered_flicker) = (0.0, 0.0);
        let mut previous: Option<(Vec<f32>, Vec<f32>)> = None;
        for t in 0..60 {
            let raw: Vec<f32> = (0..width * height)
                .map(|i| 20.0 + jitter(i, t, 0.4))
                .collect();
            let mut filtered = raw.clone();
            filter.apply(&mut filtered, width, height, 0.8, 1.5);
            if let Some((raw_before, filtered_before)) = &previous {
                let change = |a: &[f32], b: &[f32]| {
                    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
                };
                raw_flicker += change(&raw, raw_before);
                filtered_flicker += change(&filtered, filtered_before);
            }
            previous = Some((raw, filtered));
        }
        assert!(
            filtered_flicker < 0.25 * raw_flicker,
            "{filtered_flicker} against {raw_flicker}"
        );
    }

    #[test]
    fn a_moving_edge_leaves_no_ghost() {
        let width = 16;
        let mut filter = TemporalFilter::default();
        // an object of disparity 30 on a background of 10, one pixel further right each frame
        for t in 0..10 {
            let mut disparity: Vec<f32> = (0..width)
                .map(|x| if (t..t + 4).contains(&x) { 30.0 } else { 10.0 })
                .collect();
            let raw = disparity.clone();
            filter.apply(&mut disparity, width, 1, 0.9, 1.5);
            assert_eq!(
                disparity, raw,
                "frame {t}: the filtered frame is where the object is"
            );
        }
    }

    #[test]
    fn no_smoothing_and_new_sizes_pass_frames_through() {
        let mut filter = TemporalFilter::default();
        let mut d = vec![5.0f32; 4];
        filter.apply(&mut d, 2, 2, 0.0, 1.0);
        assert_eq!(d, [5.0; 4]);
        filter.apply(&mut d, 2, 2, 0.5, 1.0);
        let mut other = vec![9.0f32; 6];
        filter.apply(&mut other, 3, 2, 0.5, 1.0);
        assert_eq!(other, [9.0; 6], "a new size starts afresh");
    }
}
