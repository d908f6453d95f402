//! Property-based tests of the GPU renderer against the CPU oracle: random sizes (1x1 and
//! odd widths included), apertures, ranges, focus, masks and disparity maps (with values
//! outside the range and NaN). Exact mode must agree within 1/255 per channel.

use std::sync::{LazyLock, Mutex};

use gststerefo::dof::gpu::Renderer;
use gststerefo::dof::{Highlights, Light, Mask, Params, Shape, Transfer, reference};
use gststerefo::gpu::GpuContext;
use proptest::prelude::*;

static RENDERER: LazyLock<Mutex<Renderer>> = LazyLock::new(|| {
    Mutex::new(Renderer::new(GpuContext::shared().expect("a wgpu adapter")).expect("renderer"))
});

prop_compose! {
    fn scene()(width in 1usize..48, height in 1usize..36)
        (image in proptest::collection::vec(any::<u8>(), width * height * 4),
         disparity in proptest::collection::vec(prop_oneof![
             8 => -5.0f32..70.0,
             1 => Just(f32::NAN),
         ], width * height),
         width in Just(width), height in Just(height))
        -> (usize, usize, Vec<u8>, Vec<f32>) {
        (width, height, image, disparity)
    }
}

prop_compose! {
    fn params()(aperture in 0.05f32..1.5, min in 0.0f32..20.0, span in 0.0f32..50.0,
                focus in 0.0f32..70.0, smooth in proptest::option::of(1.0f32..2000.0),
                linear in proptest::option::of((0.0f32..0.99, 0.0f32..16.0)),
                blades in proptest::option::of((3u32..=16, 0.0f32..360.0)),
                fill_hidden in proptest::bool::ANY)
        -> Params {
        Params {
            aperture,
            focus_disparity: focus,
            min_disparity: min,
            max_disparity: min + span,
            max_kernel: 0,
            mask: smooth.map_or(Mask::Hard, |alpha| Mask::Smooth { alpha }),
            light: linear.map_or(Light::Encoded, |(threshold, gain)| Light::Linear {
                transfer: Transfer::Srgb,
                highlights: Highlights { threshold, gain },
            }),
            shape: blades.map_or(Shape::Disc, |(blades, rotation)| Shape::Blades { blades, rotation }),
            fill_hidden,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn exact_mode_matches_the_oracle((width, height, image, disparity) in scene(), params in params()) {
        // NaN disparity means "unknown"; both renderers treat it as the far end of the range.
        let oracle_disparity: Vec<f32> =
            disparity.iter().map(|d| if d.is_nan() { params.min_disparity } else { *d }).collect();
        let expected = reference::refocus(&image, &oracle_disparity, width, height, &params);
        let mut actual = vec![0u8; image.len()];
        RENDERER
            .lock()
            .unwrap()
            .render(&image, &disparity, width as u32, height as u32, &params, &mut actual)
            .expect("render");
        let worst = expected.iter().zip(&actual).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
        prop_assert!(worst <= 1, "worst difference {} at {}x{} {:?}", worst, width, height, params);
    }
}
