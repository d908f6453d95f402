//! `refocus`: colour image + disparity in, refocused image out (RGB-D cameras, ground truth).
//!
//! ```text
//! gst-launch-1.0 refocus name=r aperture=0.25 focus-disparity=40 ! videoconvert ! autovideosink \
//!   filesrc location=image.png ! pngdec ! videoconvert ! imagefreeze num-buffers=1 ! r.sink \
//!   filesrc location=disparity.png ! pngdec ! imagefreeze num-buffers=1 ! r.sink_disparity
//! gst-launch-1.0 refocus name=r depth-input=depth focal-length=640 baseline=0.05 focus-distance=1.2 ! ... \
//!   COLOUR_SOURCE ! r.sink  DEPTH_SOURCE (GRAY16_LE, millimetres) ! r.sink_disparity
//! ```

use gst::glib;
use gst::prelude::*;

mod depth_settings;
pub(crate) mod imp;

/// What the `sink_disparity` pad carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(i32)]
#[enum_type(name = "GstRefocusDepthInput")]
pub enum DepthInput {
    /// Disparity in pixels x 256 (KITTI).
    #[default]
    #[enum_value(name = "Disparity, pixels x 256", nick = "disparity")]
    Disparity,
    /// Distance in `depth-unit` (millimetres by default); 0 = no measurement.
    #[enum_value(name = "Depth, in depth-unit (a depth camera)", nick = "depth")]
    Depth,
}

glib::wrapper! {
    /// The `refocus` element.
    pub struct Refocus(ObjectSubclass<imp::Refocus>) @extends gst_base::Aggregator, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    DepthInput::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "refocus",
        gst::Rank::NONE,
        Refocus::static_type(),
    )
}
