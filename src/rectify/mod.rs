//! Rectification of a stereo pair that is not rectified, from a calibration file: OpenCV's
//! `stereo_calib` sample output (`intrinsics.yml` with M1 D1 M2 D2, `extrinsics.yml` with
//! R T R1 R2 P1 P2) or ROS `camera_info` YAML files, one per camera.
//!
//! Each view is remapped as OpenCV's `initUndistortRectifyMap` + `remap` do: a rectified
//! pixel (u, v) comes from the camera pixel found by undoing the new camera matrix P (its
//! left 3x3 part) and the rectifying rotation R, applying the lens distortion D (radial k1
//! k2 k3 [k4 k5 k6 rational], tangential p1 p2) and the camera matrix K:
//! `[x y w] = (P R)^-1 [u v 1]`, `(x, y) /= w`, `r2 = x^2 + y^2`,
//! `x' = x (1 + k1 r2 + k2 r2^2 + k3 r2^3) / (1 + k4 r2 + k5 r2^2 + k6 r2^3) + 2 p1 x y + p2 (r2 + 2 x^2)`
//! (and y' alike), `map = K [x' y' 1]`. The map is computed once per frame size (here, on
//! the CPU) and sampled bilinearly on the GPU ([`gpu::Remapper`]); pixels that map outside
//! the camera's image are black, as OpenCV's default border.

pub mod gpu;
pub mod yaml;

use std::path::{Path, PathBuf};

/// One camera: intrinsics, distortion, rectifying rotation and new projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Camera {
    /// K, row-major 3x3.
    pub k: [f64; 9],
    /// k1 k2 p1 p2 [k3 [k4 k5 k6]] (OpenCV order); missing ones are 0.
    pub distortion: Vec<f64>,
    /// R, row-major 3x3.
    pub r: [f64; 9],
    /// P, row-major 3x4.
    pub p: [f64; 12],
}

/// A stereo calibration: both cameras and, where the file says it, the image size.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub left: Camera,
    pub right: Camera,
    /// (width, height) the calibration was made for, when the files say (ROS does).
    pub size: Option<(u32, u32)>,
    /// The files it was read from, for messages.
    pub files: Vec<PathBuf>,
}

fn read(path: &Path) -> Result<std::collections::BTreeMap<String, yaml::Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read calibration file {}: {e}", path.display()))?;
    yaml::parse(&text).map_err(|e| format!("calibration file {}: {e}", path.display()))
}

fn array<const N: usize>(values: Vec<f64>) -> [f64; N] {
    let mut out = [0.0; N];
    out.copy_from_slice(&values[..N]);
    out
}

impl Calibration {
    /// Reads two files: OpenCV's `intrinsics.yml` and `extrinsics.yml` (in either order),
    /// or ROS `camera_info` files of the left and then the right camera. Errors name the
    /// file and the field.
    pub fn load(first: &Path, second: &Path) -> Result<Calibration, String> {
        let (a, b) = (read(first)?, read(second)?);
        let field = |path: &Path, result: Result<Vec<f64>, String>| {
            result.map_err(|e| format!("calibration file {}: {e}", path.display()))
        };
        if a.contains_key("camera_matrix") || b.contains_key("camera_matrix") {
            let camera = |path: &Path,
                          file: &std::collections::BTreeMap<String, yaml::Value>|
             -> Result<(Camera, (u32, u32)), String> {
                let m =
                    |key, rows, cols: &[usize]| field(path, yaml::matrix(file, key, rows, cols));
                let size = |key| {
                    yaml::scalar(file, key)
                        .map_err(|e| format!("calibration file {}: {e}", path.display()))
                };
                if let Some(yaml::Value::Scalar(model)) = file.get("distortion_model")
                    && model != "plumb_bob"
                    && model != "rational_polynomial"
                {
                    return Err(format!(
                        "calibration file {}: distortion_model `{model}` is not one sterefo takes (plumb_bob, rational_polynomial)",
                        path.display()
                    ));
                }
                Ok((
                    Camera {
                        k: array(m("camera_matrix", 3, &[3])?),
                        distortion: m("distortion_coefficients", 1, &[0, 4, 5, 8, 12, 14])?,
                        r: array(m("rectification_matrix", 3, &[3])?),
                        p: array(m("projection_matrix", 3, &[4])?),
                    },
                    (size("image_width")? as u32, size("image_height")? as u32),
                ))
            };
            let (left, left_size) = camera(first, &a)?;
            let (right, right_size) = camera(second, &b)?;
            if left_size != right_size {
                return Err(format!(
                    "calibration files {} and {} are for different image sizes ({}x{} and {}x{})",
                    first.display(),
                    second.display(),
                    left_size.0,
                    left_size.1,
                    right_size.0,
                    right_size.1
                ));
            }
            return Ok(Calibration {
                left,
                right,
                size: Some(left_size),
                files: vec![first.into(), second.into()],
            });
        }
        // OpenCV: whichever has M1 is the intrinsics
        let ((ip, intrinsics), (ep, extrinsics)) = if a.contains_key("M1") {
            ((first, &a), (second, &b))
        } else {
            ((second, &b), (first, &a))
        };
        let m = |path: &Path, file, key: &str, rows, cols: &[usize]| {
            field(path, yaml::matrix(file, key, rows, cols))
        };
        let camera = |k: &str, d: &str, r: &str, p: &str| -> Result<Camera, String> {
            Ok(Camera {
                k: array(m(ip, intrinsics, k, 3, &[3])?),
                distortion: m(ip, intrinsics, d, 1, &[0, 4, 5, 8, 12, 14])?,
                r: array(m(ep, extrinsics, r, 3, &[3])?),
                p: array(m(ep, extrinsics, p, 3, &[4])?),
            })
        };
        Ok(Calibration {
            left: camera("M1", "D1", "R1", "P1")?,
            right: camera("M2", "D2", "R2", "P2")?,
            size: None,
            files: vec![ip.into(), ep.into()],
        })
    }

    /// Checks the calibration against the stream's frame size: the size the files state, or,
    /// where they state none (OpenCV's), that both principal points lie inside the frame.
    pub fn check_size(&self, width: u32, height: u32) -> Result<(), String> {
        let files = self
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if let Some((w, h)) = self.size {
            if (w, h) != (width, height) {
                return Err(format!(
                    "calibration ({files}) is for {w}x{h} images (image_width, image_height) but the stream is {width}x{height}; \
                     scale the stream to the calibrated size or calibrate at this one"
                ));
            }
            return Ok(());
        }
        for (name, camera) in [("M1", &self.left), ("M2", &self.right)] {
            let (cx, cy) = (camera.k[2], camera.k[5]);
            if !(0.0..f64::from(width)).contains(&cx) || !(0.0..f64::from(height)).contains(&cy) {
                return Err(format!(
                    "calibration ({files}): the principal point of {name} ({cx:.1}, {cy:.1}) lies outside the \
                     {width}x{height} stream: it was made for another image size"
                ));
            }
        }
        Ok(())
    }

    /// The remap of each view for `width` x `height` frames: per rectified pixel, row by row,
    /// the (x, y) camera pixel it samples.
    pub fn maps(&self, width: u32, height: u32) -> [Vec<[f32; 2]>; 2] {
        [&self.left, &self.right].map(|camera| camera.map(width, height))
    }
}

fn invert3(m: &[f64; 9]) -> [f64; 9] {
    let [a, b, c, d, e, f, g, h, i] = *m;
    let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    let s = 1.0 / det;
    [
        (e * i - f * h) * s,
        (c * h - b * i) * s,
        (b * f - c * e) * s,
        (f * g - d * i) * s,
        (a * i - c * g) * s,
        (c * d - a * f) * s,
        (d * h - e * g) * s,
        (b * g - a * h) * s,
        (a * e - b * d) * s,
    ]
}

fn multiply3(a: &[f64; 9], b: &[f64; 9]) -> [f64; 9] {
    let mut out = [0.0; 9];
    for row in 0..3 {
        for col in 0..3 {
            out[row * 3 + col] = (0..3).map(|k| a[row * 3 + k] * b[k * 3 + col]).sum();
        }
    }
    out
}

impl Camera {
    /// The remap of this camera, as the module doc says.
    pub fn map(&self, width: u32, height: u32) -> Vec<[f32; 2]> {
        let p = [
            self.p[0], self.p[1], self.p[2], self.p[4], self.p[5], self.p[6], self.p[8], self.p[9],
            self.p[10],
        ];
        let ir = invert3(&multiply3(&p, &self.r));
        let d = |i: usize| self.distortion.get(i).copied().unwrap_or(0.0);
        let (k1, k2, p1, p2, k3, k4, k5, k6) = (d(0), d(1), d(2), d(3), d(4), d(5), d(6), d(7));
        let (fx, skew, cx, fy, cy) = (self.k[0], self.k[1], self.k[2], self.k[4], self.k[5]);
        let mut map = Vec::with_capacity(width as usize * height as usize);
        for v in 0..height {
            for u in 0..width {
                let (u, v) = (f64::from(u), f64::from(v));
                let w = ir[6] * u + ir[7] * v + ir[8];
                let x = (ir[0] * u + ir[1] * v + ir[2]) / w;
                let y = (ir[3] * u + ir[4] * v + ir[5]) / w;
                let r2 = x * x + y * y;
                let radial = (1.0 + r2 * (k1 + r2 * (k2 + r2 * k3)))
                    / (1.0 + r2 * (k4 + r2 * (k5 + r2 * k6)));
                let xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
                let yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y;
                map.push([(fx * xd + skew * yd + cx) as f32, (fy * yd + cy) as f32]);
            }
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_calibration_maps_each_pixel_to_itself() {
        let k = [500.0, 0.0, 32.0, 0.0, 500.0, 24.0, 0.0, 0.0, 1.0];
        let camera = Camera {
            k,
            distortion: vec![0.0; 5],
            r: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            p: [
                500.0, 0.0, 32.0, 0.0, 0.0, 500.0, 24.0, 0.0, 0.0, 0.0, 1.0, 0.0,
            ],
        };
        let map = camera.map(64, 48);
        for (i, [x, y]) in map.iter().enumerate() {
            assert!((x - (i % 64) as f32).abs() < 1e-3 && (y - (i / 64) as f32).abs() < 1e-3);
        }
    }
}
