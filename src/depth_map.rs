//! Depth cameras into the renderer: a GRAY16 depth map (RealSense `Z16`, ZED depth:
//! millimetres) turned into the disparity the layered depth of field works in.
//!
//! For a rectified pair of focal length `f` (pixels) and baseline `B` (metres), a point at
//! distance `Z` (metres) has disparity `d = f B / Z` pixels. A depth level `v` is `Z = v u`
//! metres (`u` = the unit, 0.001 for millimetres), so `d = k / v` with `k = f B / u`; a user
//! who knows `k` for a camera gives it directly. A level of 0 is no measurement (RealSense
//! and ZED mark shadows and out-of-range pixels so); it becomes the nearest valid
//! *background* along its row (the farther of the nearest valid pixels to its left and
//! right), the way depth holes are usually filled: holes lie beside near objects, in what
//! the second camera or the projector did not see, so the background is the likely surface.

/// Turns depth levels into disparity, `d = k / v`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthToDisparity {
    /// `k` in `d = k / v`: pixels x levels.
    scale: f64,
    /// `u`: metres per level.
    unit: f64,
}

impl DepthToDisparity {
    /// From the camera's focal length (pixels), baseline (metres) and the depth unit
    /// (metres per level); a missing or non-positive value is an error that says what to set.
    pub fn from_camera(focal_px: f64, baseline_m: f64, unit_m: f64) -> Result<Self, String> {
        if focal_px.is_nan() || baseline_m.is_nan() || focal_px <= 0.0 || baseline_m <= 0.0 {
            return Err(format!(
                "depth input needs the camera's focal-length (pixels) and baseline (metres), or a \
                 disparity-scale; got focal-length={focal_px}, baseline={baseline_m}"
            ));
        }
        Self::from_scale(focal_px * baseline_m / unit_m, unit_m)
    }

    /// From `k` directly (disparity in pixels = `k` / depth level), for levels of `unit_m`
    /// metres.
    pub fn from_scale(scale: f64, unit_m: f64) -> Result<Self, String> {
        if unit_m.is_nan() || unit_m <= 0.0 {
            return Err(format!("depth-unit must be positive, got {unit_m}"));
        }
        if !scale.is_finite() || scale <= 0.0 {
            return Err(format!("disparity-scale must be positive, got {scale}"));
        }
        Ok(DepthToDisparity {
            scale,
            unit: unit_m,
        })
    }

    /// The disparity of a point `metres` away.
    pub fn disparity_at(&self, metres: f64) -> f32 {
        (self.scale * self.unit / metres) as f32
    }

    /// The disparity of a depth level (infinity for 0).
    pub fn disparity(&self, level: u16) -> f32 {
        (self.scale / f64::from(level)) as f32
    }

    /// Converts a `width` x `height` map of depth levels (rows `stride` levels apart) into
    /// disparity, row by row into `out`, filling zero levels as the module doc says. A row
    /// with no valid level takes the farthest disparity of the frame; a frame with none is
    /// all 0 (infinitely far).
    pub fn convert(
        &self,
        levels: &[u16],
        width: usize,
        height: usize,
        stride: usize,
        out: &mut Vec<f32>,
    ) {
        out.clear();
        out.reserve(width * height);
        for y in 0..height {
            let row = &levels[y * stride..y * stride + width];
            out.extend(
                row.iter()
                    .map(|&v| if v == 0 { f32::NAN } else { self.disparity(v) }),
            );
        }
        fill_holes(out, width, height);
    }
}

/// Fills NaN (no measurement) with the smaller (farther) of the nearest valid disparities
/// to the left and right on the row; rows with none get the frame's smallest valid
/// disparity, or 0.
fn fill_holes(disparity: &mut [f32], width: usize, height: usize) {
    let farthest = disparity
        .iter()
        .copied()
        .filter(|d| !d.is_nan())
        .fold(f32::INFINITY, f32::min);
    let farthest = if farthest.is_finite() { farthest } else { 0.0 };
    let mut right_valid = vec![f32::NAN; width];
    for y in 0..height {
        let row = &mut disparity[y * width..(y + 1) * width];
        let mut next = f32::NAN;
        for x in (0..width).rev() {
            if !row[x].is_nan() {
                next = row[x];
            }
            right_valid[x] = next;
        }
        let mut previous = f32::NAN;
        for x in 0..width {
            if row[x].is_nan() {
                row[x] = match (previous.is_nan(), right_valid[x].is_nan()) {
                    (false, false) => previous.min(right_valid[x]),
                    (false, true) => previous,
                    (true, false) => right_valid[x],
                    (true, true) => farthest,
                };
            } else {
                previous = row[x];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millimetres_become_disparity_by_focal_length_and_baseline() {
        // f = 500 px, B = 0.1 m: 2.5 m is 20 px, 6.25 m is 8 px
        let convert = DepthToDisparity::from_camera(500.0, 0.1, 0.001).unwrap();
        assert_eq!(convert.disparity(2500), 20.0);
        assert_eq!(convert.disparity(6250), 8.0);
        assert_eq!(
            DepthToDisparity::from_scale(50_000.0, 0.001).unwrap(),
            convert
        );
        assert_eq!(convert.disparity_at(2.5), 20.0);
    }

    #[test]
    fn zero_depth_becomes_the_nearest_valid_background() {
        let convert = DepthToDisparity::from_scale(100.0, 0.001).unwrap();
        // background 10 px (level 10), an object 50 px (level 2), holes beside it
        let levels = [10, 0, 2, 2, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 10, 0];
        let mut out = Vec::new();
        convert.convert(&levels, 8, 2, 8, &mut out);
        assert_eq!(out[..8], [10.0, 10.0, 50.0, 50.0, 10.0, 10.0, 10.0, 10.0]);
        // a row that starts with holes takes the first valid pixel; the last one the last
        assert_eq!(out[8..], [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]);
        // between two objects of different depth the farther wins
        let levels = [2, 0, 5];
        convert.convert(&levels, 3, 1, 3, &mut out);
        assert_eq!(out, [50.0, 20.0, 20.0]);
    }

    #[test]
    fn rows_and_frames_without_any_measurement() {
        let convert = DepthToDisparity::from_scale(100.0, 0.001).unwrap();
        let mut out = Vec::new();
        // strides wider than the row are honoured; an empty row takes the frame's farthest
        convert.convert(&[0, 0, 77, 4, 5, 77], 2, 2, 3, &mut out);
        assert_eq!(out, [20.0, 20.0, 25.0, 20.0]);
        convert.convert(&[0, 0, 0, 0], 2, 2, 2, &mut out);
        assert_eq!(out, [0.0; 4]);
    }

    #[test]
    fn missing_camera_parameters_say_what_to_set() {
        let error = DepthToDisparity::from_camera(0.0, 0.1, 0.001).unwrap_err();
        assert!(
            error.contains("focal-length") && error.contains("disparity-scale"),
            "{error}"
        );
        assert!(DepthToDisparity::from_camera(500.0, 0.0, 0.001).is_err());
        assert!(DepthToDisparity::from_camera(500.0, 0.1, 0.0).is_err());
        assert!(DepthToDisparity::from_scale(-1.0, 0.001).is_err());
    }
}
