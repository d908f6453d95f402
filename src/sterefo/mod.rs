//! `sterefo`: a rectified stereo pair in, a refocused (or disparity) video out.
//!
//! ```text
//! gst-launch-1.0 sterefo name=s aperture=0.25 ! videoconvert ! autovideosink \
//!   LEFT_SOURCE ! s.sink_left  RIGHT_SOURCE ! s.sink_right
//! gst-launch-1.0 PACKED_SOURCE ! sterefo stereo-layout=side-by-side ! videoconvert ! autovideosink
//! ```

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    /// The `sterefo` element.
    pub struct Sterefo(ObjectSubclass<imp::Sterefo>) @extends gst_base::Aggregator, gst::Element, gst::Object;
}

/// What the `src` pad carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(i32)]
#[enum_type(name = "GstSterefoOutput")]
pub enum Output {
    /// The left view, refocused (the left input's format and size).
    #[default]
    #[enum_value(name = "Refocused left view", nick = "refocused")]
    Refocused,
    /// Disparity in pixels x 256, GRAY16_LE (KITTI).
    #[enum_value(name = "Disparity, GRAY16_LE, pixels x 256", nick = "disparity")]
    Disparity,
    /// Disparity through the viridis colour map, RGBA.
    #[enum_value(
        name = "Disparity as colours (viridis), RGBA",
        nick = "disparity-color"
    )]
    DisparityColor,
}

/// Where the focus comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(i32)]
#[enum_type(name = "GstSterefoFocusMode")]
pub enum FocusMode {
    /// Region-of-interest metadata when the left frame has some, else the point (when one was
    /// set or clicked), else `focus-disparity`.
    #[default]
    #[enum_value(name = "ROI, else point, else focus-disparity", nick = "auto")]
    Auto,
    /// `focus-disparity`.
    #[enum_value(name = "The focus-disparity property", nick = "disparity")]
    Disparity,
    /// The disparity around (`focus-x`, `focus-y`), also set by a click in the video window.
    #[enum_value(
        name = "The disparity at focus-x, focus-y (or a click)",
        nick = "point"
    )]
    Point,
    /// Median disparity inside the region of interest on the left frame.
    #[enum_value(name = "Median disparity in the region-of-interest meta", nick = "roi")]
    Roi,
}

/// How the two views arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(i32)]
#[enum_type(name = "GstSterefoStereoLayout")]
pub enum StereoLayout {
    /// As sink_left's caps say: `multiview-mode=side-by-side` or `top-bottom` (with the
    /// flags `half-aspect` and `right-view-first`) pack both views in one frame; otherwise
    /// one view per frame, the right view on sink_right.
    #[default]
    #[enum_value(
        name = "From the caps: packed if multiview-mode says so, else two streams",
        nick = "auto"
    )]
    Auto,
    /// Both views in each frame of sink_left, left view in the left half.
    #[enum_value(name = "Side by side in one frame on sink_left", nick = "side-by-side")]
    SideBySide,
    /// Both views in each frame of sink_left, left view in the top half.
    #[enum_value(name = "Top and bottom in one frame on sink_left", nick = "top-bottom")]
    TopBottom,
}

/// Which ONNX Runtime execution provider runs the disparity network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(i32)]
#[enum_type(name = "GstSterefoProvider")]
pub enum Provider {
    /// CUDA when available, else the CPU.
    #[default]
    #[enum_value(name = "CUDA if available, else CPU", nick = "auto")]
    Auto,
    #[enum_value(name = "CPU", nick = "cpu")]
    Cpu,
    #[enum_value(name = "CUDA (onnxruntime-gpu)", nick = "cuda")]
    Cuda,
    #[enum_value(name = "WebGPU plugin provider", nick = "webgpu")]
    WebGpu,
}

impl From<Provider> for crate::depth::Provider {
    fn from(provider: Provider) -> Self {
        match provider {
            Provider::Auto => crate::depth::Provider::Auto,
            Provider::Cpu => crate::depth::Provider::Cpu,
            Provider::Cuda => crate::depth::Provider::Cuda,
            Provider::WebGpu => crate::depth::Provider::WebGpu,
        }
    }
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    Output::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    FocusMode::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    Provider::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    StereoLayout::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "sterefo",
        gst::Rank::NONE,
        Sterefo::static_type(),
    )
}
