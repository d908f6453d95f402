//! Lens-like bokeh, measured: plain Algorithm 1 against the renderer's options, on
//! procedural scenes whose layers are all known (a night scene with lights, and a day scene
//! with a near subject out of focus).
//!
//! The scene (640x360): a far layer (disparity 6 px) of dim buildings and sky with lit
//! windows and 40 point lights of 3 to 25 times the brightness of white (HDR: the camera
//! clips them to white), and a near subject (disparity 40 px) in focus. The camera's
//! frame is the layers composited sharp, clipped and sRGB-encoded to 8 bits, with the exact
//! disparity of the front-most layer. The reference depth of field is made from the layers
//! themselves, in linear light and from the unclipped radiance: each layer (premultiplied
//! by its coverage) blurred with its own disc `K(a |d - df|)` (the renderer's disc
//! convention, normalised by the weights inside the frame), composited back to front, then
//! clipped and encoded.
//!
//! The day scene, focus on its far layer, measures the foreground's defocus: PSNR within
//! 16 px of the near subject's silhouette, where the reference shows the far layer behind
//! the subject's soft edge and Algorithm 1 cannot; the foreground fill (`dof::fill`) takes
//! that layer from the right camera's frame (rendered from the same layers) or, as `refocus`
//! does, from the background around the subject.
//!
//! Reported per option: PSNR against the reference over the frame, and the brightness of
//! the out-of-focus point lights: the mean linear luminance over each light's disc, as a
//! ratio to the reference's (1.00 = as bright as the lens makes it). The reference's lens is
//! round, so the rows with blades are a different look, not an error, where they differ.
//!
//! ```text
//! cargo run --release --example bokeh [-- --pictures]
//! ```
//! `--pictures` also writes `docs/bokeh_night.png` (reference, plain, linear, linear with
//! highlight-gain=4), `docs/bokeh_blades.png` (its lights through irises of 0, 5, 6 and 8
//! blades), `docs/bokeh_foreground.png` (the day scene's subject edge: reference, plain,
//! foreground-fill, foreground-fill with linear-light)
//! and `docs/bokeh_motorcycle.png` (the motorcycle, focus on the background: plain, linear
//! with highlights, and the same with the foreground fill from the right view).

mod common;
#[path = "../tests/common/png_io.rs"]
mod png_io;

use anyhow::Result;
use gststerefo::dof::gpu::Renderer;
use gststerefo::dof::{Highlights, Light, Params, Shape, Transfer};
use gststerefo::gpu::GpuContext;
use png_io::Rgba;

const WIDTH: usize = 640;
const HEIGHT: usize = 360;
const APERTURE: f32 = 0.25;
const FOCUS: f32 = 40.0;
const FAR: f32 = 6.0;

/// A fronto-parallel layer: linear radiance (may exceed 1) and coverage per pixel.
struct Layer {
    disparity: f32,
    colour: Vec<[f64; 3]>,
    alpha: Vec<f64>,
}

/// Centre and radiance of a point light of the far layer.
struct PointLight {
    x: f64,
    y: f64,
}

/// Deterministic hash noise in [0, 1).
fn hash(i: u64) -> f64 {
    let mut h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 31;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 29;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The night scene's two layers and the far layer's point lights.
fn night_scene() -> (Vec<Layer>, Vec<PointLight>) {
    let pixels = WIDTH * HEIGHT;
    let mut far = Layer {
        disparity: FAR,
        colour: vec![[0.0; 3]; pixels],
        alpha: vec![1.0; pixels],
    };
    // Sky: a dim blue gradient; buildings: darker blocks with lit windows.
    let buildings: Vec<(usize, usize, usize)> = (0..9)
        .map(|k| {
            let x0 = k * 75 + (hash(k as u64) * 20.0) as usize;
            let top = 120 + (hash(100 + k as u64) * 120.0) as usize;
            (
                x0,
                (x0 + 55 + (hash(200 + k as u64) * 20.0) as usize).min(WIDTH),
                top,
            )
        })
        .collect();
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let p = y * WIDTH + x;
            let t = y as f64 / HEIGHT as f64;
            far.colour[p] = [0.002 + 0.004 * t, 0.003 + 0.005 * t, 0.012 + 0.01 * t];
            for &(x0, x1, top) in &buildings {
                if (x0..x1).contains(&x) && y >= top {
                    let grain = 0.004 * hash(p as u64 + 7);
                    far.colour[p] = [0.010 + grain, 0.009 + grain, 0.008 + grain];
                    let (wx, wy) = ((x - x0) % 9, (y - top) % 12);
                    let lit =
                        hash((x - x0) as u64 / 9 * 131 + (y - top) as u64 / 12 + x0 as u64) > 0.55;
                    if lit && (2..6).contains(&wx) && (3..8).contains(&wy) {
                        far.colour[p] = [0.55, 0.40, 0.18];
                    }
                }
            }
        }
    }
    // Point lights: discs of radius 1.5 px, 3 to 25 times white, in street-light colours.
    let tints = [
        [1.0, 0.75, 0.45],
        [1.0, 0.5, 0.2],
        [1.0, 0.2, 0.15],
        [0.4, 1.0, 0.5],
        [0.6, 0.7, 1.0],
    ];
    let mut lights = Vec::new();
    for k in 0..40u64 {
        let x = 30.0 + hash(1000 + k) * (WIDTH as f64 - 60.0);
        let y = 30.0 + hash(2000 + k) * (HEIGHT as f64 - 60.0);
        // Lights behind the subject are hidden; keep those in the open.
        if subject(x as usize, y as usize) > 0.0 || near_subject(x, y, 30.0) {
            continue;
        }
        let power = 3.0 + 22.0 * hash(3000 + k);
        let tint = tints[(k % 5) as usize];
        for dy in -2i64..=2 {
            for dx in -2i64..=2 {
                let (px, py) = (x as i64 + dx, y as i64 + dy);
                let d2 = (px as f64 + 0.5 - x).powi(2) + (py as f64 + 0.5 - y).powi(2);
                if d2 <= 1.5 * 1.5 {
                    far.colour[py as usize * WIDTH + px as usize] = tint.map(|c| c * power);
                }
            }
        }
        lights.push(PointLight { x, y });
    }
    let near = subject_layer(FOCUS, |p, x, y| {
        let stripe = if (x / 6 + y / 6) % 2 == 0 { 0.10 } else { 0.04 };
        let grain = 0.05 * hash(p as u64 + 99);
        [stripe + grain, 0.6 * stripe + grain, 0.4 * stripe + grain]
    });
    (vec![far, near], lights)
}

/// A day scene for the foreground's defocus: a bright far layer of bricks (disparity 6 px,
/// complete behind the subject too) and the same near subject in dark blue stripes.
fn day_scene() -> Vec<Layer> {
    let pixels = WIDTH * HEIGHT;
    let mut far = Layer {
        disparity: FAR,
        colour: vec![[0.0; 3]; pixels],
        alpha: vec![1.0; pixels],
    };
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let p = y * WIDTH + x;
            let (row, shift) = (y / 10, if (y / 10) % 2 == 0 { 0 } else { 12 });
            let brick = (x + shift) / 24;
            let mortar = y % 10 == 0 || (x + shift) % 24 == 0;
            let tone = 0.25 + 0.35 * hash((row * 97 + brick) as u64);
            far.colour[p] = if mortar {
                [0.55, 0.55, 0.5]
            } else {
                [tone, 0.45 * tone, 0.3 * tone]
            };
        }
    }
    let near = subject_layer(40.0, |_, x, y| {
        let stripe = if (x / 6 + y / 6) % 2 == 0 { 0.08 } else { 0.02 };
        [0.3 * stripe, 0.5 * stripe, stripe + 0.03]
    });
    vec![far, near]
}

/// Pixels within `reach` of the subject's silhouette, on either side.
fn silhouette_band(reach: i64) -> Vec<bool> {
    let mut band = vec![false; WIDTH * HEIGHT];
    for y in 0..HEIGHT as i64 {
        for x in 0..WIDTH as i64 {
            let inside = subject(x as usize, y as usize) > 0.0;
            'search: for dy in -reach..=reach {
                for dx in -reach..=reach {
                    let (u, v) = (x + dx, y + dy);
                    if dx * dx + dy * dy > reach * reach
                        || !(0..WIDTH as i64).contains(&u)
                        || !(0..HEIGHT as i64).contains(&v)
                    {
                        continue;
                    }
                    if (subject(u as usize, v as usize) > 0.0) != inside {
                        band[y as usize * WIDTH + x as usize] = true;
                        break 'search;
                    }
                }
            }
        }
    }
    band
}

fn psnr_where(a: &[u8], b: &[u8], mask: &[bool]) -> f64 {
    let (mut sum, mut n) = (0.0, 0.0);
    for ((p, q), &m) in a.chunks(4).zip(b.chunks(4)).zip(mask) {
        if m {
            for c in 0..3 {
                sum += (f64::from(p[c]) - f64::from(q[c])).powi(2);
                n += 1.0;
            }
        }
    }
    10.0 * (255.0f64.powi(2) / (sum / n)).log10()
}

/// The foreground's defocus, focus on the background: PSNR against the layered reference
/// within 16 px of the subject's silhouette (where Algorithm 1 shows the subject's own
/// colour where the lens would show the background behind it) and over the frame.
fn foreground(renderer: &mut Renderer, pictures: bool) -> Result<()> {
    let layers = day_scene();
    let (image, disparity) = camera(&layers);
    let truth = to_rgba(&reference(&layers, FAR));
    let band = silhouette_band(16);
    println!();
    println!(
        "Foreground defocus {WIDTH}x{HEIGHT}, a = {APERTURE}, focus on the background ({FAR} px), subject at 40 px (blur radius {:.1} px)",
        APERTURE * (40.0 - FAR)
    );
    println!();
    println!("| option | PSNR within 16 px of the silhouette dB | PSNR over the frame dB |");
    println!("|---|---|---|");
    let linear = Light::Linear {
        transfer: Transfer::Srgb,
        highlights: Highlights::NONE,
    };
    let crop = |data: &[u8]| crop(data, (130, 80, 200, 180));
    let right = right_camera(&layers);
    let mut crops = vec![crop(&truth)];
    let mut output = vec![0u8; image.len()];
    for (name, light, max_kernel, fill, right) in [
        ("plain (Algorithm 1)", Light::Encoded, 11, false, None),
        (
            "plain, max-kernel=0 (exact)",
            Light::Encoded,
            0,
            false,
            None,
        ),
        ("linear-light", linear, 11, false, None),
        (
            "foreground-fill (sterefo: right view)",
            Light::Encoded,
            11,
            true,
            Some(&right),
        ),
        (
            "foreground-fill, no right view (refocus)",
            Light::Encoded,
            11,
            true,
            None,
        ),
        (
            "foreground-fill linear-light (sterefo)",
            linear,
            11,
            true,
            Some(&right),
        ),
    ] {
        let params = Params {
            fill_hidden: fill,
            ..params(light, FAR, 48.0, max_kernel)
        };
        renderer.render_views(
            &image,
            right.map(Vec::as_slice),
            &disparity,
            WIDTH as u32,
            HEIGHT as u32,
            &params,
            &mut output,
        )?;
        println!(
            "| {name} | {:.2} | {:.2} |",
            psnr_where(&output, &truth, &band),
            psnr(&output, &truth)
        );
        if max_kernel == 11 && (light == Light::Encoded && !fill || right.is_some()) {
            crops.push(crop(&output));
        }
    }
    if pictures {
        let sheet = common::contact_sheet(&crops, 4, 4);
        common::write_figure(std::path::Path::new("docs/bokeh_foreground.png"), &sheet)?;
    }
    Ok(())
}

/// The near subject as a layer at `disparity`, coloured by `colour(p, x, y)`.
fn subject_layer(disparity: f32, colour: impl Fn(usize, usize, usize) -> [f64; 3]) -> Layer {
    let mut layer = Layer {
        disparity,
        colour: vec![[0.0; 3]; WIDTH * HEIGHT],
        alpha: vec![0.0; WIDTH * HEIGHT],
    };
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let p = y * WIDTH + x;
            layer.alpha[p] = subject(x, y);
            layer.colour[p] = colour(p, x, y);
        }
    }
    layer
}

/// Coverage of the near subject: an upright ellipse left of centre.
fn subject(x: usize, y: usize) -> f64 {
    let (cx, cy, rx, ry) = (230.0, 250.0, 70.0, 140.0);
    let u = (x as f64 + 0.5 - cx) / rx;
    let v = (y as f64 + 0.5 - cy) / ry;
    if u * u + v * v <= 1.0 { 1.0 } else { 0.0 }
}

fn near_subject(x: f64, y: f64, margin: f64) -> bool {
    let (cx, cy, rx, ry) = (230.0, 250.0, 70.0 + margin, 140.0 + margin);
    ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0
}

/// Half-widths of the disc's rows (the renderer's convention: `x^2 + y^2 <= r^2`, one tap
/// below r = 0.5).
fn disc(radius: f64) -> Vec<i64> {
    if radius < 0.5 {
        return vec![0];
    }
    let reach = radius.floor() as i64;
    (0..=reach)
        .map(|dy| {
            let mut dx = 0;
            while ((dx + 1) * (dx + 1) + dy * dy) as f64 <= radius * radius {
                dx += 1;
            }
            dx
        })
        .collect()
}

/// `values` blurred with the disc of `radius`, normalised by the disc's weights inside the
/// frame.
fn blur(values: &[[f64; 4]], radius: f64) -> Vec<[f64; 4]> {
    let rows = disc(radius);
    let reach = rows.len() as i64 - 1;
    // Row prefix sums (with a count of pixels), so each disc row costs one difference.
    let mut prefix = vec![[0.0f64; 5]; (WIDTH + 1) * HEIGHT];
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let (v, before) = (values[y * WIDTH + x], prefix[y * (WIDTH + 1) + x]);
            prefix[y * (WIDTH + 1) + x + 1] = [
                before[0] + v[0],
                before[1] + v[1],
                before[2] + v[2],
                before[3] + v[3],
                before[4] + 1.0,
            ];
        }
    }
    let mut out = vec![[0.0; 4]; WIDTH * HEIGHT];
    for y in 0..HEIGHT as i64 {
        for x in 0..WIDTH as i64 {
            let mut sum = [0.0f64; 5];
            for dy in -reach..=reach {
                let row = y + dy;
                if !(0..HEIGHT as i64).contains(&row) {
                    continue;
                }
                let half = rows[dy.unsigned_abs() as usize];
                let (l, r) = ((x - half).max(0), (x + half).min(WIDTH as i64 - 1));
                let base = row as usize * (WIDTH + 1);
                let (a, b) = (prefix[base + l as usize], prefix[base + r as usize + 1]);
                for c in 0..5 {
                    sum[c] += b[c] - a[c];
                }
            }
            out[y as usize * WIDTH + x as usize] = [0, 1, 2, 3].map(|c| sum[c] / sum[4]);
        }
    }
    out
}

/// Linear light to an 8-bit sRGB value, clipped.
fn encode(l: f64) -> u8 {
    (Transfer::Srgb.encode(l.clamp(0.0, 1.0)) * 255.0).round() as u8
}

fn decode(v: u8) -> f64 {
    Transfer::Srgb.decode(f64::from(v) / 255.0)
}

fn to_rgba(linear: &[[f64; 3]]) -> Vec<u8> {
    linear
        .iter()
        .flat_map(|c| [encode(c[0]), encode(c[1]), encode(c[2]), 255])
        .collect()
}

/// The camera's frame (layers composited sharp, clipped, encoded) and its disparity.
fn camera(layers: &[Layer]) -> (Vec<u8>, Vec<f32>) {
    let mut colour = vec![[0.0f64; 3]; WIDTH * HEIGHT];
    let mut disparity = vec![0.0f32; WIDTH * HEIGHT];
    for layer in layers {
        for p in 0..WIDTH * HEIGHT {
            let a = layer.alpha[p];
            for (out, c) in colour[p].iter_mut().zip(layer.colour[p]) {
                *out = *out * (1.0 - a) + c * a;
            }
            if a >= 0.5 {
                disparity[p] = layer.disparity;
            }
        }
    }
    (to_rgba(&colour), disparity)
}

/// The right camera's frame: pixel x shows each layer's point at x + d (the layers
/// continue their last column beyond the frame's right edge).
fn right_camera(layers: &[Layer]) -> Vec<u8> {
    let mut colour = vec![[0.0f64; 3]; WIDTH * HEIGHT];
    for layer in layers {
        let shift = layer.disparity.round() as usize;
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                let source = y * WIDTH + (x + shift).min(WIDTH - 1);
                let a = layer.alpha[source];
                let out = &mut colour[y * WIDTH + x];
                for (out, c) in out.iter_mut().zip(layer.colour[source]) {
                    *out = *out * (1.0 - a) + c * a;
                }
            }
        }
    }
    to_rgba(&colour)
}

/// The reference depth of field, linear light: every layer blurred with its own disc and
/// composited back to front over the full layers behind it.
fn reference(layers: &[Layer], focus: f32) -> Vec<[f64; 3]> {
    let mut acc = vec![[0.0f64; 3]; WIDTH * HEIGHT];
    for layer in layers {
        let premultiplied: Vec<[f64; 4]> = (0..WIDTH * HEIGHT)
            .map(|p| {
                let (c, a) = (layer.colour[p], layer.alpha[p]);
                [c[0] * a, c[1] * a, c[2] * a, a]
            })
            .collect();
        let radius = f64::from(APERTURE) * f64::from((layer.disparity - focus).abs());
        let blurred = blur(&premultiplied, radius);
        for (acc, b) in acc.iter_mut().zip(&blurred) {
            for c in 0..3 {
                acc[c] = acc[c] * (1.0 - b[3]) + b[c];
            }
        }
    }
    acc
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    psnr_where(a, b, &vec![true; a.len() / 4])
}

/// The `(x0, y0, width, height)` part of a frame of the scenes' size.
fn crop(data: &[u8], (x0, y0, w, h): (usize, usize, usize, usize)) -> Rgba {
    let mut out = Vec::with_capacity(w * h * 4);
    for y in y0..y0 + h {
        out.extend_from_slice(&data[(y * WIDTH + x0) * 4..(y * WIDTH + x0 + w) * 4]);
    }
    Rgba {
        width: w,
        height: h,
        data: out,
    }
}

/// Mean linear luminance within `radius` of each light.
fn light_brightness(image: &[u8], lights: &[PointLight], radius: f64) -> Vec<f64> {
    lights
        .iter()
        .map(|light| {
            let (mut sum, mut n) = (0.0, 0.0);
            let reach = radius.ceil() as i64;
            for dy in -reach..=reach {
                for dx in -reach..=reach {
                    let (x, y) = (light.x as i64 + dx, light.y as i64 + dy);
                    let d2 =
                        (x as f64 + 0.5 - light.x).powi(2) + (y as f64 + 0.5 - light.y).powi(2);
                    if d2 > radius * radius {
                        continue;
                    }
                    let p = &image[(y as usize * WIDTH + x as usize) * 4..][..3];
                    let l = [0, 1, 2].map(|c| decode(p[c]));
                    sum += 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
                    n += 1.0;
                }
            }
            sum / n
        })
        .collect()
}

/// A candidate compared: its name, what it blurs, its `max-kernel` and whether the picture
/// shows it.
struct Candidate {
    name: &'static str,
    light: Light,
    max_kernel: u32,
    shape: Shape,
    shown: bool,
}

fn candidates() -> Vec<Candidate> {
    let linear = |gain| Light::Linear {
        transfer: Transfer::Srgb,
        highlights: Highlights {
            threshold: 0.8,
            gain,
        },
    };
    let option = |name, light, max_kernel, shown| Candidate {
        name,
        light,
        max_kernel,
        shape: Shape::Disc,
        shown,
    };
    let hexagon = Shape::Blades {
        blades: 6,
        rotation: 0.0,
    };
    vec![
        option("plain (Algorithm 1)", Light::Encoded, 11, true),
        option("plain, max-kernel=0 (exact)", Light::Encoded, 0, false),
        option("linear-light", linear(0.0), 11, true),
        option("linear-light highlight-gain=4", linear(4.0), 11, true),
        option(
            "linear-light highlight-gain=4 max-kernel=0",
            linear(4.0),
            0,
            false,
        ),
        option("linear-light highlight-gain=16", linear(16.0), 11, false),
        Candidate {
            shape: hexagon,
            ..option("plain blades=6", Light::Encoded, 11, false)
        },
        Candidate {
            shape: hexagon,
            ..option(
                "linear-light highlight-gain=4 blades=6",
                linear(4.0),
                11,
                false,
            )
        },
    ]
}

fn params(light: Light, focus: f32, max_disparity: f32, max_kernel: u32) -> Params {
    Params {
        aperture: APERTURE,
        focus_disparity: focus,
        max_disparity,
        max_kernel,
        light,
        ..Default::default()
    }
}

/// Crops of the night scene's lights with linear light and highlight-gain=4, one per iris
/// (a = 0.6, `max-kernel=0`).
fn blades_sheet(renderer: &mut Renderer, image: &[u8], disparity: &[f32]) -> Result<Rgba> {
    let (x0, y0, w, h) = (330, 10, 300, 200);
    let mut tiles = Vec::new();
    for shape in [
        Shape::Disc,
        Shape::Blades {
            blades: 5,
            rotation: 0.0,
        },
        Shape::Blades {
            blades: 6,
            rotation: 0.0,
        },
        Shape::Blades {
            blades: 8,
            rotation: 22.5,
        },
    ] {
        let linear = Light::Linear {
            transfer: Transfer::Srgb,
            highlights: Highlights {
                threshold: 0.8,
                gain: 4.0,
            },
        };
        // A wider aperture, and exact: the shapes at their sharpest.
        let params = Params {
            shape,
            aperture: 0.6,
            ..params(linear, FOCUS, 48.0, 0)
        };
        let mut output = vec![0u8; image.len()];
        renderer.render(
            image,
            disparity,
            WIDTH as u32,
            HEIGHT as u32,
            &params,
            &mut output,
        )?;
        tiles.push(crop(&output, (x0, y0, w, h)));
    }
    Ok(common::contact_sheet(&tiles, 2, 4))
}

fn main() -> Result<()> {
    let pictures = std::env::args().any(|a| a == "--pictures");
    let context = GpuContext::shared()?;
    let mut renderer = Renderer::new(context.clone())?;
    println!("GPU: {}", context.describe());

    let (layers, lights) = night_scene();
    let (image, disparity) = camera(&layers);
    let truth = to_rgba(&reference(&layers, FOCUS));
    // The lights' discs: radius a |d - df| plus the light's own 1.5 px.
    let disc_radius = f64::from(APERTURE * (FOCUS - FAR)) + 1.5;
    let truth_lights = light_brightness(&truth, &lights, disc_radius - 1.0);
    println!();
    println!(
        "Night scene {WIDTH}x{HEIGHT}, a = {APERTURE}, focus on the subject ({FOCUS} px), {} point lights at {FAR} px (discs of {disc_radius:.1} px)",
        lights.len()
    );
    println!();
    println!("| option | PSNR vs reference dB | light brightness vs reference (mean, min..max) |");
    println!("|---|---|---|");
    let mut tiles = vec![Rgba {
        width: WIDTH,
        height: HEIGHT,
        data: truth.clone(),
    }];
    let mut output = vec![0u8; image.len()];
    for candidate in candidates() {
        let params = Params {
            shape: candidate.shape,
            ..params(candidate.light, FOCUS, 48.0, candidate.max_kernel)
        };
        renderer.render(
            &image,
            &disparity,
            WIDTH as u32,
            HEIGHT as u32,
            &params,
            &mut output,
        )?;
        let ratios: Vec<f64> = light_brightness(&output, &lights, disc_radius - 1.0)
            .iter()
            .zip(&truth_lights)
            .map(|(a, b)| a / b)
            .collect();
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        let (min, max) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        println!(
            "| {} | {:.2} | {mean:.2} ({min:.2}..{max:.2}) |",
            candidate.name,
            psnr(&output, &truth)
        );
        if candidate.shown {
            tiles.push(Rgba {
                width: WIDTH,
                height: HEIGHT,
                data: output.clone(),
            });
        }
    }
    foreground(&mut renderer, pictures)?;
    if pictures {
        let sheet = common::contact_sheet(&tiles, 2, 4);
        common::write_figure(std::path::Path::new("docs/bokeh_night.png"), &sheet)?;
        let sheet = blades_sheet(&mut renderer, &image, &disparity)?;
        common::write_figure(std::path::Path::new("docs/bokeh_blades.png"), &sheet)?;
        motorcycle(&mut renderer)?;
        println!(
            "\nwrote docs/bokeh_night.png, docs/bokeh_blades.png, docs/bokeh_foreground.png and docs/bokeh_motorcycle.png"
        );
    }
    Ok(())
}

/// The motorcycle at half size, focus on the background: plain against linear light with
/// highlights.
fn motorcycle(renderer: &mut Renderer) -> Result<()> {
    let image = png_io::read_rgba("data/motorcycle/left.png")?;
    let (w, h, disparity) = png_io::read_disparity("data/motorcycle/disparity_filled.png")?;
    anyhow::ensure!(
        (w, h) == (image.width, image.height),
        "motorcycle sizes differ"
    );
    let right = png_io::read_rgba("data/motorcycle/right.png")?;
    let mut tiles = Vec::new();
    let boosted = Light::Linear {
        transfer: Transfer::Srgb,
        highlights: Highlights {
            threshold: 0.8,
            gain: 4.0,
        },
    };
    for (light, fill_hidden) in [(Light::Encoded, false), (boosted, false), (boosted, true)] {
        let params = Params {
            aperture: 0.3,
            fill_hidden,
            ..params(light, 15.0, 80.0, 11)
        };
        let mut output = vec![0u8; image.data.len()];
        renderer.render_views(
            &image.data,
            Some(&right.data),
            &disparity,
            w as u32,
            h as u32,
            &params,
            &mut output,
        )?;
        tiles.push(Rgba {
            width: w,
            height: h,
            data: output,
        });
    }
    let sheet = common::contact_sheet(&tiles, 3, 4);
    common::write_figure(std::path::Path::new("docs/bokeh_motorcycle.png"), &sheet)
}
