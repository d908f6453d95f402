// Layered depth of field (SteReFo, Busam et al. 2019, Algorithm 1) as four compute passes.
//
// Each plane d_k is blurred on the grid of its pyramid level L (the frame downsampled by
// 2^L; L = 0 is full resolution) and composited there, back to front, over an accumulator
// (Is, Ms) of that level. The host dispatches, for each step of the frame's schedule, one of:
//   extract_prefix  one invocation per listed grid row: the plane's mask M and masked image
//                   M o I (the mean over a cell's 2^L x 2^L footprint, at most 4 x 4 samples
//                   of it), as fixed-point integers, written as prefix sums along the row.
//                   Integer sums wrap modulo 2^32 (or 2^16 per packed half), so any difference
//                   of two of them over a kernel row is exact.
//   blur            one workgroup per listed 8x8 grid tile: the disc convolution K(r) as a
//                   sum of row spans read from the prefix sums (O(r) per pixel, zero padding),
//                   giving (Ib, Mb), then Is = Is o (1 - Mb) + Ib and Ms = Ms o (1 - Mb) + Mb.
//   resample        one invocation per cell of a destination level: the bilinear upsampling
//                   of a coarser accumulator, either replacing the destination (the back
//                   planes, finished at a coarse level, continue at a finer one) or composited
//                   over it (the front planes, gathered apart, laid over the planes behind).
//   normalize       once per frame at full resolution: the back accumulator with the front
//                   one over it, output = Is / Ms, byte 3 of each pixel passed through.
//
// Bindings (group 0):
//   0 frame     uniform  Frame: size, sweep range and prefix format
//   1 task      uniform  Step: this step's parameters (dynamic offset, one per step)
//   2 image     storage  input pixels, 4 bytes each, bytes 0..2 colour
//   3 disparity storage  pixels of disparity, f32, one per pixel (clamped by the host)
//   4 lists     storage  kernel spans, row spans, row and tile lists of all planes (u32)
//   5 prefix    storage  per-row prefix sums of (M o I, M) on the plane's grid
//   6 accum     storage  the full-resolution accumulator (Is, Ms)
//   7 coarse    storage  the accumulators of levels 1 and up, back and front
//   8 output    storage  output pixels, 4 bytes each

struct Frame {
    width: u32,
    height: u32,
    min_disparity: f32,
    max_disparity: f32,
    // Fixed-point scale of (M o I, M): a value v in [0, 1] is stored as round(v * quantum).
    quantum: f32,
}

// Pipeline constants: extract_prefix and blur are built once per combination, so that no
// pipeline carries the code of another case (CPU Vulkan drivers pay for untaken branches).
// Prefix sums packed two 16-bit channels per u32 (every kernel row sum < 2^16), else one u32
// per channel.
override PACKED: bool = true;
// The plane is on level 0: its cells are pixels and its accumulator is `accum`.
override FULL_RES: bool = true;

// One step of the schedule. Plane steps use the first block, resample and normalize the
// accumulator fields; a level's accumulator is at `offset` in `accum` (level 0) or `coarse`.
struct Step {
    disparity: f32,      // d_k, pixels
    half_band: f32,      // 1/a
    smooth_alpha: f32,   // alpha of eq. 3; 0 = hard mask
    level: u32,          // L: the plane's grid is the frame downsampled by 2^L
    grid_width: u32,
    grid_height: u32,
    kernel_rows: u32,    // rows of the disc above the centre
    spans_offset: u32,   // row half-widths in `lists`
    inv_norm: f32,       // 1 / (taps of the disc * quantum)
    rows_offset: u32,
    rows_count: u32,
    tiles_offset: u32,
    tiles_count: u32,
    row_spans_offset: u32, // per grid row: begin | end << 16, where the mask can be non-zero
    pad0: u32,
    pad1: u32,
    // The accumulator written (plane steps, resample) or the back one read (normalize).
    dst: Accumulator,
    // The accumulator read (resample) or the front one read (normalize; width 0 = none).
    src: Accumulator,
    // resample: 1 = composite the source over the target, 0 = replace the target.
    over: u32,
}

struct Accumulator {
    level: u32,
    offset: u32,
    width: u32,
    height: u32,
}

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<uniform> task: Step;
@group(0) @binding(2) var<storage, read> image: array<u32>;
@group(0) @binding(3) var<storage, read> disparity: array<f32>;
@group(0) @binding(4) var<storage, read> lists: array<u32>;
@group(0) @binding(5) var<storage, read_write> prefix: array<u32>;
@group(0) @binding(6) var<storage, read_write> accum: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> coarse: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> output: array<u32>;

const TILE: u32 = 8u;
// Samples per axis of a cell's footprint, at most (coarser levels sample it evenly).
const MAX_SAMPLES: u32 = 4u;

// Index of this workgroup's item in a list dispatched as a 2D grid of at most 65535 wide.
fn item_index(wg: vec3<u32>, groups: vec3<u32>) -> u32 {
    return wg.x + wg.y * groups.x;
}

// tanh without overflow for large |x| (eq. 3 with alpha = 1000 reaches |x| > 1000), and
// accurate where drivers' built-in is not.
fn stable_tanh(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
}

// (M o I, M) of full-resolution pixel p.
fn masked_pixel(p: u32) -> vec4<f32> {
    let distance = abs(disparity[p] - task.disparity);
    var m: f32;
    if task.smooth_alpha > 0.0 {
        m = 0.5 + 0.5 * stable_tanh(task.smooth_alpha * (task.half_band - distance));
    } else {
        m = select(0.0, 1.0, distance < task.half_band);
    }
    let colour = unpack4x8unorm(image[p]).xyz;
    return vec4<f32>(colour * m, m);
}

// (M o I, M) of grid cell (u, v): the mean over its footprint, sampled evenly.
fn cell_value(u: u32, v: u32) -> vec4<f32> {
    if FULL_RES {
        return masked_pixel(v * frame.width + u);
    }
    let size = 1u << task.level;
    let samples = min(size, MAX_SAMPLES);
    let stride = size / samples;
    let first = vec2<u32>(u, v) * size + vec2<u32>(stride / 2u);
    var sum = vec4<f32>(0.0);
    var count = 0u;
    for (var j = 0u; j < samples; j++) {
        let y = first.y + j * stride;
        for (var i = 0u; i < samples; i++) {
            let x = first.x + i * stride;
            if x < frame.width && y < frame.height {
                sum += masked_pixel(y * frame.width + x);
                count++;
            }
        }
    }
    return sum / f32(max(count, 1u));
}

fn quantize(value: vec4<f32>) -> vec4<u32> {
    return vec4<u32>(round(value * frame.quantum));
}

// One invocation per listed row, walking its span left to right: no barriers and the fewest
// operations, which suits CPU Vulkan drivers best; rows of all planes keep GPUs busy enough.
// Slot s of a row (s = 0..grid_width) holds the sum of the cells begin..s-1.
@compute @workgroup_size(64)
fn extract_prefix(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let item = item_index(wg, groups) * 64u + lid;
    if item >= task.rows_count {
        return;
    }
    let v = lists[task.rows_offset + item];
    let span = lists[task.row_spans_offset + v];
    let begin = span & 0xffffu;
    let end = span >> 16u;
    let row = v * (task.grid_width + 1u);
    if PACKED {
        var sum = vec2<u32>(0u);
        prefix[2u * (row + begin)] = 0u;
        prefix[2u * (row + begin) + 1u] = 0u;
        for (var u = begin; u < end; u++) {
            let q = quantize(cell_value(u, v));
            sum += vec2<u32>(q.x | (q.y << 16u), q.z | (q.w << 16u));
            prefix[2u * (row + u + 1u)] = sum.x;
            prefix[2u * (row + u + 1u) + 1u] = sum.y;
        }
    } else {
        var sum = vec4<u32>(0u);
        let base = 4u * (row + begin);
        prefix[base] = 0u;
        prefix[base + 1u] = 0u;
        prefix[base + 2u] = 0u;
        prefix[base + 3u] = 0u;
        for (var u = begin; u < end; u++) {
            sum += quantize(cell_value(u, v));
            let at = 4u * (row + u + 1u);
            prefix[at] = sum.x;
            prefix[at + 1u] = sum.y;
            prefix[at + 2u] = sum.z;
            prefix[at + 3u] = sum.w;
        }
    }
}

// Slots of row y that bound the kernel row of half-width `half` centred on column u, clamped
// into the row's span (equal slots, a zero sum, above and below the grid).
fn row_slots(u: i32, y: i32, half: i32) -> vec3<u32> {
    let inside = y >= 0 && y < i32(task.grid_height);
    let row = u32(clamp(y, 0, i32(task.grid_height) - 1));
    let span = lists[task.row_spans_offset + row];
    let begin = i32(span & 0xffffu);
    let end = i32(span >> 16u);
    let lo = clamp(u - half, begin, end);
    let hi = select(lo, clamp(u + half + 1, begin, end), inside);
    let base = row * (task.grid_width + 1u);
    return vec3<u32>(base + u32(lo), base + u32(hi), 0u);
}

// Reads an accumulator cell.
fn load_accumulator(acc: Accumulator, index: u32) -> vec4<f32> {
    if acc.level == 0u {
        return accum[index];
    }
    return coarse[acc.offset + index];
}

fn store_accumulator(acc: Accumulator, index: u32, value: vec4<f32>) {
    if acc.level == 0u {
        accum[index] = value;
    } else {
        coarse[acc.offset + index] = value;
    }
}

@compute @workgroup_size(8, 8)
fn blur(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
) {
    let item = item_index(wg, groups);
    if item >= task.tiles_count {
        return;
    }
    let tile = lists[task.tiles_offset + item];
    let u = (tile & 0xffffu) * TILE + local.x;
    let v = (tile >> 16u) * TILE + local.y;
    if u >= task.grid_width || v >= task.grid_height {
        return;
    }
    let rows = i32(task.kernel_rows);
    var sum = vec4<f32>(0.0);
    if PACKED {
        for (var dy = -rows; dy <= rows; dy++) {
            let half = i32(lists[task.spans_offset + u32(abs(dy))]);
            let slots = row_slots(i32(u), i32(v) + dy, half);
            let hi = vec2<u32>(prefix[2u * slots.y], prefix[2u * slots.y + 1u]);
            let lo = vec2<u32>(prefix[2u * slots.x], prefix[2u * slots.x + 1u]);
            // Each half of the difference is one channel's exact row sum (< 2^16), so the
            // carries between halves that the wrapping sums made cancel out.
            sum += unpack_halves(hi - lo);
        }
    } else {
        for (var dy = -rows; dy <= rows; dy++) {
            let half = i32(lists[task.spans_offset + u32(abs(dy))]);
            let slots = row_slots(i32(u), i32(v) + dy, half);
            let hi = 4u * slots.y;
            let lo = 4u * slots.x;
            let difference = vec4<u32>(prefix[hi], prefix[hi + 1u], prefix[hi + 2u], prefix[hi + 3u])
                - vec4<u32>(prefix[lo], prefix[lo + 1u], prefix[lo + 2u], prefix[lo + 3u]);
            sum += vec4<f32>(difference);
        }
    }
    let blurred = sum * task.inv_norm;
    let index = v * task.grid_width + u;
    if FULL_RES {
        accum[index] = accum[index] * (1.0 - blurred.w) + blurred;
    } else {
        let at = task.dst.offset + index;
        coarse[at] = coarse[at] * (1.0 - blurred.w) + blurred;
    }
}

fn unpack_halves(total: vec2<u32>) -> vec4<f32> {
    return vec4<f32>(
        f32(total.x & 0xffffu),
        f32(total.x >> 16u),
        f32(total.y & 0xffffu),
        f32(total.y >> 16u),
    );
}

// Bilinear sample of accumulator `source` at the centre of cell (x, y) of level `level`
// (finer than or equal to the source's), edges clamped.
fn sample_accumulator(source: Accumulator, level: u32, x: u32, y: u32) -> vec4<f32> {
    if source.level == level {
        return load_accumulator(source, y * source.width + x);
    }
    let scale = 1.0 / f32(1u << (source.level - level));
    let g = clamp(
        (vec2<f32>(f32(x), f32(y)) + 0.5) * scale - 0.5,
        vec2<f32>(0.0),
        vec2<f32>(f32(source.width - 1u), f32(source.height - 1u)),
    );
    let p0 = vec2<u32>(g);
    let p1 = min(p0 + 1u, vec2<u32>(source.width - 1u, source.height - 1u));
    let f = g - vec2<f32>(p0);
    let w = source.width;
    let top = mix(load_accumulator(source, p0.y * w + p0.x), load_accumulator(source, p0.y * w + p1.x), f.x);
    let bottom = mix(load_accumulator(source, p1.y * w + p0.x), load_accumulator(source, p1.y * w + p1.x), f.x);
    return mix(top, bottom, f.y);
}

@compute @workgroup_size(8, 8)
fn resample(@builtin(global_invocation_id) id: vec3<u32>) {
    let dst = task.dst;
    if id.x >= dst.width || id.y >= dst.height {
        return;
    }
    let index = id.y * dst.width + id.x;
    var value = sample_accumulator(task.src, dst.level, id.x, id.y);
    if task.over == 1u {
        value += load_accumulator(dst, index) * (1.0 - value.w);
    }
    store_accumulator(dst, index, value);
}

@compute @workgroup_size(8, 8)
fn normalize(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= frame.width || id.y >= frame.height {
        return;
    }
    let p = id.y * frame.width + id.x;
    var acc = sample_accumulator(task.dst, 0u, id.x, id.y);
    if task.src.width > 0u {
        let front = sample_accumulator(task.src, 0u, id.x, id.y);
        acc = acc * (1.0 - front.w) + front;
    }
    let source = unpack4x8unorm(image[p]);
    var colour = source.xyz;
    if acc.w > 1e-6 {
        colour = acc.xyz / acc.w;
    }
    output[p] = pack4x8unorm(vec4<f32>(colour, source.w));
}
