//! The `refocus` element's glue: pads, properties, pairing, frame copies. The algorithm is
//! in `crate::dof`.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::depth_settings::DepthSettings;
use crate::aggregate::{self, running_time};
use crate::depth_map::DepthToDisparity;
use crate::dof::gpu::{Colour, Renderer};
use crate::formats::gpu::PlaneCoding;
use crate::formats::{self, COLOUR_FORMATS};
use crate::frames;
use crate::gpu::GpuContext;
use crate::properties::RefocusSettings;
use crate::temporal::TemporalFilter;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "refocus",
        gst::DebugColorFlags::empty(),
        Some("Layered depth of field refocusing"),
    )
});

struct State {
    renderer: Renderer,
    colour_info: Option<gst_video::VideoInfo>,
    disparity_info: Option<gst_video::VideoInfo>,
    /// For a depth input: how its levels become disparity.
    depth: Option<DepthToDisparity>,
    temporal: TemporalFilter,
    image: Vec<u8>,
    disparity: Vec<f32>,
    output: Vec<u8>,
}

pub struct Refocus {
    sink: gst_base::AggregatorPad,
    sink_disparity: gst_base::AggregatorPad,
    link_watch: aggregate::LinkWatch,
    latency: aggregate::LatencyReport,
    settings: Mutex<RefocusSettings>,
    depth_settings: Mutex<DepthSettings>,
    state: Mutex<Option<State>>,
}

#[glib::object_subclass]
impl ObjectSubclass for Refocus {
    const NAME: &'static str = "GstRefocus";
    type Type = super::Refocus;
    type ParentType = gst_base::Aggregator;

    fn with_class(klass: &Self::Class) -> Self {
        let pad = |name: &str| {
            let template = klass.pad_template(name).expect("template defined below");
            gst::PadBuilder::<gst_base::AggregatorPad>::from_template(&template)
                .name(name)
                .build()
        };
        Refocus {
            sink: pad("sink"),
            sink_disparity: pad("sink_disparity"),
            link_watch: aggregate::LinkWatch::default(),
            latency: aggregate::LatencyReport::default(),
            settings: Mutex::new(RefocusSettings::default()),
            depth_settings: Mutex::new(DepthSettings::default()),
            state: Mutex::new(None),
        }
    }
}

impl ObjectImpl for Refocus {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut specs = RefocusSettings::specs();
            specs.extend(DepthSettings::specs());
            specs.push(aggregate::LatencyReport::spec());
            specs
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        if !settings.set(pspec.name(), value) {
            let mut depth = self
                .depth_settings
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            assert!(
                depth.set(pspec.name(), value),
                "only our properties are installed"
            );
        }
        gst::debug!(CAT, imp = self, "{} set to {:?}", pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "processing-latency" {
            return self.latency.reported().nseconds().to_value();
        }
        let settings = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        let depth = self
            .depth_settings
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        settings
            .get(pspec.name())
            .or_else(|| depth.get(pspec.name()))
            .expect("only our properties are installed")
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.add_pad(&self.sink).expect("fresh pad");
        obj.add_pad(&self.sink_disparity).expect("fresh pad");
    }
}

impl GstObjectImpl for Refocus {}

impl ElementImpl for Refocus {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Refocus",
                "Filter/Effect/Video",
                "Shallow depth of field from an image and its disparity (layered depth of field, SteReFo)",
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
            let disparity = gst_video::VideoCapsBuilder::new()
                .format(gst_video::VideoFormat::Gray16Le)
                .build();
            let template = |name, direction, caps: &gst::Caps| {
                gst::PadTemplate::with_gtype(
                    name,
                    direction,
                    gst::PadPresence::Always,
                    caps,
                    gst_base::AggregatorPad::static_type(),
                )
                .expect("valid template")
            };
            vec![
                template("src", gst::PadDirection::Src, &colour),
                template("sink", gst::PadDirection::Sink, &colour),
                template("sink_disparity", gst::PadDirection::Sink, &disparity),
            ]
        });
        TEMPLATES.as_ref()
    }
}

impl AggregatorImpl for Refocus {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let renderer = GpuContext::shared().and_then(Renderer::new).map_err(|e| {
            gst::error_msg!(
                gst::LibraryError::Init,
                ["refocus needs a GPU through wgpu: {e:#}"]
            )
        })?;
        let depth_settings = *self
            .depth_settings
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let depth = depth_settings
            .converter()
            .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("{e}")))?;
        gst::info!(CAT, imp = self, "rendering on {}", renderer.device_name());
        self.latency.reset(self.obj().upcast_ref());
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Some(State {
            renderer,
            colour_info: None,
            disparity_info: None,
            depth,
            temporal: TemporalFilter::default(),
            image: Vec::new(),
            disparity: Vec::new(),
            output: Vec::new(),
        });
        Ok(())
    }

    fn flush(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        if let Some(state) = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            state.temporal.reset();
        }
        self.parent_flush()
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.link_watch.disarm();
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }

    fn sink_event(&self, pad: &gst_base::AggregatorPad, event: gst::Event) -> bool {
        if let gst::EventView::StreamStart(_) = event.view() {
            self.link_watch
                .arm(self.obj().upcast_ref(), &[&self.sink, &self.sink_disparity]);
        }
        if let gst::EventView::Caps(caps) = event.view() {
            let Some(info) = aggregate::caps_video_info(self.obj().upcast_ref(), caps.caps())
            else {
                return false;
            };
            gst::debug!(CAT, obj = pad, "caps {info:?}");
            self.latency.warm_up();
            if let Some(state) = self
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
            {
                if pad == &self.sink {
                    state.colour_info = Some(info);
                } else {
                    state.disparity_info = Some(info);
                }
            }
            if pad == &self.sink {
                self.obj().src_pad().mark_reconfigure();
            }
        }
        self.parent_sink_event(pad, event)
    }

    fn sink_query(&self, pad: &gst_base::AggregatorPad, query: &mut gst::QueryRef) -> bool {
        if let gst::QueryViewMut::Caps(caps) = query.view_mut()
            && pad == &self.sink
        {
            // the output has the colour input's format
            aggregate::answer_caps_from_downstream(self.obj().upcast_ref(), pad, caps, false);
            return true;
        }
        self.parent_sink_query(pad, query)
    }

    fn update_src_caps(&self, caps: &gst::Caps) -> Result<gst::Caps, gst::FlowError> {
        let Some(colour) = self.sink.current_caps() else {
            return Err(gst_base::AGGREGATOR_FLOW_NEED_DATA);
        };
        if !colour.can_intersect(caps) {
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ["downstream does not accept {colour}; put a videoconvert after refocus"]
            );
            return Err(gst::FlowError::NotNegotiated);
        }
        Ok(colour)
    }

    fn next_time(&self) -> Option<gst::ClockTime> {
        aggregate::next_time(&[&self.sink, &self.sink_disparity])
    }

    fn aggregate(&self, timeout: bool) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (colour, disparity) =
            aggregate::next_pair(&self.sink, &self.sink_disparity, timeout, *CAT)?;
        let started = std::time::Instant::now();

        if let Some(time) = running_time(&self.sink, &colour) {
            let _ = self.obj().sync_values(gst::ClockTime::from_nseconds(time));
        }
        let settings = *self.settings.lock().unwrap_or_else(|e| e.into_inner());
        let depth_settings = *self
            .depth_settings
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let focus = depth_settings
            .focus(settings.focus_disparity)
            .map_err(|e| {
                gst::element_imp_error!(self, gst::LibraryError::Settings, ("{e}"));
                gst::FlowError::Error
            })?;

        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        let (Some(colour_info), Some(disparity_info)) =
            (state.colour_info.clone(), state.disparity_info.clone())
        else {
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ["buffers arrived before caps"]
            );
            return Err(gst::FlowError::NotNegotiated);
        };
        let params = settings.params(focus, formats::transfer(&colour_info));
        if (colour_info.width(), colour_info.height())
            != (disparity_info.width(), disparity_info.height())
        {
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                [
                    "colour is {}x{} but disparity is {}x{}; scale one to the other (videoscale) before refocus",
                    colour_info.width(),
                    colour_info.height(),
                    disparity_info.width(),
                    disparity_info.height()
                ]
            );
            return Err(gst::FlowError::NotNegotiated);
        }
        if let Err(e) = params.validate() {
            gst::element_imp_error!(self, gst::LibraryError::Settings, ["{e}"]);
            return Err(gst::FlowError::Error);
        }

        // Converted formats are coded on the GPU after refocusing and, on a real GPU, travel
        // to it as their planes and are decoded there (the foreground fill reads the pixels on
        // the host, so it decodes here); the 4-byte ones go as they are.
        let coding = PlaneCoding::of(&colour_info);
        let planes_in = coding.filter(|_| !params.fill_hidden && state.renderer.decodes_planes());
        let mut read = || -> Result<(), glib::BoolError> {
            let frame =
                gst_video::VideoFrameRef::from_buffer_ref_readable(colour.as_ref(), &colour_info)?;
            match &planes_in {
                Some(coding) => formats::gpu::read_planes(&frame, coding, &mut state.image)?,
                None => formats::read(&frame, &mut state.image)?,
            }
            let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(
                disparity.as_ref(),
                &disparity_info,
            )?;
            match &state.depth {
                None => frames::read_disparity(&frame, &mut state.disparity),
                Some(depth) => frames::read_depth(&frame, depth, &mut state.disparity),
            }
        };
        if let Err(e) = read() {
            gst::element_imp_error!(
                self,
                gst::StreamError::Decode,
                ["cannot map input frames: {e}"]
            );
            return Err(gst::FlowError::Error);
        }
        let (width, height) = (colour_info.width(), colour_info.height());
        state.temporal.apply(
            &mut state.disparity,
            width as usize,
            height as usize,
            settings.temporal_smoothing,
            settings.temporal_gate,
        );
        let image = match &planes_in {
            Some(coding) => Colour::Planes(coding, &state.image),
            None => Colour::Pixels(&state.image),
        };
        let rendered = state.renderer.render_into(
            image,
            None,
            &state.disparity,
            width,
            height,
            &params,
            coding.as_ref(),
            &mut state.output,
        );
        let stats = match rendered {
            Ok(stats) => stats,
            Err(e) => {
                gst::element_imp_error!(
                    self,
                    gst::LibraryError::Failed,
                    ("refocusing failed: {e:#}")
                );
                return Err(gst::FlowError::Error);
            }
        };
        gst::log!(
            CAT,
            imp = self,
            "{:?}: focus {} px, {stats:?}",
            colour.pts(),
            params.focus_disparity
        );

        let mut output = aggregate::output_buffer(
            self.obj().upcast_ref(),
            &self.sink,
            colour_info.size(),
            &colour,
        )?;
        {
            let buffer = output.get_mut().expect("new buffer is writable");
            let mut frame =
                gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, &colour_info)
                    .map_err(|_| gst::FlowError::Error)?;
            formats::gpu::write_output(&state.output, coding.as_ref(), &mut frame)
                .map_err(|_| gst::FlowError::Error)?;
        }
        drop(guard);
        self.latency
            .record(self.obj().upcast_ref(), started.elapsed(), *CAT);
        self.obj().finish_buffer(output)
    }
}
