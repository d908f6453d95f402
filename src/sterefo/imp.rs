//! The `sterefo` element's glue: pads, properties, pairing, focus sources, outputs. The work
//! is in `crate::depth` (disparity network), `crate::focus` and `crate::dof` (renderer).

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use super::{FocusMode, Output, Provider, StereoLayout};
use crate::aggregate::{self, running_time};
use crate::depth::{ChannelOrder, DepthEstimator, DepthOptions, Model, StereoImage};
use crate::dof::gpu::{Colour, Renderer};
use crate::focus::{self, FocusPuller, Rect};
use crate::formats::gpu::PlaneCoding;
use crate::formats::{self, COLOUR_FORMATS};
use crate::gpu::GpuContext;
use crate::properties::RefocusSettings;
use crate::rectify::Calibration;
use crate::rectify::gpu::Remapper;
use crate::stereo_layout::{self, PackedViews};
use crate::temporal::TemporalFilter;
use crate::{colormap, frames};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "sterefo",
        gst::DebugColorFlags::empty(),
        Some("Stereo refocusing"),
    )
});

const DEFAULT_FOCUS_SMOOTHING: f64 = 0.3;
const DEFAULT_WORKING_SCALE: f32 = 1.0;

#[derive(Debug, Clone)]
struct Settings {
    refocus: RefocusSettings,
    output: Output,
    focus_mode: FocusMode,
    focus_x: f64,
    focus_y: f64,
    /// Set once the user (property or click) chose a point, so `auto` uses it.
    point_chosen: bool,
    roi_type: String,
    focus_smoothing: f64,
    model: Model,
    provider: Provider,
    onnxruntime_library: Option<PathBuf>,
    working_scale: f32,
    stereo_layout: StereoLayout,
    /// Two calibration files, comma-separated; empty: the pair is rectified already.
    calibration: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            refocus: RefocusSettings::default(),
            output: Output::Refocused,
            focus_mode: FocusMode::Auto,
            focus_x: 0.5,
            focus_y: 0.5,
            point_chosen: false,
            roi_type: String::new(),
            focus_smoothing: DEFAULT_FOCUS_SMOOTHING,
            model: Model::Builtin,
            provider: Provider::Auto,
            onnxruntime_library: None,
            working_scale: DEFAULT_WORKING_SCALE,
            stereo_layout: StereoLayout::Auto,
            calibration: String::new(),
        }
    }
}

struct State {
    renderer: Renderer,
    depth: DepthEstimator,
    left_info: Option<gst_video::VideoInfo>,
    right_info: Option<gst_video::VideoInfo>,
    disparity: Vec<f32>,
    /// Rectification of an unrectified pair, when a calibration is set.
    rectification: Option<Rectification>,
    /// Frames of formats other than the 4-byte ones, converted to RGBA.
    left_rgba: Vec<u8>,
    right_rgba: Vec<u8>,
    /// The left view's pixels the renderer takes, and the right view's (foreground fill).
    image: Vec<u8>,
    right_image: Vec<u8>,
    output: Vec<u8>,
    puller: FocusPuller,
    temporal: TemporalFilter,
    /// The last frame's focus came from a region of interest: hold it if the ROI goes away.
    following_roi: bool,
}

struct Rectification {
    calibration: Calibration,
    remapper: Remapper,
    /// The frame size the calibration was last checked against.
    checked: Option<(u32, u32)>,
    left: Vec<u8>,
    right: Vec<u8>,
}

pub struct Sterefo {
    sink_left: gst_base::AggregatorPad,
    /// Requested only where the views come as two streams.
    sink_right: Mutex<Option<gst_base::AggregatorPad>>,
    link_watch: aggregate::LinkWatch,
    latency: aggregate::LatencyReport,
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    /// Read-only properties, readable without the state lock.
    focus_in_use: Mutex<f32>,
    provider_in_use: Mutex<String>,
}

#[glib::object_subclass]
impl ObjectSubclass for Sterefo {
    const NAME: &'static str = "GstSterefo";
    type Type = super::Sterefo;
    type ParentType = gst_base::Aggregator;

    fn with_class(klass: &Self::Class) -> Self {
        let pad = |name: &str| {
            let template = klass.pad_template(name).expect("template defined below");
            gst::PadBuilder::<gst_base::AggregatorPad>::from_template(&template)
                .name(name)
                .build()
        };
        Sterefo {
            sink_left: pad("sink_left"),
            sink_right: Mutex::new(None),
            link_watch: aggregate::LinkWatch::default(),
            latency: aggregate::LatencyReport::default(),
            settings: Mutex::new(Settings::default()),
            state: Mutex::new(None),
            focus_in_use: Mutex::new(-1.0),
            provider_in_use: Mutex::new(String::new()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl ObjectImpl for Sterefo {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut specs = RefocusSettings::specs();
            specs.extend([
                glib::ParamSpecEnum::builder_with_default("output", Output::Refocused)
                    .nick("Output")
                    .blurb("What the src pad carries: the refocused left view, or the disparity")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("focus-mode", FocusMode::Auto)
                    .nick("Focus mode")
                    .blurb("Where the focus comes from")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("focus-x")
                    .nick("Focus point x")
                    .blurb("Horizontal position of the focus point, 0 (left) .. 1 (right)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(0.5)
                    .mutable_playing()
                    .controllable()
                    .build(),
                glib::ParamSpecDouble::builder("focus-y")
                    .nick("Focus point y")
                    .blurb("Vertical position of the focus point, 0 (top) .. 1 (bottom)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(0.5)
                    .mutable_playing()
                    .controllable()
                    .build(),
                glib::ParamSpecString::builder("roi-type")
                    .nick("ROI type")
                    .blurb("Only follow regions of interest of this type (e.g. 'face'); empty = any")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("focus-smoothing")
                    .nick("Focus smoothing")
                    .blurb("Time constant in seconds with which the focus follows its target (0 = jump)")
                    .minimum(0.0)
                    .maximum(60.0)
                    .default_value(DEFAULT_FOCUS_SMOOTHING)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("focus-in-use")
                    .nick("Focus in use")
                    .blurb("The focus disparity of the last frame, pixels (-1 before the first)")
                    .minimum(-1.0)
                    .maximum(crate::dof::MAX_DISPARITY)
                    .default_value(-1.0)
                    .read_only()
                    .build(),
                aggregate::LatencyReport::spec(),
                glib::ParamSpecEnum::builder_with_default("stereo-layout", StereoLayout::Auto)
                    .nick("Stereo layout")
                    .blurb("How the views arrive: auto = as sink_left's multiview caps say (side-by-side or top-bottom: both views in one frame), else two streams on sink_left and sink_right")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("calibration")
                    .nick("Calibration")
                    .blurb("Two calibration files, comma-separated, to rectify a pair that is not rectified: OpenCV stereo_calib's intrinsics.yml and extrinsics.yml, or ROS camera_info YAML of the left then the right camera; empty = the pair is rectified")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("model")
                    .nick("Model")
                    .blurb("ONNX stereo model file (inputs left, right [1,3,H,W] RGB 0..1; output disparity [1,1,H,W] pixels); empty = the model built into the plugin")
                    .default_value(Some(""))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("provider", Provider::Auto)
                    .nick("Execution provider")
                    .blurb("Where ONNX Runtime runs the network; an unavailable GPU provider is an error")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("provider-in-use")
                    .nick("Provider in use")
                    .blurb("The execution provider actually running the network")
                    .read_only()
                    .build(),
                glib::ParamSpecString::builder("onnxruntime-library")
                    .nick("ONNX Runtime library")
                    .blurb("Path of libonnxruntime.so; empty = ORT_DYLIB_PATH, else libonnxruntime.so next to the plugin, in LD_LIBRARY_PATH or in the system's library folders")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecFloat::builder("working-scale")
                    .nick("Working scale")
                    .blurb("The network runs on the pair resized by this factor (faster below 1)")
                    .minimum(0.1)
                    .maximum(1.0)
                    .default_value(DEFAULT_WORKING_SCALE)
                    .mutable_playing()
                    .build(),
            ]);
            specs
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        let name = pspec.name();
        if !settings.refocus.set(name, value) {
            let get = || {
                value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .filter(|s| !s.is_empty())
            };
            match name {
                "output" => {
                    settings.output = value.get().expect("type checked by GObject");
                    self.obj().src_pad().mark_reconfigure();
                }
                "focus-mode" => settings.focus_mode = value.get().expect("type checked by GObject"),
                "focus-x" => {
                    settings.focus_x = value.get().expect("type checked by GObject");
                    settings.point_chosen = true;
                }
                "focus-y" => {
                    settings.focus_y = value.get().expect("type checked by GObject");
                    settings.point_chosen = true;
                }
                "roi-type" => settings.roi_type = get().unwrap_or_default(),
                "focus-smoothing" => {
                    settings.focus_smoothing = value.get().expect("type checked by GObject")
                }
                "model" => settings.model = Model::from_path(get().map(PathBuf::from)),
                "provider" => settings.provider = value.get().expect("type checked by GObject"),
                "onnxruntime-library" => settings.onnxruntime_library = get().map(PathBuf::from),
                "working-scale" => {
                    settings.working_scale = value.get().expect("type checked by GObject")
                }
                "stereo-layout" => {
                    settings.stereo_layout = value.get().expect("type checked by GObject")
                }
                "calibration" => settings.calibration = get().unwrap_or_default(),
                _ => unreachable!("only installed properties are set"),
            }
        }
        gst::debug!(CAT, imp = self, "{name} set to {value:?}");
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        if let Some(value) = settings.refocus.get(pspec.name()) {
            return value;
        }
        match pspec.name() {
            "output" => settings.output.to_value(),
            "focus-mode" => settings.focus_mode.to_value(),
            "focus-x" => settings.focus_x.to_value(),
            "focus-y" => settings.focus_y.to_value(),
            "roi-type" => settings.roi_type.to_value(),
            "focus-smoothing" => settings.focus_smoothing.to_value(),
            "focus-in-use" => lock(&self.focus_in_use).to_value(),
            "processing-latency" => self.latency.reported().nseconds().to_value(),
            "model" => settings
                .model
                .path()
                .map_or_else(String::new, |p| p.to_string_lossy().into_owned())
                .to_value(),
            "provider" => settings.provider.to_value(),
            "provider-in-use" => lock(&self.provider_in_use).to_value(),
            "onnxruntime-library" => settings
                .onnxruntime_library
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .to_value(),
            "working-scale" => settings.working_scale.to_value(),
            "stereo-layout" => settings.stereo_layout.to_value(),
            "calibration" => settings.calibration.to_value(),
            _ => unreachable!("only installed properties are read"),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.add_pad(&self.sink_left).expect("fresh pad");
    }
}

impl GstObjectImpl for Sterefo {}

impl ElementImpl for Sterefo {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Stereo refocus",
                "Filter/Effect/Video",
                "Shallow depth of field from a rectified stereo pair: disparity network + layered depth of field (SteReFo)",
                "sterefo developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let colour = gst_video::VideoCapsBuilder::new()
                .format_list(COLOUR_FORMATS)
                .build();
            let mut output = colour.clone();
            output.merge(
                gst_video::VideoCapsBuilder::new()
                    .format(gst_video::VideoFormat::Gray16Le)
                    .build(),
            );
            let template = |name, direction, presence, caps: &gst::Caps| {
                gst::PadTemplate::with_gtype(
                    name,
                    direction,
                    presence,
                    caps,
                    gst_base::AggregatorPad::static_type(),
                )
                .expect("valid template")
            };
            vec![
                template(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &output,
                ),
                template(
                    "sink_left",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &colour,
                ),
                // requested by linking to it (`s.sink_right` in gst-launch); none where
                // sink_left carries both views
                template(
                    "sink_right",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Request,
                    &colour,
                ),
            ]
        });
        TEMPLATES.as_ref()
    }

    fn release_pad(&self, pad: &gst::Pad) {
        let mut right = lock(&self.sink_right);
        if right
            .as_ref()
            .is_some_and(|r| r.upcast_ref::<gst::Pad>() == pad)
        {
            *right = None;
        }
        drop(right);
        self.parent_release_pad(pad);
    }
}

impl AggregatorImpl for Sterefo {
    fn create_new_pad(
        &self,
        templ: &gst::PadTemplate,
        req_name: Option<&str>,
        _caps: Option<&gst::Caps>,
    ) -> Option<gst_base::AggregatorPad> {
        let mut right = lock(&self.sink_right);
        if templ.name_template() != "sink_right" || req_name.is_some_and(|n| n != "sink_right") {
            gst::warning!(CAT, imp = self, "only sink_right can be requested");
            return None;
        }
        if right.is_some() {
            gst::warning!(CAT, imp = self, "sink_right is already requested");
            return None;
        }
        let pad = gst::PadBuilder::<gst_base::AggregatorPad>::from_template(templ)
            .name("sink_right")
            .build();
        *right = Some(pad.clone());
        Some(pad)
    }

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let renderer = GpuContext::shared().and_then(Renderer::new).map_err(|e| {
            gst::error_msg!(
                gst::LibraryError::Init,
                ["sterefo needs a GPU through wgpu: {e:#}"]
            )
        })?;
        let rectification = if settings.calibration.trim().is_empty() {
            None
        } else {
            let files: Vec<&str> = settings.calibration.split(',').map(str::trim).collect();
            let [first, second] = files[..] else {
                return Err(gst::error_msg!(
                    gst::LibraryError::Settings,
                    (
                        "calibration needs two files, comma-separated (intrinsics.yml,extrinsics.yml or \
                         left.yaml,right.yaml), got `{}`",
                        settings.calibration
                    )
                ));
            };
            let calibration = Calibration::load(first.as_ref(), second.as_ref())
                .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("{e}")))?;
            let context = GpuContext::shared().map_err(|e| {
                gst::error_msg!(
                    gst::LibraryError::Init,
                    ["sterefo needs a GPU through wgpu: {e:#}"]
                )
            })?;
            Some(Rectification {
                calibration,
                remapper: Remapper::new(context),
                checked: None,
                left: Vec::new(),
                right: Vec::new(),
            })
        };
        let options = DepthOptions {
            provider: settings.provider.into(),
            ort_library: settings.onnxruntime_library.clone(),
            scale: settings.working_scale,
            ..Default::default()
        };
        let depth = DepthEstimator::new(&settings.model, &options).map_err(|e| {
            gst::error_msg!(
                gst::LibraryError::Init,
                ("cannot load the disparity model: {e:#}")
            )
        })?;
        gst::info!(
            CAT,
            imp = self,
            "disparity: {} on {} (ONNX Runtime {}); refocus on {}",
            settings.model,
            depth.provider_description(),
            depth.runtime_library().display(),
            renderer.device_name()
        );
        *lock(&self.provider_in_use) = depth.provider_description().to_string();
        self.latency.reset(self.obj().upcast_ref());
        *lock(&self.state) = Some(State {
            renderer,
            depth,
            left_info: None,
            right_info: None,
            disparity: Vec::new(),
            rectification,
            left_rgba: Vec::new(),
            right_rgba: Vec::new(),
            image: Vec::new(),
            right_image: Vec::new(),
            output: Vec::new(),
            puller: FocusPuller::default(),
            temporal: TemporalFilter::default(),
            following_roi: false,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.link_watch.disarm();
        *lock(&self.state) = None;
        Ok(())
    }

    fn flush(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        if let Some(state) = lock(&self.state).as_mut() {
            state.puller.reset();
            state.temporal.reset();
        }
        self.parent_flush()
    }

    fn sink_event(&self, pad: &gst_base::AggregatorPad, event: gst::Event) -> bool {
        if let gst::EventView::StreamStart(_) = event.view() {
            let right = lock(&self.sink_right).clone();
            let pads: Vec<_> = std::iter::once(&self.sink_left)
                .chain(right.as_ref())
                .collect();
            self.link_watch.arm(self.obj().upcast_ref(), &pads);
        }
        if let gst::EventView::Caps(caps) = event.view() {
            let Some(info) = aggregate::caps_video_info(self.obj().upcast_ref(), caps.caps())
            else {
                return false;
            };
            gst::debug!(
                CAT,
                obj = pad,
                "caps {}x{} {:?}",
                info.width(),
                info.height(),
                info.format()
            );
            self.latency.warm_up();
            if let Some(state) = lock(&self.state).as_mut() {
                if pad == &self.sink_left {
                    state.left_info = Some(info);
                } else {
                    state.right_info = Some(info);
                }
            }
            if pad == &self.sink_left {
                self.obj().src_pad().mark_reconfigure();
            }
        }
        self.parent_sink_event(pad, event)
    }

    fn src_event(&self, event: gst::Event) -> bool {
        // Tap to focus: a mouse press in the video window, in output pixel coordinates.
        if let Ok(gst_video::NavigationEvent::MouseButtonPress { x, y, .. }) =
            gst_video::NavigationEvent::parse(&event)
        {
            // The output has one view's size in every output mode. Read from the caps, not
            // the state, whose lock `aggregate` holds through a whole frame.
            let size = self
                .obj()
                .src_pad()
                .current_caps()
                .and_then(|caps| gst_video::VideoInfo::from_caps(&caps).ok())
                .map(|info| (info.width(), info.height()));
            if let Some((width, height)) = size {
                let mut settings = lock(&self.settings);
                settings.focus_x = (x / f64::from(width)).clamp(0.0, 1.0);
                settings.focus_y = (y / f64::from(height)).clamp(0.0, 1.0);
                settings.point_chosen = true;
                gst::info!(
                    CAT,
                    imp = self,
                    "focus point clicked at {:.3}, {:.3}",
                    settings.focus_x,
                    settings.focus_y
                );
            }
        }
        self.parent_src_event(event)
    }

    fn sink_query(&self, pad: &gst_base::AggregatorPad, query: &mut gst::QueryRef) -> bool {
        if let gst::QueryViewMut::Caps(caps) = query.view_mut()
            && pad == &self.sink_left
            && lock(&self.settings).output == Output::Refocused
        {
            // the refocused output has the left input's format (and, unless it packs both
            // views, its size)
            let packed = lock(&self.settings).stereo_layout != StereoLayout::Auto
                || caps.filter().is_some_and(|filter| {
                    filter
                        .structure(0)
                        .and_then(|s| s.get::<&str>("multiview-mode").ok())
                        .is_some_and(|mode| mode == "side-by-side" || mode == "top-bottom")
                });
            aggregate::answer_caps_from_downstream(self.obj().upcast_ref(), pad, caps, packed);
            return true;
        }
        self.parent_sink_query(pad, query)
    }

    fn update_src_caps(&self, caps: &gst::Caps) -> Result<gst::Caps, gst::FlowError> {
        let Some(left) = self.sink_left.current_caps() else {
            return Err(gst_base::AGGREGATOR_FLOW_NEED_DATA);
        };
        let settings = lock(&self.settings).clone();
        let info =
            gst_video::VideoInfo::from_caps(&left).map_err(|_| gst::FlowError::NotNegotiated)?;
        let views = self.packed_views(&settings, &info)?;
        let produced = if settings.output == Output::Refocused && views.is_none() {
            left
        } else {
            output_info(settings.output, &info, views.as_ref())?
                .to_caps()
                .map_err(|_| gst::FlowError::NotNegotiated)?
        };
        if !produced.can_intersect(caps) {
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ["downstream does not accept {produced}; put a videoconvert after sterefo"]
            );
            return Err(gst::FlowError::NotNegotiated);
        }
        Ok(produced)
    }

    fn next_time(&self) -> Option<gst::ClockTime> {
        let right = lock(&self.sink_right).clone();
        let pads: Vec<_> = std::iter::once(&self.sink_left)
            .chain(right.as_ref())
            .collect();
        aggregate::next_time(&pads)
    }

    fn aggregate(&self, timeout: bool) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).clone();
        // The caps of the frame at the head of sink_left's queue (the pad's current caps may
        // already be those of a later frame, after a resolution change).
        let left_info = lock(&self.state)
            .as_ref()
            .ok_or(gst::FlowError::Flushing)?
            .left_info
            .clone();
        let left_info = match left_info {
            Some(info) => info,
            None if self.sink_left.is_eos() => return Err(gst::FlowError::Eos),
            None => return Err(gst_base::AGGREGATOR_FLOW_NEED_DATA),
        };
        let views = self.packed_views(&settings, &left_info)?;
        let (left, right) = self.next_frames(views.is_some(), timeout)?;
        let started = std::time::Instant::now();
        let time = running_time(&self.sink_left, &left);
        if let Some(time) = time {
            let _ = self.obj().sync_values(gst::ClockTime::from_nseconds(time));
        }
        let mut guard = lock(&self.state);
        let state = guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        let right_info = match views {
            Some(_) => left_info.clone(),
            None => state.right_info.clone().ok_or_else(|| {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Negotiation,
                    ["frames arrived before caps"]
                );
                gst::FlowError::NotNegotiated
            })?,
        };
        if views.is_none()
            && (left_info.width(), left_info.height()) != (right_info.width(), right_info.height())
        {
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                [
                    "left is {}x{} but right is {}x{}; a rectified pair must have one size",
                    left_info.width(),
                    left_info.height(),
                    right_info.width(),
                    right_info.height()
                ]
            );
            return Err(gst::FlowError::NotNegotiated);
        }
        let output_info = output_info(settings.output, &left_info, views.as_ref())?;
        let (width, height) = (output_info.width() as usize, output_info.height() as usize);
        if settings.output == Output::Refocused
            && let Err(e) = state
                .renderer
                .check_size(output_info.width(), output_info.height())
        {
            // Before the network runs: a frame the GPU cannot refocus fails at once.
            gst::element_imp_error!(self, gst::StreamError::Failed, ("{e:#}"));
            return Err(gst::FlowError::Error);
        }

        let left_frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(left.as_ref(), &left_info);
        let right_frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(right.as_ref(), &right_info);
        let (Ok(left_frame), Ok(right_frame)) = (left_frame, right_frame) else {
            gst::element_imp_error!(
                self,
                gst::StreamError::Decode,
                ["cannot map the input frames"]
            );
            return Err(gst::FlowError::Error);
        };
        // Each view is a window of its frame (a whole frame, or one half of a frame that
        // packs both), read in place for the 4-byte formats, converted to RGBA first for the
        // others (a packed frame once).
        let (mut left_rgba, mut right_rgba) = (
            std::mem::take(&mut state.left_rgba),
            std::mem::take(&mut state.right_rgba),
        );
        let (left_pixels, right_pixels) = if views.is_some() {
            let left = pixels(&left_frame, &mut left_rgba);
            (left, left)
        } else if formats::is_packed4(left_frame.format())
            && formats::is_packed4(right_frame.format())
        {
            (
                pixels(&left_frame, &mut left_rgba),
                pixels(&right_frame, &mut right_rgba),
            )
        } else {
            // two conversions at once: the cores are otherwise idle until the network runs
            std::thread::scope(|scope| {
                let right = scope.spawn(|| pixels(&right_frame, &mut right_rgba));
                let left = pixels(&left_frame, &mut left_rgba);
                (left, right.join().unwrap_or(None))
            })
        };
        let (left_rect, right_rect) = match views {
            Some(v) => (
                (v.left.0, v.left.1, v.view_width, v.view_height),
                (v.right.0, v.right.1, v.view_width, v.view_height),
            ),
            None => (
                (0, 0, left_info.width(), left_info.height()),
                (0, 0, right_info.width(), right_info.height()),
            ),
        };
        let (Some(left_image), Some(right_image)) = (
            left_pixels.and_then(|p| view(p, left_rect)),
            right_pixels.and_then(|p| view(p, right_rect)),
        ) else {
            gst::element_imp_error!(
                self,
                gst::StreamError::Decode,
                ["cannot read the input frames"]
            );
            return Err(gst::FlowError::Error);
        };
        // An unrectified pair is rectified first (the calibration's maps, on the GPU).
        let mut rectification = state.rectification.take();
        let rectified = match rectification.as_mut() {
            None => Ok(None),
            Some(r) => self.rectify(r, &left_image, &right_image).map(Some),
        };
        let (left_image, right_image) = match (&rectified, rectification.as_ref()) {
            (Ok(Some(())), Some(r)) => (
                StereoImage {
                    data: &r.left,
                    width,
                    height,
                    stride: width * 4,
                    order: left_image.order,
                },
                StereoImage {
                    data: &r.right,
                    width,
                    height,
                    stride: width * 4,
                    order: right_image.order,
                },
            ),
            (Err(_), _) => {
                state.rectification = rectification;
                return Err(gst::FlowError::Error);
            }
            _ => (left_image, right_image),
        };
        if let Err(e) = state.depth.set_scale(settings.working_scale) {
            gst::element_imp_error!(self, gst::LibraryError::Settings, ["{e:#}"]);
            return Err(gst::FlowError::Error);
        }
        if let Err(e) = state
            .depth
            .estimate(&left_image, &right_image, &mut state.disparity)
        {
            gst::element_imp_error!(
                self,
                gst::LibraryError::Failed,
                ("disparity estimation with {} failed: {e:#}", settings.model)
            );
            return Err(gst::FlowError::Error);
        }
        let refocus = &settings.refocus;
        state.temporal.apply(
            &mut state.disparity,
            width,
            height,
            refocus.temporal_smoothing,
            refocus.temporal_gate,
        );

        let (target, from_roi) = self.focus_target(
            &settings,
            &left,
            &state.disparity,
            width,
            height,
            state.following_roi,
            state.puller.current(),
        );
        if from_roi && !state.following_roi {
            // A newly acquired object: cut to it rather than glide from an unrelated focus.
            state.puller.reset();
        }
        state.following_roi = from_roi;
        let frame = aggregate::frame_duration_ns(&self.sink_left, &left);
        let focus = state
            .puller
            .follow(target, time, frame, settings.focus_smoothing);
        *lock(&self.focus_in_use) = focus;
        gst::log!(
            CAT,
            imp = self,
            "{:?}: focus target {target:.2} px, in use {focus:.2} px",
            left.pts()
        );

        let mut output = aggregate::output_buffer(
            self.obj().upcast_ref(),
            &self.sink_left,
            output_info.size(),
            &left,
        )?;
        {
            let buffer = output.get_mut().expect("new buffer is writable");
            let mut out_frame =
                gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, &output_info)
                    .map_err(|_| gst::FlowError::Error)?;
            let written = match settings.output {
                Output::Refocused => {
                    let params = settings
                        .refocus
                        .params(focus, formats::transfer(&left_info));
                    if let Err(e) = params.validate() {
                        gst::element_imp_error!(self, gst::LibraryError::Settings, ["{e}"]);
                        return Err(gst::FlowError::Error);
                    }
                    frames::read_view(&left_image, &mut state.image);
                    // The foreground fill takes what near objects hide from the right view.
                    let right = params.fill_hidden.then(|| {
                        frames::read_view(&right_image, &mut state.right_image);
                        state.right_image.as_slice()
                    });
                    // Converted formats are coded on the GPU after refocusing.
                    let coding = PlaneCoding::of(&output_info);
                    let rendered = state.renderer.render_into(
                        Colour::Pixels(&state.image),
                        right,
                        &state.disparity,
                        width as u32,
                        height as u32,
                        &params,
                        coding.as_ref(),
                        &mut state.output,
                    );
                    if let Err(e) = rendered {
                        gst::element_imp_error!(
                            self,
                            gst::LibraryError::Failed,
                            ("refocusing failed: {e:#}")
                        );
                        return Err(gst::FlowError::Error);
                    }
                    formats::gpu::write_output(&state.output, coding.as_ref(), &mut out_frame)
                }
                Output::Disparity => frames::write_disparity(&state.disparity, &mut out_frame),
                Output::DisparityColor => {
                    let (low, high) = (
                        settings.refocus.min_disparity,
                        settings.refocus.max_disparity,
                    );
                    state.output.clear();
                    state.output.extend(
                        state
                            .disparity
                            .iter()
                            .flat_map(|d| colormap::viridis(*d, low, high)),
                    );
                    formats::write(&state.output, &mut out_frame)
                }
            };
            written.map_err(|_| gst::FlowError::Error)?;
        }
        drop(left_frame);
        drop(right_frame);
        (state.left_rgba, state.right_rgba) = (left_rgba, right_rgba);
        state.rectification = rectification;
        drop(guard);
        self.latency
            .record(self.obj().upcast_ref(), started.elapsed(), *CAT);
        self.obj().finish_buffer(output)
    }
}

impl Sterefo {
    /// Rectifies both views into `r.left`, `r.right` (tightly packed), after checking the
    /// calibration against their size once per size; an element error when it does not fit.
    fn rectify(
        &self,
        r: &mut Rectification,
        left: &StereoImage,
        right: &StereoImage,
    ) -> Result<(), ()> {
        let (width, height) = (left.width as u32, left.height as u32);
        if r.checked != Some((width, height)) {
            if let Err(e) = r.calibration.check_size(width, height) {
                gst::element_imp_error!(self, gst::StreamError::Format, ("{e}"));
                return Err(());
            }
            r.checked = Some((width, height));
        }
        r.remapper
            .set_maps(width, height, || r.calibration.maps(width, height));
        r.remapper
            .remap([left, right], [&mut r.left, &mut r.right])
            .map_err(|e| {
                gst::element_imp_error!(
                    self,
                    gst::LibraryError::Failed,
                    ("rectification failed: {e:#}")
                );
            })
    }

    /// Where the two views are in sink_left's frames when they pack both (the
    /// `stereo-layout` property, else the caps' multiview mode); `None` for one view per
    /// frame. Caps the element cannot unpack are an element error.
    fn packed_views(
        &self,
        settings: &Settings,
        left: &gst_video::VideoInfo,
    ) -> Result<Option<PackedViews>, gst::FlowError> {
        let caps = stereo_layout::from_caps(left.multiview_mode(), left.multiview_flags())
            .map_err(|e| {
                gst::element_imp_error!(self, gst::StreamError::Format, ("{e}"));
                gst::FlowError::NotNegotiated
            })?;
        let packing = match settings.stereo_layout {
            StereoLayout::Auto => caps.packing,
            StereoLayout::SideBySide => Some(stereo_layout::Packing::SideBySide),
            StereoLayout::TopBottom => Some(stereo_layout::Packing::TopBottom),
        };
        let Some(packing) = packing else {
            return Ok(None);
        };
        PackedViews::new(
            packing,
            left.width(),
            left.height(),
            caps.right_first,
            caps.half_aspect,
        )
        .map(Some)
        .map_err(|e| {
            gst::element_imp_error!(self, gst::StreamError::Format, ("{e}"));
            gst::FlowError::NotNegotiated
        })
    }

    /// The next frames to refocus: one frame that packs both views (`packed`, returned
    /// twice), or the next pair from sink_left and sink_right. A packed stream with a linked
    /// sink_right, or a queued frame of one view with no sink_right, is an element error that
    /// says how to link it.
    fn next_frames(
        &self,
        packed: bool,
        timeout: bool,
    ) -> Result<(gst::Buffer, gst::Buffer), gst::FlowError> {
        let right = lock(&self.sink_right).clone();
        match (packed, right) {
            (true, Some(right)) if right.peer().is_some() => {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Negotiation,
                    ("sink_left carries both views in one frame, and sink_right is linked too; \
                         unlink sink_right, or set stereo-layout=auto with one view per frame on each pad")
                );
                Err(gst::FlowError::NotNegotiated)
            }
            (true, _) => {
                let frame = aggregate::next_single(&self.sink_left, *CAT)?;
                Ok((frame.clone(), frame))
            }
            (false, Some(right)) => aggregate::next_pair(&self.sink_left, &right, timeout, *CAT),
            // sink_right released after the last frame (a pipeline tearing down): nothing is
            // left to pair.
            (false, None) if !self.sink_left.has_buffer() => Err(if self.sink_left.is_eos() {
                gst::FlowError::Eos
            } else {
                gst_base::AGGREGATOR_FLOW_NEED_DATA
            }),
            (false, None) => {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Pad,
                    ("sink_left carries one view and there is no right view: link the right \
                         view to sink_right, or, for frames that pack both views, set \
                         stereo-layout=side-by-side or top-bottom (or give the caps a multiview-mode)")
                );
                Err(gst::FlowError::NotNegotiated)
            }
        }
    }

    /// The focus disparity this frame asks for, before smoothing, and whether it follows a
    /// region of interest (seen now, or held since the tracker lost it).
    #[allow(clippy::too_many_arguments)]
    fn focus_target(
        &self,
        settings: &Settings,
        left: &gst::Buffer,
        disparity: &[f32],
        width: usize,
        height: usize,
        following_roi: bool,
        previous: Option<f32>,
    ) -> (f32, bool) {
        let manual = settings.refocus.focus_disparity;
        let point = || {
            focus::median_in(
                disparity,
                width,
                height,
                focus::point_box(settings.focus_x, settings.focus_y, width, height),
            )
        };
        let roi = || {
            left.iter_meta::<gst_video::VideoRegionOfInterestMeta>()
                .filter(|meta| settings.roi_type.is_empty() || meta.roi_type() == settings.roi_type)
                .find_map(|meta| {
                    let (x, y, w, h) = meta.rect();
                    let median = focus::median_in(
                        disparity,
                        width,
                        height,
                        Rect {
                            x,
                            y,
                            width: w,
                            height: h,
                        },
                    );
                    if median.is_none() {
                        gst::debug!(
                            CAT,
                            imp = self,
                            "ignoring an empty or off-frame ROI {x},{y} {w}x{h}"
                        );
                    }
                    median
                })
        };
        // A lost object holds the last focus, as a focus puller would.
        let held = if following_roi { previous } else { None };
        match settings.focus_mode {
            FocusMode::Disparity => (manual, false),
            FocusMode::Point => (point().unwrap_or(manual), false),
            FocusMode::Roi => roi().or(previous).map_or((manual, false), |f| (f, true)),
            FocusMode::Auto => match roi().or(held) {
                Some(focus) => (focus, true),
                None => (
                    if settings.point_chosen { point() } else { None }.unwrap_or(manual),
                    false,
                ),
            },
        }
    }
}

fn channel_order(format: gst_video::VideoFormat) -> ChannelOrder {
    match format {
        gst_video::VideoFormat::Bgra => ChannelOrder::Bgra,
        gst_video::VideoFormat::Bgrx => ChannelOrder::Bgrx,
        gst_video::VideoFormat::Rgbx => ChannelOrder::Rgbx,
        _ => ChannelOrder::Rgba,
    }
}

/// The 4-byte pixels of a mapped frame, with their row stride and channel order: the
/// frame's own plane for the 4-byte formats (its stride the mapped one, as a buffer's
/// GstVideoMeta may pad rows beyond what the caps imply), else the frame converted into
/// `rgba`.
fn pixels<'a>(
    frame: &'a gst_video::VideoFrameRef<&gst::BufferRef>,
    rgba: &'a mut Vec<u8>,
) -> Option<(&'a [u8], usize, ChannelOrder)> {
    if formats::is_packed4(frame.format()) {
        let data = frame.plane_data(0).ok()?;
        return Some((
            data,
            frame.plane_stride()[0] as usize,
            channel_order(frame.format()),
        ));
    }
    formats::read(frame, rgba).ok()?;
    Some((
        rgba.as_slice(),
        frame.width() as usize * 4,
        ChannelOrder::Rgba,
    ))
}

/// The window (x, y, width, height) of 4-byte pixels.
fn view(
    (data, stride, order): (&[u8], usize, ChannelOrder),
    (x, y, width, height): (u32, u32, u32, u32),
) -> Option<StereoImage<'_>> {
    let start = y as usize * stride + x as usize * 4;
    data.get(start..).map(|data| StereoImage {
        data,
        width: width as usize,
        height: height as usize,
        stride,
        order,
    })
}

/// What the src pad carries for a left input `left` (a frame packing both views when
/// `views` says so): one view's size, in the left input's format (refocused) or the
/// disparity's, at one view's pixel aspect ratio.
fn output_info(
    output: Output,
    left: &gst_video::VideoInfo,
    views: Option<&PackedViews>,
) -> Result<gst_video::VideoInfo, gst::FlowError> {
    let format = match output {
        Output::Refocused => left.format(),
        Output::Disparity => gst_video::VideoFormat::Gray16Le,
        Output::DisparityColor => gst_video::VideoFormat::Rgba,
    };
    if output == Output::Refocused && views.is_none() {
        return Ok(left.clone());
    }
    let (width, height, par) = match views {
        Some(v) => (v.view_width, v.view_height, v.view_par(left.par())),
        None => (left.width(), left.height(), left.par()),
    };
    let builder = gst_video::VideoInfo::builder(format, width, height)
        .fps(left.fps())
        .par(par);
    let builder = if output == Output::Refocused {
        builder.colorimetry(&left.colorimetry())
    } else {
        builder
    };
    builder.build().map_err(|_| gst::FlowError::NotNegotiated)
}
