//! sterefo: shallow depth of field from a stereo pair, as GStreamer elements.
//!
//! Implements SteReFo (Busam et al., ICCV Workshops 2019). The elements (`refocus`,
//! `sterefo`) are thin glue; the work is in plain modules: [`depth`] runs the disparity
//! network of section 3.1 on ONNX Runtime, [`dof`] is the layered depth of field of section
//! 3.2 on wgpu compute shaders (with a CPU oracle), [`focus`] picks and smooths the focus,
//! [`pairing`] pairs frames by running time.

use gst::glib;

pub mod aggregate;
pub mod colormap;
pub mod depth;
pub mod depth_map;
pub mod dof;
pub mod focus;
pub mod formats;
pub mod frames;
pub mod gpu;
pub mod latency;
pub mod pairing;
pub mod properties;
pub mod rectify;
pub mod refocus;
pub mod sterefo;
pub mod stereo_layout;
pub mod temporal;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    if let Some(file) = plugin.filename() {
        depth::runtime::set_plugin_file(file);
    }
    refocus::register(plugin)?;
    sterefo::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    sterefo,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    // GStreamer's own default when a package has no home page yet
    "Unknown package origin",
    env!("BUILD_REL_DATE")
);
