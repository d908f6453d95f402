//! The refocus properties shared by `refocus` and `sterefo`: their specs, their defaults and
//! the [`Params`] they make.

use glib::prelude::*;
use gst::prelude::*;

use crate::dof::{self, Highlights, Light, Mask, Params, Shape, Transfer};

/// Default end of the disparity sweep, pixels (covers KITTI-like and Middlebury-half pairs).
pub const DEFAULT_MAX_DISPARITY: f32 = 128.0;
/// Default focus disparity, pixels.
pub const DEFAULT_FOCUS_DISPARITY: f32 = 32.0;
/// Default motion gate of the temporal filter, pixels of disparity (see `crate::temporal`).
pub const DEFAULT_TEMPORAL_GATE: f32 = 1.5;

/// What the refocus properties hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefocusSettings {
    pub aperture: f32,
    pub focus_disparity: f32,
    pub min_disparity: f32,
    pub max_disparity: f32,
    pub max_kernel: u32,
    pub smooth_mask: bool,
    pub smooth_alpha: f32,
    /// Temporal smoothing of the disparity in [0, 1), 0 = off (`crate::temporal`).
    pub temporal_smoothing: f32,
    /// Its motion gate, pixels.
    pub temporal_gate: f32,
    /// Blur in linear light (`dof::light`), with this boost of the highlights.
    pub linear_light: bool,
    pub highlights: Highlights,
    /// Iris blades (0 = a round aperture) and their rotation, degrees.
    pub blades: u32,
    pub blade_rotation: f32,
    /// Fill what near objects hide (`dof::fill`).
    pub foreground_fill: bool,
}

impl Default for RefocusSettings {
    fn default() -> Self {
        RefocusSettings {
            aperture: dof::DEFAULT_APERTURE,
            focus_disparity: DEFAULT_FOCUS_DISPARITY,
            min_disparity: 0.0,
            max_disparity: DEFAULT_MAX_DISPARITY,
            max_kernel: dof::DEFAULT_MAX_KERNEL,
            smooth_mask: false,
            smooth_alpha: dof::DEFAULT_SMOOTH_ALPHA,
            temporal_smoothing: 0.0,
            temporal_gate: DEFAULT_TEMPORAL_GATE,
            linear_light: false,
            highlights: Highlights::NONE,
            blades: 0,
            blade_rotation: 0.0,
            foreground_fill: false,
        }
    }
}

impl RefocusSettings {
    /// The renderer's parameters, with `focus_disparity` as the focus and `transfer` the
    /// transfer function of the colour input (`formats::transfer`).
    pub fn params(&self, focus_disparity: f32, transfer: Transfer) -> Params {
        Params {
            aperture: self.aperture,
            focus_disparity,
            min_disparity: self.min_disparity,
            max_disparity: self.max_disparity,
            max_kernel: self.max_kernel,
            mask: if self.smooth_mask {
                Mask::Smooth {
                    alpha: self.smooth_alpha,
                }
            } else {
                Mask::Hard
            },
            light: if self.linear_light {
                Light::Linear {
                    transfer,
                    highlights: self.highlights,
                }
            } else {
                Light::Encoded
            },
            shape: match self.blades {
                0 => Shape::Disc,
                blades => Shape::Blades {
                    blades,
                    rotation: self.blade_rotation,
                },
            },
            fill_hidden: self.foreground_fill,
        }
    }

    /// The property specs. `aperture` and `focus-disparity` are controllable (animatable).
    pub fn specs() -> Vec<glib::ParamSpec> {
        let defaults = RefocusSettings::default();
        vec![
            glib::ParamSpecFloat::builder("aperture")
                .nick("Aperture")
                .blurb("Aperture a: blur radius in pixels per pixel of disparity away from the focus")
                .minimum(dof::MIN_APERTURE)
                .maximum(dof::MAX_APERTURE)
                .default_value(defaults.aperture)
                .mutable_playing()
                .controllable()
                .build(),
            glib::ParamSpecFloat::builder("focus-disparity")
                .nick("Focus disparity")
                .blurb("Disparity in focus, pixels (larger = nearer)")
                .minimum(0.0)
                .maximum(dof::MAX_DISPARITY)
                .default_value(defaults.focus_disparity)
                .mutable_playing()
                .controllable()
                .build(),
            glib::ParamSpecFloat::builder("min-disparity")
                .nick("Minimum disparity")
                .blurb("Start of the depth-plane sweep, pixels; smaller disparities are clamped to it")
                .minimum(0.0)
                .maximum(dof::MAX_DISPARITY)
                .default_value(defaults.min_disparity)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("max-disparity")
                .nick("Maximum disparity")
                .blurb("End of the depth-plane sweep, pixels; larger disparities are clamped to it")
                .minimum(0.0)
                .maximum(dof::MAX_DISPARITY)
                .default_value(defaults.max_disparity)
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("max-kernel")
                .nick("Maximum kernel")
                .blurb("kmax: planes whose blur kernel is wider are blurred downsampled (paper 3.2); 0 = exact")
                .minimum(0)
                .maximum(255)
                .default_value(defaults.max_kernel)
                .mutable_playing()
                .build(),
            glib::ParamSpecBoolean::builder("smooth-mask")
                .nick("Smooth mask")
                .blurb("Use the smooth plane mask 1/2 + 1/2 tanh(alpha (1/a - |D - d|)) of paper eq. 3")
                .default_value(defaults.smooth_mask)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("temporal-smoothing")
                .nick("Temporal smoothing")
                .blurb("Video: each pixel's disparity follows its past by this much (0 = off, 0.8 = strong) where it changed by at most temporal-gate pixels, so static scenes do not flicker; moving edges follow at once")
                .minimum(0.0)
                .maximum(0.99)
                .default_value(defaults.temporal_smoothing)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("temporal-gate")
                .nick("Temporal gate")
                .blurb("Disparity change, pixels, beyond which a pixel counts as moving and is not smoothed")
                .minimum(0.0)
                .maximum(dof::MAX_DISPARITY)
                .default_value(defaults.temporal_gate)
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("blades")
                .nick("Aperture blades")
                .blurb("Blades of the iris: out-of-focus points spread into a regular polygon of this many sides (3 to 16); 0 = a round aperture (Algorithm 1)")
                .minimum(0)
                .maximum(dof::MAX_BLADES)
                .default_value(defaults.blades)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("blade-rotation")
                .nick("Blade rotation")
                .blurb("Rotation of the iris polygon, degrees clockwise (0 = a corner straight up)")
                .minimum(0.0)
                .maximum(360.0)
                .default_value(defaults.blade_rotation)
                .mutable_playing()
                .build(),
            glib::ParamSpecBoolean::builder("linear-light")
                .nick("Linear light")
                .blurb("Blur linear light (the input's transfer function decoded, blurred, encoded again), as a lens does: bright details spread into bright discs instead of grey smudges. Not Algorithm 1 as the paper writes it; slower (no byte-cell fast path)")
                .default_value(defaults.linear_light)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("highlight-threshold")
                .nick("Highlight threshold")
                .blurb("Linear light: luminance (0..1) above which out-of-focus highlights are boosted by highlight-gain")
                .minimum(0.0)
                .maximum(dof::light::MAX_HIGHLIGHT_THRESHOLD)
                .default_value(defaults.highlights.threshold)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("highlight-gain")
                .nick("Highlight gain")
                .blurb("Linear light: out-of-focus pixels at full luminance are blurred this much brighter (1 + gain times), ramping up from highlight-threshold, so clipped lights become bright discs; 0 = no boost")
                .minimum(0.0)
                .maximum(dof::light::MAX_HIGHLIGHT_GAIN)
                .default_value(defaults.highlights.gain)
                .mutable_playing()
                .build(),
            glib::ParamSpecBoolean::builder("foreground-fill")
                .nick("Foreground fill")
                .blurb("Where a near object is out of focus, blur it over the background it hides instead of over its own colour: that background is taken from the right view where the right camera saw it (sterefo) and from the surrounding background elsewhere (and always in refocus). Not Algorithm 1 as the paper writes it; slower (no byte-cell fast path, and a CPU pass per frame)")
                .default_value(defaults.foreground_fill)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("smooth-alpha")
                .nick("Smooth mask sharpness")
                .blurb("alpha of the smooth mask, per pixel of disparity")
                .minimum(0.01)
                .maximum(1.0e6)
                .default_value(defaults.smooth_alpha)
                .mutable_playing()
                .build(),
        ]
    }

    /// Sets a property by name; false if it is not one of these.
    pub fn set(&mut self, name: &str, value: &glib::Value) -> bool {
        match name {
            "aperture" => self.aperture = value.get().expect("type checked by GObject"),
            "focus-disparity" => {
                self.focus_disparity = value.get().expect("type checked by GObject")
            }
            "min-disparity" => self.min_disparity = value.get().expect("type checked by GObject"),
            "max-disparity" => self.max_disparity = value.get().expect("type checked by GObject"),
            "max-kernel" => self.max_kernel = value.get().expect("type checked by GObject"),
            "smooth-mask" => self.smooth_mask = value.get().expect("type checked by GObject"),
            "smooth-alpha" => self.smooth_alpha = value.get().expect("type checked by GObject"),
            "temporal-smoothing" => {
                self.temporal_smoothing = value.get().expect("type checked by GObject")
            }
            "temporal-gate" => self.temporal_gate = value.get().expect("type checked by GObject"),
            "linear-light" => self.linear_light = value.get().expect("type checked by GObject"),
            "foreground-fill" => {
                self.foreground_fill = value.get().expect("type checked by GObject")
            }
            "blades" => self.blades = value.get().expect("type checked by GObject"),
            "blade-rotation" => self.blade_rotation = value.get().expect("type checked by GObject"),
            "highlight-threshold" => {
                self.highlights.threshold = value.get().expect("type checked by GObject")
            }
            "highlight-gain" => {
                self.highlights.gain = value.get().expect("type checked by GObject")
            }
            _ => return false,
        }
        true
    }

    /// Reads a property by name.
    pub fn get(&self, name: &str) -> Option<glib::Value> {
        Some(match name {
            "aperture" => self.aperture.to_value(),
            "focus-disparity" => self.focus_disparity.to_value(),
            "min-disparity" => self.min_disparity.to_value(),
            "max-disparity" => self.max_disparity.to_value(),
            "max-kernel" => self.max_kernel.to_value(),
            "smooth-mask" => self.smooth_mask.to_value(),
            "smooth-alpha" => self.smooth_alpha.to_value(),
            "temporal-smoothing" => self.temporal_smoothing.to_value(),
            "temporal-gate" => self.temporal_gate.to_value(),
            "linear-light" => self.linear_light.to_value(),
            "foreground-fill" => self.foreground_fill.to_value(),
            "blades" => self.blades.to_value(),
            "blade-rotation" => self.blade_rotation.to_value(),
            "highlight-threshold" => self.highlights.threshold.to_value(),
            "highlight-gain" => self.highlights.gain.to_value(),
            _ => return None,
        })
    }
}
