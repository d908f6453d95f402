// Layered depth of field (SteReFo, Busam et al. 2019, Algorithm 1) as compute passes.
//
// Each plane d_k is blurred on the grid of its pyramid level L (the frame downsampled by
// 2^L; L = 0 is full resolution) and composited there, back to front, over an accumulator
// (Is, Ms) of that level. The host dispatches, for each step of the frame's schedule:
//
// a plane, fast path (kmax 1..15, every kernel smaller than 16 x 16):
//   tag             once per frame, if the planes of level 0 have hard masks: one invocation
//                   per four pixels of a row, each pixel's colour and, in its fourth byte,
//                   which planes of level 0 it belongs to (`tagged`). Those planes then read
//                   `tagged`, four pixels per access.
//   extract_cells   for the other planes, one invocation per block of cells that can hold
//                   the plane's pixels: the plane's mask M and masked image M o I (the
//                   mean over a cell's 2^L x 2^L footprint, at most 2 x 2 samples of it),
//                   packed as four bytes, into one of two regions of `values` (planes take
//                   turns). All other cells hold zero: `values` is zeroed before the first
//                   plane, and the same pass zeroes the blocks of the plane before in the
//                   other region (for the last plane, a pass of its own).
//   blur_disc       one invocation per listed 8x8 tile, from a module written for the
//                   plane's disc (src/dof/gpu/disc_blur.rs): it reads the tile's tagged pixels or
//                   cells and the kernel's margin once, (8 + 2r)^2 loads for the 64 window
//                   sums, computes them in registers, and composites two cells at a time:
//                   Is = Is o (1 - Mb) + Ib and Ms = Ms o (1 - Mb) + Mb. Tagged planes go
//                   in pairs of consecutive ones: one pass over the tiles of either blurs
//                   both from the same loads and composites both with one access.
// a plane, exact path (kmax 0 or above 15: kernels of any size, values to 1/65280):
//   extract_prefix  one invocation per listed grid row: (M o I, M) as fixed-point integers,
//                   written as prefix sums along the row (they wrap modulo 2^32, so any
//                   difference of two of them over a kernel row is exact).
//   blur            one invocation per cell of the listed tiles: the disc as a sum of row
//                   spans, each the difference of two prefix sums (O(r) per cell), then the
//                   same compositing.
// the accumulators:
//   resample        one invocation per pair of cells of a destination level: the bilinear upsampling
//                   of a coarser accumulator, either replacing the destination (the back
//                   planes, finished at a coarse level, continue at a finer one) or composited
//                   over it (the front planes, gathered apart, laid over the planes behind).
//   normalize       once per frame at full resolution: the back accumulator with the front
//                   one over it, output = Is / Ms, byte 3 of each pixel passed through.
//
// Bindings (group 0):
//   0 frame     uniform  Frame: size, sweep range and fixed-point scale
//   1 task      uniform  Step: this step's parameters (dynamic offset, one per step)
//   2 image     storage  input pixels, 4 bytes each, bytes 0..2 colour; with FILL the
//                       hidden layer's colours follow them
//   3 disparity storage  pixels of disparity, f32, one per pixel (clamped by the host); with
//                       FILL the hidden layer's follow them
//   4 lists     storage  kernel spans, row spans, row and tile lists of all planes (u32)
//   5 values    storage  the plane's packed cells, four per element, padded with zero
//                       margins like `tagged` (fast path), or prefix sums (exact path)
//   6 accum     storage  the full-resolution accumulator (Is, Ms), f32 or packed (PACKED)
//   7 coarse    storage  the accumulators of levels 1 and up, back and front, f32 or packed
//   8 output    storage  output pixels, 4 bytes each
//   9 ranges    storage  minimum and maximum disparity of each 4x4 sub-tile (the host's)
//  10 tagged    storage  pixels tagged with their planes of level 0, zero margins (see `tag`),
//                       four per element

struct Frame {
    width: u32,
    height: u32,
    min_disparity: f32,
    max_disparity: f32,
    // Fixed-point scale of (M o I, M): a value v in [0, 1] is stored as round(v * quantum).
    quantum: f32,
    // Sub-tiles (4x4 pixels) per row of `ranges`.
    subs_x: u32,
    // Linear light (with LINEAR): the transfer function T of the values: 1 sRGB, 2 BT.709,
    // 3 v = L^(1/gamma).
    transfer: u32,
    gamma: f32,
    // Highlights boost: linear luminance above this is boosted (with the plane's slope).
    highlight_threshold: f32,
}

// Pipeline constant: the plane passes are built once for level 0 and once for the others,
// so that no pipeline carries the code of the other case (CPU Vulkan drivers pay for
// untaken branches). On level 0 cells are pixels and the accumulator is `accum`.
override FULL_RES: bool = true;

// Pipeline constant: the accumulators hold (Is, Ms) as 16-bit fixed point, the two cells of
// a pair (columns 2i and 2i + 1) in one 16-byte element, row pitch `pair_pitch` (the fast
// path: on CPU Vulkan drivers each element accessed costs a scalar loop over SIMD lanes, so
// two cells per access halve the compositing's cost); else f32, one cell per element, row
// pitch the grid's width (the exact path).
override PACKED: bool = false;

// Pipeline constant of the extraction passes: the plane's level L, 2 standing for any above.
// Extractions are built for each, so that their loops over samples and cells have constant
// bounds and no division is left (CPU Vulkan drivers divide per SIMD lane).
override LEVEL: u32 = 0u;
// Pipeline constant: linear light (src/dof/light.rs): the exact path's extraction decodes
// the values by `frame.transfer`, its normalisation encodes them. Off, the branches fold
// away, so the fast path (which never decodes) pays nothing for it.
override LINEAR: bool = false;
// Pipeline constant: foreground fill (src/dof/fill.rs): the extractions also take the
// hidden layer, stored after the frame's pixels in `image` and `disparity` (the host does
// not tag pixels then: a tagged pixel holds one colour).
override FILL: bool = false;
// Samples per axis of a cell's footprint, min(2^L, MAX_SAMPLES): coarser levels sample the
// footprint evenly, as densely as a bilinear downsampling. Their planes' discs are at least
// 11 pixels wide at full resolution, which smooths out the sparser sampling; it adds about
// half a level of 255 to the mean error against exact mode (README, "How it works").
const MAX_SAMPLES: u32 = 2u;
override SAMPLES: u32 = min(1u << LEVEL, MAX_SAMPLES);

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
    spans_offset: u32,   // the kernel's rows in `lists`, dy = -kernel_rows..: first | last << 16, each + 32768
    inv_norm: f32,       // 1 / (taps of the disc * quantum)
    rows_offset: u32,
    rows_count: u32,
    tiles_offset: u32,
    tiles_count: u32,
    row_spans_offset: u32, // per grid row: begin | end << 16, where the mask can be non-zero
    cell_blocks_offset: u32, // fast path: blocks of cells where the mask can be non-zero
    cell_blocks_count: u32,
    // The accumulator written (plane steps, resample) or the back one read (normalize).
    dst: Accumulator,
    // The accumulator read (resample) or the front one read (normalize; width 0 = none).
    src: Accumulator,
    // blur_disc: the plane's number among the tagged planes.
    tag_index: u32,
    // Fast path: where in `values` this plane's cells are (one of two regions).
    values_offset: u32,
    // blur_disc of a pair of tagged planes: inv_norm of the second.
    next_inv_norm: f32,
    // Linear light: g w(r_k) / (1 - t) of the highlights boost on this plane.
    highlight_slope: f32,
    // extract_cells: the cells of the plane before, in the other region, zeroed meanwhile.
    @align(16) cleared: CellBlocks,
    // tag: d_k of each plane of level 0; unused ones are far out of any band.
    tagged_planes: array<vec4<f32>, 4>,
}

// Listed blocks of cells of a plane's grid in `values` (fast path).
struct CellBlocks {
    level: u32,
    grid_width: u32,
    grid_height: u32,
    values_offset: u32,
    blocks_offset: u32,
    @size(8) blocks_count: u32,
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
@group(0) @binding(5) var<storage, read_write> values: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> accum: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read_write> coarse: array<vec4<u32>>;
@group(0) @binding(8) var<storage, read_write> output: array<u32>;
@group(0) @binding(9) var<storage, read> ranges: array<vec2<f32>>;
@group(0) @binding(10) var<storage, read_write> tagged: array<vec4<u32>>;

const TILE: u32 = 8u;

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

// The plane's mask M of disparity d.
fn plane_mask(d: f32) -> f32 {
    let distance = abs(d - task.disparity);
    if task.smooth_alpha > 0.0 {
        return 0.5 + 0.5 * stable_tanh(task.smooth_alpha * (task.half_band - distance));
    }
    return select(0.0, 1.0, distance < task.half_band);
}

// (M o I, M) of full-resolution pixel p; with FILL plus the hidden layer (H, B) behind it,
// weighted min(M(B), 1 - M(D)).
fn masked_pixel(p: u32) -> vec4<f32> {
    let m = plane_mask(disparity[p]);
    var value = vec4<f32>(blurred_colour(image[p]) * m, m);
    if FILL {
        let hidden = frame.width * frame.height + p;
        let mh = min(plane_mask(disparity[hidden]), 1.0 - m);
        value += vec4<f32>(blurred_colour(image[hidden]) * mh, mh);
    }
    return value;
}

// The value a plane blurs for a pixel: its colour, or in linear light T^-1 of it with its
// highlights boosted, L (1 + slope max(Y - t, 0)) (src/dof/light.rs).
fn blurred_colour(pixel: u32) -> vec3<f32> {
    if !LINEAR {
        return unpack4x8unorm(pixel).xyz;
    }
    let l = decoded(unpack4x8unorm(pixel).xyz);
    let y = dot(l, vec3<f32>(0.2126, 0.7152, 0.0722));
    return l * (1.0 + task.highlight_slope * max(y - frame.highlight_threshold, 0.0));
}

// T^-1 of encoded values in [0, 1] (a table in the uniform block would slow every pass of
// the fast path down, which never decodes).
fn decoded(v: vec3<f32>) -> vec3<f32> {
    let p = max(v, vec3<f32>(1e-12));
    switch frame.transfer {
        case 1u: {
            return select(pow((p + 0.055) / 1.055, vec3<f32>(2.4)), v / 12.92, v <= vec3<f32>(0.04045));
        }
        case 2u: {
            return select(pow((p + 0.099) / 1.099, vec3<f32>(1.0 / 0.45)), v / 4.5, v < vec3<f32>(0.081));
        }
        default: {
            return pow(p, vec3<f32>(frame.gamma));
        }
    }
}

// The output value of the normalised Is / Ms: as is, or in linear light T of it clipped
// to [0, 1].
fn encoded(value: vec3<f32>) -> vec3<f32> {
    if !LINEAR {
        return value;
    }
    let l = clamp(value, vec3<f32>(0.0), vec3<f32>(1.0));
    // pow of a tiny positive number, not of 0 (log2(0) is not defined everywhere).
    let p = max(l, vec3<f32>(1e-12));
    switch frame.transfer {
        case 1u: {
            return select(1.055 * pow(p, vec3<f32>(1.0 / 2.4)) - 0.055, l * 12.92, l <= vec3<f32>(0.0031308));
        }
        case 2u: {
            return select(1.099 * pow(p, vec3<f32>(0.45)) - 0.099, l * 4.5, l < vec3<f32>(0.018));
        }
        default: {
            return pow(p, vec3<f32>(1.0 / frame.gamma));
        }
    }
}

// (M o I, M) of grid cell (u, v): the mean over its footprint, sampled evenly.
fn cell_value(u: u32, v: u32) -> vec4<f32> {
    if FULL_RES {
        return masked_pixel(v * frame.width + u);
    }
    let size = 1u << task.level;
    let stride = size / SAMPLES;
    let first = vec2<u32>(u, v) * size + vec2<u32>(stride / 2u);
    var sum = vec4<f32>(0.0);
    var count = 0u;
    for (var j = 0u; j < SAMPLES; j++) {
        let y = first.y + j * stride;
        for (var i = 0u; i < SAMPLES; i++) {
            let x = first.x + i * stride;
            if x < frame.width && y < frame.height {
                sum += masked_pixel(y * frame.width + x);
                count++;
            }
        }
    }
    return sum / f32(max(count, 1u));
}

// Whether any pixel of the footprint of cell (u, v) can have a non-zero mask, from the
// disparity ranges of the sub-tiles it covers (the same test as the host's planner). Cells
// wider than 16 sub-tiles are not tested. (The fast path's cells need no test: the planner
// lists only blocks under sub-tiles that pass it.)
fn footprint_meets_band(u: u32, v: u32) -> bool {
    let size = 1u << task.level;
    let first = vec2<u32>(u, v) * size / 4u;
    let last = min((vec2<u32>(u, v) + 1u) * size - 1u, vec2<u32>(frame.width, frame.height) - 1u) / 4u;
    if (last.x - first.x + 1u) * (last.y - first.y + 1u) > 16u {
        return true;
    }
    var reach = task.half_band;
    if task.smooth_alpha > 0.0 {
        reach += 8.0 / task.smooth_alpha;
    }
    var meets = false;
    for (var sy = first.y; sy <= last.y; sy++) {
        for (var sx = first.x; sx <= last.x; sx++) {
            let range = ranges[sy * frame.subs_x + sx];
            let distance = max(max(range.x - task.disparity, task.disparity - range.y), 0.0);
            meets = meets || distance < reach;
        }
    }
    return meets;
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
    var sum = vec4<u32>(0u);
    values[row + begin] = sum;
    for (var u = begin; u < end; u++) {
        if FULL_RES || footprint_meets_band(u, v) {
            sum += quantize(cell_value(u, v));
        }
        values[row + u + 1u] = sum;
    }
}

// Slots of row y that bound the kernel row `first ..= last` (offsets from column u), clamped
// into the row's span (equal slots, a zero sum, above and below the grid).
fn row_slots(u: i32, y: i32, first: i32, last: i32) -> vec2<u32> {
    let inside = y >= 0 && y < i32(task.grid_height);
    let row = u32(clamp(y, 0, i32(task.grid_height) - 1));
    let span = lists[task.row_spans_offset + row];
    let begin = i32(span & 0xffffu);
    let end = i32(span >> 16u);
    let lo = clamp(u + first, begin, end);
    let hi = select(lo, clamp(u + last + 1, begin, end), inside);
    let base = row * (task.grid_width + 1u);
    return vec2<u32>(base + u32(lo), base + u32(hi));
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
    for (var dy = -rows; dy <= rows; dy++) {
        let span = lists[task.spans_offset + u32(dy + rows)];
        let slots = row_slots(i32(u), i32(v) + dy, i32(span & 0xffffu) - 32768, i32(span >> 16u) - 32768);
        sum += vec4<f32>(values[slots.y] - values[slots.x]);
    }
    composite(u, v, sum * task.inv_norm);
}

// Blends the blurred plane (Ib, Mb) at cell (u, v) over the plane's accumulator (Is, Ms).
// Where Mb = 0 (so Ib = 0 too) compositing changes nothing, and is skipped. Not for PACKED
// accumulators (see `composite_pair`).
fn composite(u: u32, v: u32, blurred: vec4<f32>) {
    if blurred.w == 0.0 {
        return;
    }
    let index = v * task.grid_width + u;
    if FULL_RES {
        accum[index] = bitcast<vec4<u32>>(bitcast<vec4<f32>>(accum[index]) * (1.0 - blurred.w) + blurred);
    } else {
        let at = task.dst.offset + index;
        coarse[at] = bitcast<vec4<u32>>(bitcast<vec4<f32>>(coarse[at]) * (1.0 - blurred.w) + blurred);
    }
}

// `composite` of cells (u, v) and (u + 1, v), u even, with a PACKED accumulator read and
// written once for both. Cell u + 1 may lie beyond the grid (odd widths).
fn composite_pair(u: u32, v: u32, a: vec4<f32>, b: vec4<f32>) {
    if PACKED {
        if a.w == 0.0 && b.w == 0.0 {
            return;
        }
        let i = u / 2u;
        var pair: array<vec4<f32>, 2>;
        if FULL_RES {
            pair = accum_pair(i, v);
        } else {
            pair = coarse_pair(task.dst, i, v);
        }
        pair[0] = pair[0] * (1.0 - a.w) + a;
        pair[1] = pair[1] * (1.0 - b.w) + b;
        if FULL_RES {
            store_accum_pair(i, v, pair);
        } else {
            store_coarse_pair(task.dst, i, v, pair);
        }
    } else {
        composite(u, v, a);
        if u + 1u < task.grid_width {
            composite(u + 1u, v, b);
        }
    }
}

// `composite_pair` of plane b over plane a (cells u and u + 1 each), a PACKED level 0 read
// and written once for both.
fn composite_pair_twice(u: u32, v: u32, a0: vec4<f32>, a1: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>) {
    if a0.w == 0.0 && a1.w == 0.0 && b0.w == 0.0 && b1.w == 0.0 {
        return;
    }
    let i = u / 2u;
    var pair = accum_pair(i, v);
    pair[0] = (pair[0] * (1.0 - a0.w) + a0) * (1.0 - b0.w) + b0;
    pair[1] = (pair[1] * (1.0 - a1.w) + a1) * (1.0 - b1.w) + b1;
    store_accum_pair(i, v, pair);
}

// Pixels (2i, y) and (2i + 1, y) of the level-0 accumulator; the second is undefined where
// it lies beyond the frame.
fn accum_pair(i: u32, y: u32) -> array<vec4<f32>, 2> {
    if PACKED {
        return unpacked_pair(accum[y * pair_pitch(frame.width) + i]);
    }
    let p = y * frame.width + 2u * i;
    let second = min(p + 1u, frame.width * frame.height - 1u);
    return array<vec4<f32>, 2>(bitcast<vec4<f32>>(accum[p]), bitcast<vec4<f32>>(accum[second]));
}

// Stores pixels (2i, y) and (2i + 1, y) of the level-0 accumulator (the second only where
// it lies in the frame).
fn store_accum_pair(i: u32, y: u32, pair: array<vec4<f32>, 2>) {
    if PACKED {
        accum[y * pair_pitch(frame.width) + i] = packed_pair(pair);
    } else {
        let p = y * frame.width + 2u * i;
        accum[p] = bitcast<vec4<u32>>(pair[0]);
        if 2u * i + 1u < frame.width {
            accum[p + 1u] = bitcast<vec4<u32>>(pair[1]);
        }
    }
}

// Row pitch, in elements, of a PACKED accumulator `width` cells wide.
fn pair_pitch(width: u32) -> u32 {
    return (width + 1u) / 2u;
}

// Cells (2i, y) and (2i + 1, y) of coarse accumulator `acc`; the second is undefined where it
// lies beyond the grid.
fn coarse_pair(acc: Accumulator, i: u32, y: u32) -> array<vec4<f32>, 2> {
    if PACKED {
        return unpacked_pair(coarse[acc.offset + y * pair_pitch(acc.width) + i]);
    }
    let at = acc.offset + y * acc.width + 2u * i;
    let second = at + select(0u, 1u, 2u * i + 1u < acc.width);
    return array<vec4<f32>, 2>(bitcast<vec4<f32>>(coarse[at]), bitcast<vec4<f32>>(coarse[second]));
}

// Stores cells (2i, y) and (2i + 1, y) of coarse accumulator `acc` (the second only where it
// lies in the grid).
fn store_coarse_pair(acc: Accumulator, i: u32, y: u32, pair: array<vec4<f32>, 2>) {
    if PACKED {
        coarse[acc.offset + y * pair_pitch(acc.width) + i] = packed_pair(pair);
    } else {
        let at = acc.offset + y * acc.width + 2u * i;
        coarse[at] = bitcast<vec4<u32>>(pair[0]);
        if 2u * i + 1u < acc.width {
            coarse[at + 1u] = bitcast<vec4<u32>>(pair[1]);
        }
    }
}

// Cell (x, y) of coarse accumulator `acc`.
fn coarse_cell(acc: Accumulator, x: u32, y: u32) -> vec4<f32> {
    if PACKED {
        let w = coarse[acc.offset + y * pair_pitch(acc.width) + x / 2u];
        let half = select(w.xy, w.zw, x % 2u == 1u);
        return vec4<f32>(unpack2x16unorm(half.x), unpack2x16unorm(half.y));
    }
    return bitcast<vec4<f32>>(coarse[acc.offset + y * acc.width + x]);
}

// A PACKED element: two cells of 16-bit fixed point.
fn unpacked_pair(w: vec4<u32>) -> array<vec4<f32>, 2> {
    return array<vec4<f32>, 2>(
        vec4<f32>(unpack2x16unorm(w.x), unpack2x16unorm(w.y)),
        vec4<f32>(unpack2x16unorm(w.z), unpack2x16unorm(w.w)),
    );
}

fn packed_pair(pair: array<vec4<f32>, 2>) -> vec4<u32> {
    return vec4<u32>(
        pack2x16unorm(pair[0].xy),
        pack2x16unorm(pair[0].zw),
        pack2x16unorm(pair[1].xy),
        pack2x16unorm(pair[1].zw),
    );
}

// Fast path: the plane's (M o I, M) of the cells of the listed blocks, four bytes, at
// `padded_cell`. Every other cell holds zero, and so do these before: only non-zero cells
// need writing. Meanwhile the cells the plane before wrote (in the other region of
// `values`, its blur done) are zeroed again, so that a plane costs two passes, not three.
@compute @workgroup_size(64)
fn extract_cells(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let item = item_index(wg, groups) * 64u + lid;
    let own = CellBlocks(
        task.level,
        task.grid_width,
        task.grid_height,
        task.values_offset,
        task.cell_blocks_offset,
        task.cell_blocks_count,
    );
    if item < own.blocks_count {
        // Blocks are sub-tiles (`cell_block_side`).
        let side = SUB >> LEVEL;
        for (var k = 0u; k < side * side; k++) {
            let c = block_cell(own, item, k);
            if c.x < own.grid_width && c.y < own.grid_height {
                let cell = pack4x8unorm(cell_value(c.x, c.y));
                if cell != 0u {
                    let at = padded_cell(own, c);
                    values[at / 4u][at % 4u] = cell;
                }
            }
        }
    }
    let cleared = task.cleared;
    if item < cleared.blocks_count {
        for (var k = 0u; k < cells_per_block(cleared); k++) {
            let c = block_cell(cleared, item, k);
            if c.x < cleared.grid_width && c.y < cleared.grid_height {
                let at = padded_cell(cleared, c);
                values[at / 4u][at % 4u] = 0u;
            }
        }
    }
}

// Pixels a side of a sub-tile: the listed blocks of cells are a sub-tile's cells.
const SUB: u32 = 4u;

// log2 of the side of a listed block of cells (`cell_block_side` in src/dof/plan.rs): a
// sub-tile's cells, or one cell from level 2 on.
fn cell_block_shift(blocks: CellBlocks) -> u32 {
    return 2u - min(blocks.level, 2u);
}

fn cells_per_block(blocks: CellBlocks) -> u32 {
    return 1u << (2u * cell_block_shift(blocks));
}

// Cell k (row by row) of listed block `item`; it may lie beyond the grid's edge.
fn block_cell(blocks: CellBlocks, item: u32, k: u32) -> vec2<u32> {
    let block = lists[blocks.blocks_offset + item];
    let shift = cell_block_shift(blocks);
    let corner = vec2<u32>(block & 0xffffu, block >> 16u);
    return corner + vec2<u32>(k & ((1u << shift) - 1u), k >> shift);
}

// Index (in cells) of cell c of a plane's grid in `values`: the grid is laid out like
// `tagged`, with zero margins (`padded_pitch`), so that blur_disc reads it four cells at a
// time without bounds checks.
fn padded_cell(blocks: CellBlocks, c: vec2<u32>) -> u32 {
    return blocks.values_offset + (c.y + BORDER) * padded_pitch(blocks.grid_width) + c.x + BORDER;
}

// Row pitch of a grid `width` cells wide with its zero margins (`padded_size` in
// src/dof/gpu/buffers.rs): padded to whole tiles, BORDER cells on the left and twice that on the right.
fn padded_pitch(width: u32) -> u32 {
    return (width + TILE - 1u) / TILE * TILE + 3u * BORDER;
}

// A cell's four bytes as two u32s of two 16-bit fields (channels 0, 2 and 1, 3), so that
// sums of cells stay per channel. Sums of up to 257 cells fit the fields; a kmax <= 15 disc
// has at most 197 taps.
fn fields(cell: u32) -> vec2<u32> {
    return vec2<u32>(cell & 0x00ff00ffu, (cell >> 8u) & 0x00ff00ffu);
}

// Margin of zero cells around a grid in `tagged` and in the fast path's `values`, on the
// left and top (the right and bottom ones are wider: the grid is padded to whole tiles
// first). It covers the reach of any fast-path kernel (at most 7 rows), so blur_disc reads
// without bounds checks.
const BORDER: u32 = 8u;

// Tag pass: pixel p's colour bytes and, in byte 3, the planes of level 0 whose hard mask
// holds it, numbered from the first: `first | members << 4`, where bit i of `members` is
// plane first + i. A band is two plane spacings wide, so a pixel belongs to two consecutive
// planes at most (three bits leave room for rounding); `members` = 0: none.
@compute @workgroup_size(8, 8)
fn tag(@builtin(global_invocation_id) id: vec3<u32>) {
    let x0 = id.x * 4u;
    if x0 >= frame.width || id.y >= frame.height {
        return;
    }
    // The planes' disparities are loaded once and compared four at a time: CPU Vulkan
    // drivers index a uniform array at run time per SIMD lane, which costs more than all
    // the comparisons.
    let planes = Planes(
        task.tagged_planes[0],
        task.tagged_planes[1],
        task.tagged_planes[2],
        task.tagged_planes[3],
        vec4<f32>(task.half_band),
    );
    var quad = vec4<u32>(0u);
    for (var i = 0u; i < 4u; i++) {
        let x = x0 + i;
        if x < frame.width {
            let p = id.y * frame.width + x;
            let members = plane_bits(disparity[p], planes);
            let first = select(firstTrailingBit(members), 0u, members == 0u);
            let tag = first | ((members >> first) & 7u) << 4u;
            quad[i] = (image[p] & 0xffffffu) | tag << 24u;
        }
    }
    tagged[((id.y + BORDER) * padded_pitch(frame.width) + x0 + BORDER) / 4u] = quad;
}

// The tag pass's planes: d_k of planes 4i..4i + 3 in `d<i>`, and 1/a.
struct Planes {
    d0: vec4<f32>,
    d1: vec4<f32>,
    d2: vec4<f32>,
    d3: vec4<f32>,
    half_band: vec4<f32>,
}

// Bit k set for each plane k whose hard mask holds disparity d.
fn plane_bits(d: f32, planes: Planes) -> u32 {
    let bits = vec4<u32>(1u, 2u, 4u, 8u);
    let none = vec4<u32>(0u);
    let near = planes.half_band;
    let all = select(none, bits, abs(vec4<f32>(d) - planes.d0) < near)
        | select(none, bits << vec4<u32>(4u), abs(vec4<f32>(d) - planes.d1) < near)
        | select(none, bits << vec4<u32>(8u), abs(vec4<f32>(d) - planes.d2) < near)
        | select(none, bits << vec4<u32>(12u), abs(vec4<f32>(d) - planes.d3) < near);
    return all.x | all.y | all.z | all.w;
}

// (M o I, M) of a tagged pixel in plane p of level 0, split as `cell_pair` splits a cell:
// the pixel's colour with M = 1 (byte 255) if it belongs to the plane, else zero.
fn tap(pixel: u32, p: u32) -> vec2<u32> {
    let tag = pixel >> 24u;
    let offset = p - (tag & 15u);
    let member = offset < 3u && ((tag >> (4u + offset)) & 1u) != 0u;
    return fields(select(0u, pixel | 0xff000000u, member));
}

// A disc's window sums (two u32s of two 16-bit fields) as (Ib, Mb).
fn window_value(window: vec2<u32>, inv_norm: f32) -> vec4<f32> {
    return vec4<f32>(
        f32(window.x & 0xffffu),
        f32(window.y & 0xffffu),
        f32(window.x >> 16u),
        f32(window.y >> 16u),
    ) * inv_norm;
}

// Bilinear sample of coarse accumulator `source` at the centre of cell (x, y) of the finer
// level `level`, edges clamped.
fn upsample(source: Accumulator, level: u32, x: u32, y: u32) -> vec4<f32> {
    let scale = 1.0 / f32(1u << (source.level - level));
    let g = clamp(
        (vec2<f32>(f32(x), f32(y)) + 0.5) * scale - 0.5,
        vec2<f32>(0.0),
        vec2<f32>(f32(source.width - 1u), f32(source.height - 1u)),
    );
    let p0 = vec2<u32>(g);
    let p1 = min(p0 + 1u, vec2<u32>(source.width - 1u, source.height - 1u));
    let f = g - vec2<f32>(p0);
    let top = mix(coarse_cell(source, p0.x, p0.y), coarse_cell(source, p1.x, p0.y), f.x);
    let bottom = mix(coarse_cell(source, p0.x, p1.y), coarse_cell(source, p1.x, p1.y), f.x);
    return mix(top, bottom, f.y);
}

// Pipeline constant of resample and normalize: the source upsampled is composited over the
// destination (resample), or a front accumulator lies over the back one (normalize).
// FULL_RES there means the destination (resample) or the back accumulator (normalize) is
// level 0's `accum`.
override OVER: bool = false;

// One invocation per pair of cells (2i, y), (2i + 1, y) of the destination.
@compute @workgroup_size(8, 8)
fn resample(@builtin(global_invocation_id) id: vec3<u32>) {
    let dst = task.dst;
    let x = 2u * id.x;
    if x >= dst.width || id.y >= dst.height {
        return;
    }
    if FULL_RES {
        var pair: array<vec4<f32>, 2>;
        if OVER {
            pair = accum_pair(id.x, id.y);
        }
        pair[0] = resampled(x, id.y, pair[0]);
        pair[1] = resampled(x + 1u, id.y, pair[1]);
        store_accum_pair(id.x, id.y, pair);
    } else {
        var pair: array<vec4<f32>, 2>;
        if OVER {
            pair = coarse_pair(dst, id.x, id.y);
        }
        pair[0] = resampled(x, id.y, pair[0]);
        pair[1] = resampled(x + 1u, id.y, pair[1]);
        store_coarse_pair(dst, id.x, id.y, pair);
    }
}

// Cell (x, y) of the destination: the source upsampled, over `below` if OVER.
fn resampled(x: u32, y: u32, below: vec4<f32>) -> vec4<f32> {
    return resampled_over(upsample(task.src, task.dst.level, x, y), below);
}

// `value`, the source upsampled, over `below` if OVER.
fn resampled_over(value: vec4<f32>, below: vec4<f32>) -> vec4<f32> {
    if OVER {
        return value + below * (1.0 - value.w);
    }
    return value;
}

// One invocation per pair of pixels (2i, y), (2i + 1, y).
@compute @workgroup_size(8, 8)
fn normalize(@builtin(global_invocation_id) id: vec3<u32>) {
    let x = 2u * id.x;
    if x >= frame.width || id.y >= frame.height {
        return;
    }
    var back: array<vec4<f32>, 2>;
    if FULL_RES {
        back = accum_pair(id.x, id.y);
    }
    let p = id.y * frame.width + x;
    output[p] = normalized(composed(x, id.y, back[0]), image[p]);
    if x + 1u < frame.width {
        output[p + 1u] = normalized(composed(x + 1u, id.y, back[1]), image[p + 1u]);
    }
}

// Pixel (x, y) of the back accumulator (`level0` where it is at level 0, else upsampled),
// with the front one over it if OVER.
fn composed(x: u32, y: u32, level0: vec4<f32>) -> vec4<f32> {
    var acc = level0;
    if !FULL_RES {
        acc = upsample(task.dst, 0u, x, y);
    }
    if OVER {
        let front = upsample(task.src, 0u, x, y);
        acc = acc * (1.0 - front.w) + front;
    }
    return acc;
}

// Output pixel from the accumulator: Is / Ms (the source colour where no plane covers it),
// byte 3 passed through from the source pixel.
fn normalized(acc: vec4<f32>, source_pixel: u32) -> u32 {
    let source = unpack4x8unorm(source_pixel);
    var colour = source.xyz;
    if acc.w > 1e-6 {
        colour = encoded(acc.xyz / acc.w);
    }
    return pack4x8unorm(vec4<f32>(colour, source.w));
}
