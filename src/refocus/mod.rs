//! `refocus`: colour image + disparity in, refocused image out (RGB-D cameras, ground truth).
//!
//! ```text
//! gst-launch-1.0 refocus name=r aperture=0.25 focus-disparity=40 ! videoconvert ! autovideosink \
//!   filesrc location=image.png ! pngdec ! videoconvert ! imagefreeze num-buffers=1 ! r.sink \
//!   filesrc location=disparity.png ! pngdec ! imagefreeze num-buffers=1 ! r.sink_disparity
//! ```

use gst::glib;
use gst::prelude::*;

pub(crate) mod imp;

glib::wrapper! {
    /// The `refocus` element.
    pub struct Refocus(ObjectSubclass<imp::Refocus>) @extends gst_base::Aggregator, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "refocus",
        gst::Rank::NONE,
        Refocus::static_type(),
    )
}
