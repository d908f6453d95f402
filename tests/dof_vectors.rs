//! The test vectors shared with the differentiable layered depth of field in Python
//! (`models/train/layered_dof.py`, checked by `models/train/test_layered_dof.py`): small
//! scenes refocused by the CPU oracle, written to `models/train/testdata/dof_vectors.txt`.
//! This test fails when the oracle no longer gives what the file holds, so the Python side
//! is always checked against today's oracle; `STEREFO_WRITE_DOF_VECTORS=1 cargo test --test
//! dof_vectors` rewrites the file after an intended change.
//!
//! The file is text, one item per line: `case NAME width W height H aperture A focus F dmin
//! X dmax Y mask hard|smooth alpha V`, then `image` (W*H*3 bytes, RGB, row-major), `disparity`
//! (W*H values, pixels) and `expected` (W*H*3 values: the oracle's `Is / Ms` before rounding).

use std::fmt::Write as _;
use std::path::Path;

use gststerefo::dof::{Mask, Params, reference};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/train/testdata/dof_vectors.txt"
);

/// A textured picture: a smooth gradient with a deterministic pseudo-random grain.
fn picture(width: usize, height: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut grain = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as f32 / 255.0
    };
    let mut image = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        for x in 0..width {
            let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
            for base in [200.0 * u, 60.0 + 150.0 * v, 220.0 - 180.0 * u * v] {
                image.push((base + 35.0 * grain()).min(255.0) as u8);
            }
            image.push(255);
        }
    }
    image
}

/// A slanted background with a near box and a far strip, values below `dmin` and above
/// `dmax` included (the oracle clamps them).
fn disparity(width: usize, height: usize, near: f32) -> Vec<f32> {
    (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| {
            if (width / 3..2 * width / 3).contains(&x) && (height / 4..3 * height / 4).contains(&y)
            {
                near
            } else if y < 2 {
                -1.5
            } else {
                2.0 + 0.37 * x as f32 + 0.21 * y as f32
            }
        })
        .collect()
}

struct Case {
    name: &'static str,
    width: usize,
    height: usize,
    params: Params,
}

fn cases() -> Vec<Case> {
    let params = |aperture, focus_disparity, max_disparity, mask| Params {
        aperture,
        focus_disparity,
        min_disparity: 0.0,
        max_disparity,
        max_kernel: 0,
        mask,
        ..Params::default()
    };
    vec![
        Case {
            name: "hard-focus-far",
            width: 20,
            height: 12,
            params: params(0.5, 3.0, 16.0, Mask::Hard),
        },
        Case {
            name: "smooth-focus-far",
            width: 20,
            height: 12,
            params: params(0.5, 3.0, 16.0, Mask::Smooth { alpha: 2.0 }),
        },
        Case {
            name: "hard-focus-near",
            width: 17,
            height: 11,
            params: params(1.0, 14.0, 15.0, Mask::Hard),
        },
        Case {
            name: "smooth-fractional-planes",
            width: 16,
            height: 13,
            params: params(0.6, 7.5, 12.5, Mask::Smooth { alpha: 0.7 }),
        },
    ]
}

fn vectors() -> String {
    let mut text = String::new();
    for (seed, case) in cases().into_iter().enumerate() {
        let (w, h, p) = (case.width, case.height, &case.params);
        let image = picture(w, h, seed as u32);
        let disparity = disparity(w, h, 14.5);
        let expected = reference::refocus_values(&image, None, &disparity, w, h, p);
        let rgb: Vec<u8> = image
            .chunks_exact(4)
            .flat_map(|px| px[..3].to_vec())
            .collect();
        // each scene blurs: the vectors catch a module that returns its input
        let moved = expected
            .iter()
            .zip(&rgb)
            .map(|(e, &i)| (e - f64::from(i) / 255.0).abs())
            .fold(0.0, f64::max);
        assert!(
            moved > 0.1,
            "{}: the oracle barely blurs ({moved})",
            case.name
        );
        let (mask, alpha) = match p.mask {
            Mask::Hard => ("hard", 0.0),
            Mask::Smooth { alpha } => ("smooth", alpha),
        };
        let join = |values: Vec<String>| values.join(" ");
        writeln!(
            text,
            "case {} width {w} height {h} aperture {:?} focus {:?} dmin {:?} dmax {:?} mask {mask} alpha {alpha:?}",
            case.name, p.aperture, p.focus_disparity, p.min_disparity, p.max_disparity
        )
        .unwrap();
        writeln!(
            text,
            "image {}",
            join(rgb.iter().map(u8::to_string).collect())
        )
        .unwrap();
        let d = disparity.iter().map(|v| format!("{v:?}"));
        writeln!(text, "disparity {}", join(d.collect())).unwrap();
        let e = expected.iter().map(|v| format!("{v:.17e}"));
        writeln!(text, "expected {}", join(e.collect())).unwrap();
    }
    text
}

#[test]
fn shared_vectors_are_the_oracles() {
    let text = vectors();
    if std::env::var_os("STEREFO_WRITE_DOF_VECTORS").is_some() {
        std::fs::create_dir_all(Path::new(FILE).parent().unwrap()).expect("folder");
        std::fs::write(FILE, &text).expect("write the vectors");
    }
    let stored = std::fs::read_to_string(FILE)
        .unwrap_or_else(|e| panic!("{FILE}: {e}; write it with STEREFO_WRITE_DOF_VECTORS=1"));
    assert!(
        stored == text,
        "{FILE} is not what the oracle gives today: if the change is intended, rewrite it with \
         STEREFO_WRITE_DOF_VECTORS=1 cargo test --test dof_vectors"
    );
}
