//! How the two views of a stereo pair arrive: as two streams, or packed in one frame, side
//! by side or one above the other (GStreamer's multiview modes `side-by-side` and
//! `top-bottom`, which most stereo cameras deliver: a ZED's `stream-type=2` is top-bottom,
//! USB stereo cameras send side-by-side MJPEG).

use gst_video::{VideoMultiviewFlags, VideoMultiviewMode};

/// How one frame packs both views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// Left view in the left half, right view in the right half.
    SideBySide,
    /// Left view in the top half, right view in the bottom half.
    TopBottom,
}

impl Packing {
    /// The multiview mode's name in caps.
    pub fn caps_name(self) -> &'static str {
        match self {
            Packing::SideBySide => "side-by-side",
            Packing::TopBottom => "top-bottom",
        }
    }
}

/// What a frame's caps say about its views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapsLayout {
    /// `None`: one view per frame (no multiview mode, `mono`, `left` or `right`).
    pub packing: Option<Packing>,
    /// The flag `right-view-first`: the right view is where the left one usually is.
    pub right_first: bool,
    /// The flag `half-aspect`: each view is squeezed to half its width (side by side) or
    /// height (top-bottom), to be stretched back for display.
    pub half_aspect: bool,
}

/// Reads the multiview mode and flags of caps. Modes that are neither one view per frame
/// nor a packing this element unpacks are an error that says what to do.
pub fn from_caps(
    mode: VideoMultiviewMode,
    flags: VideoMultiviewFlags,
) -> Result<CapsLayout, String> {
    let packing = match mode {
        VideoMultiviewMode::None
        | VideoMultiviewMode::Mono
        | VideoMultiviewMode::Left
        | VideoMultiviewMode::Right => None,
        VideoMultiviewMode::SideBySide => Some(Packing::SideBySide),
        VideoMultiviewMode::TopBottom => Some(Packing::TopBottom),
        other => {
            let name = other
                .to_caps_string()
                .map_or_else(|| format!("{other:?}"), |s| s.to_string());
            return Err(format!(
                "multiview-mode={name} is not a packing sterefo takes: give it side-by-side or \
                 top-bottom frames (glviewconvert converts between multiview modes), or the two \
                 views as two streams on sink_left and sink_right"
            ));
        }
    };
    Ok(CapsLayout {
        packing,
        right_first: flags.contains(VideoMultiviewFlags::RIGHT_VIEW_FIRST),
        half_aspect: flags.contains(VideoMultiviewFlags::HALF_ASPECT),
    })
}

/// Where the two views lie in a packed frame, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedViews {
    pub packing: Packing,
    /// The size of one view.
    pub view_width: u32,
    pub view_height: u32,
    /// Top-left corners (x, y) of the left and the right view in the frame.
    pub left: (u32, u32),
    pub right: (u32, u32),
    /// Whether each view is squeezed to half its aspect (see [`CapsLayout::half_aspect`]).
    pub half_aspect: bool,
}

impl PackedViews {
    /// The views of a `width` x `height` frame packed by `packing`; a frame that does not
    /// split into two views of one size (an odd width side by side, an odd height top-bottom)
    /// is an error.
    pub fn new(
        packing: Packing,
        width: u32,
        height: u32,
        right_first: bool,
        half_aspect: bool,
    ) -> Result<PackedViews, String> {
        let (view_width, view_height, second) = match packing {
            Packing::SideBySide => (width / 2, height, (width / 2, 0)),
            Packing::TopBottom => (width, height / 2, (0, height / 2)),
        };
        let odd = match packing {
            Packing::SideBySide => width % 2 == 1,
            Packing::TopBottom => height % 2 == 1,
        };
        if odd || view_width == 0 || view_height == 0 {
            return Err(format!(
                "a {} frame of {width}x{height} does not split into two views of one size (it needs an \
                 even {}); check the stereo-layout property or the source's multiview caps",
                packing.caps_name(),
                if packing == Packing::SideBySide {
                    "width"
                } else {
                    "height"
                }
            ));
        }
        let (left, right) = if right_first {
            (second, (0, 0))
        } else {
            ((0, 0), second)
        };
        Ok(PackedViews {
            packing,
            view_width,
            view_height,
            left,
            right,
            half_aspect,
        })
    }

    /// The pixel aspect ratio of one view for a frame of pixel aspect ratio `par`: the
    /// frame's, except that half-aspect views are stretched back (twice as wide pixels side
    /// by side, twice as tall top-bottom).
    pub fn view_par(&self, par: gst::Fraction) -> gst::Fraction {
        if !self.half_aspect {
            return par;
        }
        let (numer, denom) = match self.packing {
            Packing::SideBySide => (par.numer() * 2, par.denom()),
            Packing::TopBottom => (par.numer(), par.denom() * 2),
        };
        reduce(numer, denom)
    }
}

fn reduce(numer: i32, denom: i32) -> gst::Fraction {
    fn gcd(a: i32, b: i32) -> i32 {
        if b == 0 {
            a.abs().max(1)
        } else {
            gcd(b, a % b)
        }
    }
    let g = gcd(numer, denom);
    gst::Fraction::new(numer / g, denom / g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_by_side_and_top_bottom_split_into_two_views() {
        let sbs = PackedViews::new(Packing::SideBySide, 2560, 720, false, false).unwrap();
        assert_eq!(
            (sbs.view_width, sbs.view_height, sbs.left, sbs.right),
            (1280, 720, (0, 0), (1280, 0))
        );
        let tb = PackedViews::new(Packing::TopBottom, 1280, 1440, false, false).unwrap();
        assert_eq!(
            (tb.view_width, tb.view_height, tb.left, tb.right),
            (1280, 720, (0, 0), (0, 720))
        );
        let swapped = PackedViews::new(Packing::TopBottom, 1280, 1440, true, false).unwrap();
        assert_eq!((swapped.left, swapped.right), ((0, 720), (0, 0)));
    }

    #[test]
    fn frames_that_do_not_split_evenly_are_refused() {
        let error = PackedViews::new(Packing::SideBySide, 1281, 720, false, false).unwrap_err();
        assert!(
            error.contains("1281x720") && error.contains("even width"),
            "{error}"
        );
        let error = PackedViews::new(Packing::TopBottom, 640, 481, false, false).unwrap_err();
        assert!(error.contains("even height"), "{error}");
        assert!(PackedViews::new(Packing::SideBySide, 1, 1, false, false).is_err());
    }

    #[test]
    fn half_aspect_views_get_the_pixel_aspect_ratio_that_stretches_them_back() {
        let one = gst::Fraction::new(1, 1);
        let sbs = PackedViews::new(Packing::SideBySide, 1920, 1080, false, true).unwrap();
        assert_eq!(sbs.view_par(one), gst::Fraction::new(2, 1));
        let tb = PackedViews::new(Packing::TopBottom, 1920, 1080, false, true).unwrap();
        assert_eq!(
            tb.view_par(gst::Fraction::new(4, 3)),
            gst::Fraction::new(2, 3)
        );
        let full = PackedViews::new(Packing::SideBySide, 3840, 1080, false, false).unwrap();
        assert_eq!(full.view_par(one), one);
    }

    #[test]
    fn caps_modes_are_read_and_unsupported_ones_explained() {
        gst::init().unwrap();
        let flags = VideoMultiviewFlags::HALF_ASPECT | VideoMultiviewFlags::RIGHT_VIEW_FIRST;
        let layout = from_caps(VideoMultiviewMode::SideBySide, flags).unwrap();
        assert_eq!(
            layout,
            CapsLayout {
                packing: Some(Packing::SideBySide),
                right_first: true,
                half_aspect: true
            }
        );
        for mono in [
            VideoMultiviewMode::None,
            VideoMultiviewMode::Mono,
            VideoMultiviewMode::Left,
        ] {
            assert_eq!(
                from_caps(mono, VideoMultiviewFlags::empty())
                    .unwrap()
                    .packing,
                None
            );
        }
        let error = from_caps(
            VideoMultiviewMode::Checkerboard,
            VideoMultiviewFlags::empty(),
        )
        .unwrap_err();
        assert!(
            error.contains("multiview-mode=checkerboard") && error.contains("glviewconvert"),
            "{error}"
        );
        assert!(
            from_caps(
                VideoMultiviewMode::FrameByFrame,
                VideoMultiviewFlags::empty()
            )
            .is_err()
        );
    }
}
