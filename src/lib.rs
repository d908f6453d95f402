//! sterefo: shallow depth of field from a stereo pair, as GStreamer elements.
//!
//! Implements SteReFo (Busam et al., ICCV Workshops 2019): [`dof`] is the layered depth of
//! field of section 3.2 on wgpu compute shaders, with a CPU oracle.

pub mod dof;
pub mod gpu;
