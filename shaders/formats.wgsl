// Format conversion on the GPU (src/formats/gpu.rs), with the conventions of
// src/formats.rs, whose CPU code is the reference the tests hold this to: `decode` reads a
// frame's planes into the renderer's RGBA pixels (exactly as the CPU), `encode` codes the
// refocused RGBA pixels into the planes of the output frame's format (within a level).
//
// Planes lie one after the other in `planes` / `coded`, each row padded to whole words; the
// host copies the rows from and into the frames at their strides.
//
// Decoding (integer, as the CPU): chroma interpolated linearly at the siting in 1/256 steps,
// then R, G, B = (Y table + chroma tables) >> 16, the tables made by the host.
//
// Luma (integer, as the CPU): Y = (offset + wr R + wg G + wb B) >> 16.
// Chroma: the mean of the RGB of the pixels a sample covers at the caps' siting (co-sited:
// the pixel at 1/2 and its neighbours at 1/4; centred: the pixels it covers), edges
// replicated, then Cb = (B' - Y') / (2 (1 - Kb)), Cr = (R' - Y') / (2 (1 - Kr)) on values in
// [0, 1], scaled by 224 (limited range) or 255 (full) around 128, rounded half up.

struct Coding {
    width: u32,
    height: u32,
    chroma_w: u32,
    chroma_h: u32,
    // luma offset, wr, wg, wb in 1/65536 of a level
    luma: vec4<i32>,
    // Kr, Kb, unused, chroma scale (224 or 255)
    coding: vec4<f32>,
    // per plane: first word in `planes`, words per row, rows
    offsets: vec4<u32>,
    words: vec4<u32>,
    rows: vec4<u32>,
};

// What the pipeline writes, fixed when it is made (one pipeline per plane of a format):
// branching on uniforms instead costs lavapipe (the CI's CPU Vulkan) as if every branch ran.
const NV12: u32 = 1u;
// I420, Y42B, Y444: Y, Cb and Cr planes
const PLANAR: u32 = 2u;
const YUY2: u32 = 3u;
const GRAY8: u32 = 4u;
const RGB: u32 = 5u;
override KIND: u32 = NV12;
override PLANE: u32 = 0u;
// pixels per chroma sample, horizontally and vertically; chroma co-sited with the first
// pixel it covers (else centred), horizontally and vertically
override FX: u32 = 2u;
override FY: u32 = 2u;
override H_COSITED: bool = false;
override V_COSITED: bool = false;
// R and B swapped (BGR)
override SWAP: bool = false;

@group(0) @binding(0) var<uniform> c: Coding;
// encode: RGBA8 pixels, one u32 each, tightly packed rows (the renderer's output), into planes
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read_write> planes: array<u32>;
// decode: planes into RGBA8 pixels (the renderer's input), with the Y'CbCr tables: Y, R of
// Cr, G of Cb, G of Cr, B of Cb, 256 entries each
@group(0) @binding(3) var<storage, read> coded: array<u32>;
@group(0) @binding(4) var<storage, read_write> decoded: array<u32>;
@group(0) @binding(5) var<storage, read> tables: array<i32>;

fn rgb(x: i32, y: i32) -> vec3<u32> {
    let xc = u32(clamp(x, 0, i32(c.width) - 1));
    let yc = u32(clamp(y, 0, i32(c.height) - 1));
    let p = pixels[yc * c.width + xc];
    let v = vec3<u32>(p & 255u, (p >> 8u) & 255u, (p >> 16u) & 255u);
    if (SWAP) {
        return v.bgr;
    }
    return v;
}

fn luma(x: u32, y: u32) -> u32 {
    let p = vec3<i32>(rgb(i32(x), i32(y)));
    let v = c.luma.x + c.luma.y * p.r + c.luma.z * p.g + c.luma.w * p.b;
    return u32(clamp(v >> 16u, 0, 255));
}

fn level(v: f32) -> u32 {
    return u32(clamp(floor(v + 0.5), 0.0, 255.0));
}

fn grey(x: u32, y: u32) -> u32 {
    let v = vec3<f32>(rgb(i32(x), i32(y))) / 255.0;
    return level(255.0 * (0.299 * v.r + (1.0 - 0.299 - 0.114) * v.g + 0.114 * v.b));
}

// The vertical filter of the chroma row `cy` at pixel column `x`.
fn column(x: i32, cy: u32) -> vec3<f32> {
    let first = i32(cy * FY);
    if (FY == 1u) {
        return vec3<f32>(rgb(x, first));
    }
    if (V_COSITED) {
        return 0.25 * vec3<f32>(rgb(x, first - 1)) + 0.5 * vec3<f32>(rgb(x, first))
            + 0.25 * vec3<f32>(rgb(x, first + 1));
    }
    return 0.5 * vec3<f32>(rgb(x, first)) + 0.5 * vec3<f32>(rgb(x, first + 1));
}

// (Cb, Cr) of chroma sample (cx, cy).
fn chroma(cx: u32, cy: u32) -> vec2<u32> {
    let first = i32(cx * FX);
    var sum: vec3<f32>;
    if (FX == 1u) {
        sum = column(first, cy);
    } else if (H_COSITED) {
        sum = 0.25 * column(first - 1, cy) + 0.5 * column(first, cy) + 0.25 * column(first + 1, cy);
    } else {
        sum = 0.5 * column(first, cy) + 0.5 * column(first + 1, cy);
    }
    let v = sum / 255.0;
    let kr = c.coding.x;
    let kb = c.coding.y;
    let y = kr * v.r + (1.0 - kr - kb) * v.g + kb * v.b;
    let cb = (v.b - y) / (2.0 * (1.0 - kb));
    let cr = (v.r - y) / (2.0 * (1.0 - kr));
    return vec2<u32>(level(128.0 + c.coding.w * cb), level(128.0 + c.coding.w * cr));
}

fn pack(b: vec4<u32>) -> u32 {
    return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}

// Byte `i` of an RGB or BGR row: channel i % 3 of pixel i / 3.
fn rgb_byte(i: u32, y: u32) -> u32 {
    let p = rgb(i32(i / 3u), i32(y));
    let channel = i % 3u;
    return select(select(p.b, p.g, channel == 1u), p.r, channel == 0u);
}

// One chroma component of a sample: Cb of the plane after luma, Cr of the one after that.
fn component(cx: u32, cy: u32) -> u32 {
    let s = chroma(cx, cy);
    if (PLANE == 1u) {
        return s.x;
    }
    return s.y;
}

// Word `w` of row `y` of the plane.
fn word(w: u32, y: u32) -> u32 {
    let x = 4u * w;
    if (KIND == GRAY8) {
        return pack(vec4<u32>(grey(x, y), grey(x + 1u, y), grey(x + 2u, y), grey(x + 3u, y)));
    }
    if (KIND == RGB) {
        return pack(vec4<u32>(rgb_byte(x, y), rgb_byte(x + 1u, y), rgb_byte(x + 2u, y), rgb_byte(x + 3u, y)));
    }
    if (KIND == YUY2) {
        let s = chroma(w, y);
        return pack(vec4<u32>(luma(2u * w, y), s.x, luma(2u * w + 1u, y), s.y));
    }
    if (PLANE == 0u) {
        return pack(vec4<u32>(luma(x, y), luma(x + 1u, y), luma(x + 2u, y), luma(x + 3u, y)));
    }
    if (KIND == NV12) {
        return pack(vec4<u32>(chroma(2u * w, y), chroma(2u * w + 1u, y)));
    }
    return pack(vec4<u32>(component(x, y), component(x + 1u, y), component(x + 2u, y), component(x + 3u, y)));
}

@compute @workgroup_size(8, 8, 1)
fn encode(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= c.words[PLANE] || id.y >= c.rows[PLANE]) {
        return;
    }
    planes[c.offsets[PLANE] + id.y * c.words[PLANE] + id.x] = word(id.x, id.y);
}

// Byte `i` of plane `plane` of `coded`.
fn coded_byte(plane: u32, i: u32) -> u32 {
    let at = 4u * c.offsets[plane] + i;
    return (coded[at / 4u] >> (8u * (at % 4u))) & 255u;
}

// Row bytes of plane `plane` as the host laid them out.
fn coded_stride(plane: u32) -> u32 {
    return 4u * c.words[plane];
}

// Chroma component `k` (0: Cb, 1: Cr) of sample (cx, cy), as stored.
fn stored_chroma(k: u32, cx: u32, cy: u32) -> u32 {
    if (KIND == NV12) {
        return coded_byte(1u, cy * coded_stride(1u) + 2u * cx + k);
    }
    if (KIND == YUY2) {
        return coded_byte(0u, cy * coded_stride(0u) + 4u * cx + 1u + 2u * k);
    }
    return coded_byte(1u + k, cy * coded_stride(1u + k) + cx);
}

// Linear interpolation taps from pixel `x` to the `samples` samples covering `factor` pixels
// each, co-sited or centred: (first sample, second, weight of the second in 1/256), from the
// position in quarters of a sample (exact for factors 1 and 2).
fn taps(x: u32, samples: u32, factor: u32, cosited: bool) -> vec3<u32> {
    var quarters: i32;
    if (factor == 1u) {
        quarters = 4 * i32(x);
    } else if (cosited) {
        quarters = 2 * i32(x);
    } else {
        quarters = 2 * i32(x) - 1;
    }
    let q = u32(clamp(quarters, 0, 4 * (i32(samples) - 1)));
    let first = q / 4u;
    return vec3<u32>(first, min(first + 1u, samples - 1u), 64u * (q % 4u));
}

fn clamp_level(v: i32) -> u32 {
    return u32(clamp(v >> 16u, 0, 255));
}

fn decode_pixel(x: u32, y: u32) -> vec3<u32> {
    if (KIND == GRAY8) {
        let v = coded_byte(0u, y * coded_stride(0u) + x);
        return vec3<u32>(v, v, v);
    }
    if (KIND == RGB) {
        let at = y * coded_stride(0u) + 3u * x;
        let v = vec3<u32>(coded_byte(0u, at), coded_byte(0u, at + 1u), coded_byte(0u, at + 2u));
        if (SWAP) {
            return v.bgr;
        }
        return v;
    }
    var luma_at = y * coded_stride(0u) + x;
    if (KIND == YUY2) {
        luma_at = y * coded_stride(0u) + 2u * x;
    }
    let l = tables[coded_byte(0u, luma_at)];
    let columns = taps(x, c.chroma_w, FX, H_COSITED);
    let rows = taps(y, c.chroma_h, FY, V_COSITED);
    var sample: array<u32, 2>;
    for (var k = 0u; k < 2u; k++) {
        let left = stored_chroma(k, columns.x, rows.x) * (256u - rows.z)
            + stored_chroma(k, columns.x, rows.y) * rows.z;
        let right = stored_chroma(k, columns.y, rows.x) * (256u - rows.z)
            + stored_chroma(k, columns.y, rows.y) * rows.z;
        sample[k] = (left * (256u - columns.z) + right * columns.z + 32768u) >> 16u;
    }
    let cb = sample[0];
    let cr = sample[1];
    return vec3<u32>(
        clamp_level(l + tables[256u + cr]),
        clamp_level(l + tables[512u + cb] + tables[768u + cr]),
        clamp_level(l + tables[1024u + cb]),
    );
}

// One invocation per pixel.
@compute @workgroup_size(8, 8, 1)
fn decode(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= c.width || id.y >= c.height) {
        return;
    }
    let v = decode_pixel(id.x, id.y);
    decoded[id.y * c.width + id.x] = v.r | (v.g << 8u) | (v.b << 16u) | (255u << 24u);
}
