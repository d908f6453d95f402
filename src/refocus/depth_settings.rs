//! The `refocus` element's properties for what its `sink_disparity` pad carries: disparity
//! (the default), or a depth camera's depth map with the camera's focal length and
//! baseline, or a scale (see `crate::depth_map`), and the focus as a distance.

use gst::glib;
use gst::prelude::*;

use super::DepthInput;
use crate::depth_map::DepthToDisparity;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthSettings {
    pub input: DepthInput,
    /// Metres per depth level.
    pub unit: f64,
    /// Pixels; 0 = not given.
    pub focal_length: f64,
    /// Metres; 0 = not given.
    pub baseline: f64,
    /// Disparity = scale / level; 0 = from the focal length, baseline and unit.
    pub disparity_scale: f64,
    /// Metres; 0 = the focus is `focus-disparity`.
    pub focus_distance: f64,
}

impl Default for DepthSettings {
    fn default() -> Self {
        DepthSettings {
            input: DepthInput::Disparity,
            unit: 0.001,
            focal_length: 0.0,
            baseline: 0.0,
            disparity_scale: 0.0,
            focus_distance: 0.0,
        }
    }
}

impl DepthSettings {
    pub fn specs() -> Vec<glib::ParamSpec> {
        let number = |name: &'static str,
                      nick: &'static str,
                      blurb: &'static str,
                      max: f64,
                      default: f64| {
            glib::ParamSpecDouble::builder(name)
                .nick(nick)
                .blurb(blurb)
                .minimum(0.0)
                .maximum(max)
                .default_value(default)
        };
        vec![
            glib::ParamSpecEnum::builder_with_default("depth-input", DepthInput::Disparity)
                .nick("Depth input")
                .blurb("What sink_disparity carries: disparity (pixels x 256) or depth (distance in depth-unit; 0 = no measurement)")
                .mutable_ready()
                .build(),
            number("depth-unit", "Depth unit", "Metres per level of a depth input (0.001: millimetres, as RealSense Z16 and ZED depth)", 1.0, 0.001)
                .mutable_ready()
                .build(),
            number("focal-length", "Focal length", "The depth camera's focal length, pixels (for depth input and focus-distance; 0 = not given)", 1.0e6, 0.0)
                .mutable_ready()
                .build(),
            number("baseline", "Baseline", "The depth camera's stereo baseline, metres (for depth input and focus-distance; 0 = not given)", 100.0, 0.0)
                .mutable_ready()
                .build(),
            number("disparity-scale", "Disparity scale", "Depth input: disparity in pixels = disparity-scale / level, instead of focal-length x baseline / depth-unit (0 = not given)", 1.0e12, 0.0)
                .mutable_ready()
                .build(),
            number("focus-distance", "Focus distance", "Distance in focus, metres; 0 = the focus is focus-disparity (needs focal-length and baseline, or depth input with a disparity-scale)", 1.0e6, 0.0)
                .mutable_playing()
                .controllable()
                .build(),
        ]
    }

    /// Sets a property by name; false if it is not one of these.
    pub fn set(&mut self, name: &str, value: &glib::Value) -> bool {
        let get = || value.get::<f64>().expect("type checked by GObject");
        match name {
            "depth-input" => self.input = value.get().expect("type checked by GObject"),
            "depth-unit" => self.unit = get(),
            "focal-length" => self.focal_length = get(),
            "baseline" => self.baseline = get(),
            "disparity-scale" => self.disparity_scale = get(),
            "focus-distance" => self.focus_distance = get(),
            _ => return false,
        }
        true
    }

    pub fn get(&self, name: &str) -> Option<glib::Value> {
        Some(match name {
            "depth-input" => self.input.to_value(),
            "depth-unit" => self.unit.to_value(),
            "focal-length" => self.focal_length.to_value(),
            "baseline" => self.baseline.to_value(),
            "disparity-scale" => self.disparity_scale.to_value(),
            "focus-distance" => self.focus_distance.to_value(),
            _ => return None,
        })
    }

    /// How depth levels become disparity: the disparity-scale when given, else the camera.
    fn camera(&self) -> Result<DepthToDisparity, String> {
        if self.disparity_scale > 0.0 {
            DepthToDisparity::from_scale(self.disparity_scale, self.unit)
        } else {
            DepthToDisparity::from_camera(self.focal_length, self.baseline, self.unit)
        }
    }

    /// The converter for a depth input; `None` for a disparity input.
    pub fn converter(&self) -> Result<Option<DepthToDisparity>, String> {
        match self.input {
            DepthInput::Disparity => Ok(None),
            DepthInput::Depth => self.camera().map(Some),
        }
    }

    /// The focus disparity: that of `focus-distance` when it is set, else `focus_disparity`.
    pub fn focus(&self, focus_disparity: f32) -> Result<f32, String> {
        if self.focus_distance <= 0.0 {
            return Ok(focus_disparity);
        }
        let camera = match self.input {
            DepthInput::Depth => self.camera(),
            DepthInput::Disparity => {
                DepthToDisparity::from_camera(self.focal_length, self.baseline, self.unit)
            }
        }
        .map_err(|e| format!("focus-distance: {e}"))?;
        Ok(camera.disparity_at(self.focus_distance))
    }
}
