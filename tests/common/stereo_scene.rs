//! A procedural rectified stereo pair with exact disparity, for tests and examples: a
//! textured background plane and a textured box in front, each textured in its own world
//! coordinates so the right view is exact, occlusions and disocclusions included.
#![allow(dead_code)]

/// A box in front of the background, in left-view pixels.
#[derive(Debug, Clone, Copy)]
pub struct Layer {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// Disparity, pixels.
    pub disparity: f32,
}

/// Smooth value noise: a deterministic texture with structure at several scales.
fn texture(x: f32, y: f32, seed: u32) -> f32 {
    fn hash(x: i64, y: i64, seed: u32) -> f32 {
        let mut h = (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ u64::from(seed);
        h ^= h >> 29;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 32;
        (h & 0xFFFF) as f32 / 65535.0
    }
    let mut value = 0.0;
    let mut weight = 0.0;
    for (scale, w) in [(2.0f32, 0.5f32), (5.0, 0.3), (13.0, 0.2)] {
        let (fx, fy) = (x / scale, y / scale);
        let (ix, iy) = (fx.floor() as i64, fy.floor() as i64);
        let (tx, ty) = (fx - fx.floor(), fy - fy.floor());
        let a = hash(ix, iy, seed) * (1.0 - tx) + hash(ix + 1, iy, seed) * tx;
        let b = hash(ix, iy + 1, seed) * (1.0 - tx) + hash(ix + 1, iy + 1, seed) * tx;
        value += w * (a * (1.0 - ty) + b * ty);
        weight += w;
    }
    value / weight
}

fn colour(x: f32, y: f32, seed: u32) -> [u8; 4] {
    let v = |s| (texture(x, y, seed * 3 + s) * 255.0) as u8;
    [v(0), v(1), v(2), 255]
}

/// Renders (left RGBA, right RGBA, left disparity) of `width x height`: the background at
/// `background` px of disparity and `layers` in front (later layers nearer).
pub fn render(width: usize, height: usize, background: f32, layers: &[Layer]) -> (Vec<u8>, Vec<u8>, Vec<f32>) {
    let mut left = Vec::with_capacity(width * height * 4);
    let mut right = Vec::with_capacity(width * height * 4);
    let mut disparity = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            // Left view: the nearest layer covering (x, y); textures live in left coordinates.
            let hit = layers.iter().enumerate().rev().find(|(_, l)| inside(l, x as i64, y as i64));
            match hit {
                Some((i, layer)) => {
                    left.extend(colour(x as f32, y as f32, 10 + i as u32));
                    disparity.push(layer.disparity);
                }
                None => {
                    left.extend(colour(x as f32, y as f32, 1));
                    disparity.push(background);
                }
            }
            // Right view: the point at right x shows left x + d of the nearest layer there.
            let hit = layers.iter().enumerate().rev().find(|(_, l)| {
                let lx = x as f32 + l.disparity;
                inside(l, lx.round() as i64, y as i64)
            });
            match hit {
                Some((i, layer)) => right.extend(colour(x as f32 + layer.disparity, y as f32, 10 + i as u32)),
                None => right.extend(colour(x as f32 + background, y as f32, 1)),
            }
        }
    }
    (left, right, disparity)
}

fn inside(layer: &Layer, x: i64, y: i64) -> bool {
    x >= layer.x && x < layer.x + layer.width && y >= layer.y && y < layer.y + layer.height
}
