//! A procedural rectified stereo pair with exact disparity, for tests and examples: a
//! textured background plane and a textured box in front, each textured in its own world
//! coordinates so the right view is exact, occlusions and disocclusions included.
#![allow(dead_code)]

/// The pipeline tests' scene: a 160x96 pair with this box (20 px) on a background of 8 px.
pub const TEST_BOX: Layer = Layer {
    x: 56,
    y: 28,
    width: 56,
    height: 40,
    disparity: 20.0,
};

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
        let mut h = (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ u64::from(seed);
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
pub fn render(
    width: usize,
    height: usize,
    background: f32,
    layers: &[Layer],
) -> (Vec<u8>, Vec<u8>, Vec<f32>) {
    let mut left = Vec::with_capacity(width * height * 4);
    let mut right = Vec::with_capacity(width * height * 4);
    let mut disparity = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            // Left view: the nearest layer covering (x, y); textures live in left coordinates.
            let hit = layers
                .iter()
                .enumerate()
                .rev()
                .find(|(_, l)| inside(l, x as i64, y as i64));
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
                Some((i, layer)) => {
                    right.extend(colour(x as f32 + layer.disparity, y as f32, 10 + i as u32))
                }
                None => right.extend(colour(x as f32 + background, y as f32, 1)),
            }
        }
    }
    (left, right, disparity)
}

fn inside(layer: &Layer, x: i64, y: i64) -> bool {
    x >= layer.x && x < layer.x + layer.width && y >= layer.y && y < layer.y + layer.height
}

/// A textured object whose texture moves and scales with it (a tracker follows texture, so
/// it must not stay put in screen coordinates), tinted so that it stands out.
#[derive(Debug, Clone, Copy)]
pub struct Object {
    /// Left edge and top in the left view, pixels (fractions allowed).
    pub x: f32,
    pub y: f32,
    /// Size in the left view, pixels.
    pub width: f32,
    pub height: f32,
    /// Disparity, pixels (larger = nearer; the nearest object covering a pixel wins).
    pub disparity: f32,
    /// Texture seed.
    pub seed: u32,
    /// Texture units per object pixel: `reference / width` keeps the pattern glued to the
    /// object as it grows.
    pub texture_scale: f32,
    /// Colour multipliers 0..1 (red, green, blue).
    pub tint: [f32; 3],
}

/// The background of [`render_objects`]: a plane at one disparity, textured in world
/// coordinates, tinted.
#[derive(Debug, Clone, Copy)]
pub struct Background {
    /// Disparity, pixels.
    pub disparity: f32,
    pub seed: u32,
    pub tint: [f32; 3],
}

/// A deterministic value 0..1 per integer cell.
fn cell_hash(x: i64, y: i64, seed: u32) -> f32 {
    let mut h = (x as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93)
        ^ (y as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ u64::from(seed);
    h ^= h >> 31;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 29;
    (h & 0xFFFF) as f32 / 65535.0
}

/// Coverage 0..1 of small round lights scattered over the plane at (u, v): about a third of
/// the 40-pixel cells hold one, 3.5 px in radius, anti-aliased. Blurred, they become the
/// discs (bokeh) of the paper's Fig. 2.
fn lights(u: f32, v: f32, seed: u32) -> f32 {
    const CELL: f32 = 40.0;
    let (cx, cy) = ((u / CELL).floor() as i64, (v / CELL).floor() as i64);
    if cell_hash(cx, cy, seed) > 0.35 {
        return 0.0;
    }
    let ox = cx as f32 * CELL + 6.0 + 28.0 * cell_hash(cx, cy, seed + 1);
    let oy = cy as f32 * CELL + 6.0 + 28.0 * cell_hash(cx, cy, seed + 2);
    let distance = ((u - ox).powi(2) + (v - oy).powi(2)).sqrt();
    (3.5 + 0.5 - distance).clamp(0.0, 1.0)
}

/// The background's colour at plane point (u, v): fine texture on coarse light and shade,
/// with lights.
fn background_colour(u: f32, v: f32, background: &Background) -> [u8; 4] {
    let base = tinted(u, v, background.seed, background.tint);
    let shade = 0.4 + 0.9 * texture(u / 9.0, v / 9.0, background.seed + 7);
    let light = lights(u, v, background.seed);
    let mix = |c: u8, l: f32| {
        (f32::from(c) * shade * (1.0 - light) + l * light)
            .round()
            .clamp(0.0, 255.0) as u8
    };
    [
        mix(base[0], 255.0),
        mix(base[1], 236.0),
        mix(base[2], 190.0),
        255,
    ]
}

fn tinted(u: f32, v: f32, seed: u32, tint: [f32; 3]) -> [u8; 4] {
    let c =
        |s: u32, t: f32| ((0.25 + 0.75 * texture(u, v, seed * 3 + s)) * t * 255.0).round() as u8;
    [c(0, tint[0]), c(1, tint[1]), c(2, tint[2]), 255]
}

/// Renders (left RGBA, right RGBA, left disparity) of `width x height`: `objects` in front of
/// `background`, with exact (sub-pixel) disparity, occlusions and disocclusions: a right-view
/// pixel at x shows the nearest surface whose left-view point x + d lies inside it.
pub fn render_objects(
    width: usize,
    height: usize,
    background: Background,
    objects: &[Object],
) -> (Vec<u8>, Vec<u8>, Vec<f32>) {
    let mut left = Vec::with_capacity(width * height * 4);
    let mut right = Vec::with_capacity(width * height * 4);
    let mut disparity = Vec::with_capacity(width * height);
    // Pixel centres: the sample for pixel (x, y) is at (x + 0.5, y + 0.5).
    let covers = |o: &Object, x: f32, y: f32| {
        x >= o.x && x < o.x + o.width && y >= o.y && y < o.y + o.height
    };
    let nearest = |x_of: &dyn Fn(&Object) -> f32, y: f32| {
        objects
            .iter()
            .filter(|o| covers(o, x_of(o), y))
            .max_by(|a, b| a.disparity.total_cmp(&b.disparity))
    };
    let object_colour = |o: &Object, x: f32, y: f32| {
        tinted(
            (x - o.x) * o.texture_scale,
            (y - o.y) * o.texture_scale,
            100 + o.seed,
            o.tint,
        )
    };
    for y in 0..height {
        let fy = y as f32 + 0.5;
        for x in 0..width {
            let fx = x as f32 + 0.5;
            match nearest(&|_| fx, fy) {
                Some(o) => {
                    left.extend(object_colour(o, fx, fy));
                    disparity.push(o.disparity);
                }
                None => {
                    left.extend(background_colour(fx, fy, &background));
                    disparity.push(background.disparity);
                }
            }
            match nearest(&|o| fx + o.disparity, fy) {
                Some(o) => right.extend(object_colour(o, fx + o.disparity, fy)),
                None => right.extend(background_colour(
                    fx + background.disparity,
                    fy,
                    &background,
                )),
            }
        }
    }
    (left, right, disparity)
}

/// One frame of the tracked-object scene shared by the `tracked_video` example and the
/// tracker test: a far background plane, a static distractor at a middle depth, and an
/// object that crosses the frame from left to right while it comes nearer, its size growing
/// with its disparity like a real object's.
#[derive(Debug, Clone, Copy)]
pub struct MovingScene {
    pub width: usize,
    pub height: usize,
    /// Background disparity, pixels.
    pub background: f32,
    /// Distractor disparity, pixels.
    pub distractor: f32,
    /// Object disparity at the first and at the last frame, pixels.
    pub near_start: f32,
    pub near_end: f32,
    pub frames: usize,
}

impl MovingScene {
    /// Progress 0..1 of frame `index`: the object moves during the first 80% of the clip
    /// and then stays, so a smoothed focus has time to settle.
    fn progress(&self, index: usize) -> f32 {
        let t = index as f32 / (self.frames.max(2) - 1) as f32;
        let s = (t / 0.8).min(1.0);
        // Ease in and out.
        s * s * (3.0 - 2.0 * s)
    }

    /// The moving object at frame `index`.
    pub fn object(&self, index: usize) -> Object {
        let s = self.progress(index);
        let disparity = self.near_start + (self.near_end - self.near_start) * s;
        let (w, h) = (self.width as f32, self.height as f32);
        // Size proportional to disparity (size ~ 1/depth, disparity ~ 1/depth).
        let side = h
            * (0.2
                + 0.5 * (disparity - self.near_start)
                    / (self.near_end - self.near_start).max(1e-3));
        let width = side * 1.1;
        let cx = w * (0.22 + 0.45 * s);
        let cy = h * (0.42 + 0.1 * s);
        Object {
            x: cx - width / 2.0,
            y: cy - side / 2.0,
            width,
            height: side,
            disparity,
            seed: 1,
            // The pattern has its native scale at the start and magnifies as it nears.
            texture_scale: h * 0.22 / width,
            tint: [1.0, 0.62, 0.3],
        }
    }

    /// The static distractor box, low right.
    pub fn distractor(&self) -> Object {
        let (w, h) = (self.width as f32, self.height as f32);
        Object {
            x: w * 0.74,
            y: h * 0.52,
            width: w * 0.18,
            height: h * 0.34,
            disparity: self.distractor,
            seed: 2,
            texture_scale: 1.0,
            tint: [0.45, 1.0, 0.5],
        }
    }

    /// Renders frame `index`: (left RGBA, right RGBA, left disparity).
    pub fn render(&self, index: usize) -> (Vec<u8>, Vec<u8>, Vec<f32>) {
        let background = Background {
            disparity: self.background,
            seed: 3,
            tint: [0.55, 0.75, 1.0],
        };
        render_objects(
            self.width,
            self.height,
            background,
            &[self.distractor(), self.object(index)],
        )
    }
}
