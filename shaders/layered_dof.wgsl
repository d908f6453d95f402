// Layered depth of field (SteReFo, Busam et al. 2019, Algorithm 1) as four compute passes.
//
// Per plane d_k (dispatched back to front by the host, over the rows and tiles that the
// host's planner found within reach of the plane's mask):
//   extract_prefix  one invocation per listed grid row: the plane's mask M and masked image
//                   M o I (averaged over the gamma x gamma footprint when the plane is
//                   downsampled), written as inclusive prefix sums along the row.
//   blur            one workgroup per listed 16x16 grid tile: the disc convolution K(r) as a
//                   sum of row spans read from the prefix sums (O(r) per pixel, exact, zero
//                   padding), giving (Ib, Mb). At full resolution it composites at once;
//                   downsampled, it stores (Ib, Mb) for
//   composite       one workgroup per listed full-resolution tile: bilinear upsampling of
//                   (Ib, Mb), then Is = Is o (1 - Mb) + Ib and Ms = Ms o (1 - Mb) + Mb.
// Once per frame:
//   normalize       output = Is / Ms, byte 3 of each pixel passed through.
//
// Bindings (group 0):
//   0 frame     uniform  Frame: size and sweep range
//   1 plane     uniform  Plane: this plane's parameters (dynamic offset, one per plane)
//   2 image     storage  input pixels, 4 bytes each, bytes 0..2 colour
//   3 disparity storage  pixels of disparity, f32, one per pixel
//   4 lists     storage  kernel spans, row and tile lists of all planes (u32)
//   5 prefix    storage  per-row prefix sums of (M o I, M) on the plane's grid
//   6 blurred   storage  (Ib, Mb) on a downsampled plane's grid
//   7 accum     storage  (Is, Ms) at full resolution
//   8 output    storage  output pixels, 4 bytes each

struct Frame {
    width: u32,
    height: u32,
    min_disparity: f32,
    max_disparity: f32,
}

struct Plane {
    disparity: f32,      // d_k, pixels
    half_band: f32,      // 1/a
    smooth_alpha: f32,   // alpha of eq. 3; 0 = hard mask
    scale: f32,          // gamma, downsampling factor (1 = full resolution)
    grid_width: u32,
    grid_height: u32,
    kernel_rows: u32,    // rows of the disc above the centre
    spans_offset: u32,   // row half-widths in `lists`
    inv_area: f32,       // 1 / number of taps of the disc
    rows_offset: u32,
    rows_count: u32,
    tiles_offset: u32,
    tiles_count: u32,
    composite_offset: u32,
    composite_count: u32,
    row_spans_offset: u32, // per grid row: begin, end of the columns where the mask can be non-zero
}

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<uniform> plane: Plane;
@group(0) @binding(2) var<storage, read> image: array<u32>;
@group(0) @binding(3) var<storage, read> disparity: array<f32>;
@group(0) @binding(4) var<storage, read> lists: array<u32>;
@group(0) @binding(5) var<storage, read_write> prefix: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> blurred: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> accum: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> output: array<u32>;

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

// Plane membership M of full-resolution pixel p, and M o I.
fn masked_pixel(p: u32) -> vec4<f32> {
    let d = clamp(disparity[p], frame.min_disparity, frame.max_disparity);
    let distance = abs(d - plane.disparity);
    var m: f32;
    if plane.smooth_alpha > 0.0 {
        m = 0.5 + 0.5 * stable_tanh(plane.smooth_alpha * (plane.half_band - distance));
    } else {
        m = select(0.0, 1.0, distance < plane.half_band);
    }
    let colour = unpack4x8unorm(image[p]).xyz;
    return vec4<f32>(colour * m, m);
}

// (M o I, M) at grid pixel (u, v): the mean over its gamma x gamma footprint.
fn grid_value(u: u32, v: u32) -> vec4<f32> {
    if plane.scale == 1.0 {
        return masked_pixel(v * frame.width + u);
    }
    let x0 = u32(floor(f32(u) * plane.scale));
    let x1 = max(min(u32(floor(f32(u + 1u) * plane.scale)), frame.width), x0 + 1u);
    let y0 = u32(floor(f32(v) * plane.scale));
    let y1 = max(min(u32(floor(f32(v + 1u) * plane.scale)), frame.height), y0 + 1u);
    var sum = vec4<f32>(0.0);
    for (var y = y0; y < min(y1, frame.height); y++) {
        for (var x = x0; x < min(x1, frame.width); x++) {
            sum += masked_pixel(y * frame.width + x);
        }
    }
    return sum / f32((x1 - x0) * (y1 - y0));
}

// One invocation per listed row, walking it left to right: no barriers and the fewest
// operations, which suits CPU Vulkan drivers best; rows of all planes keep GPUs busy enough.
@compute @workgroup_size(64)
fn extract_prefix(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let item = item_index(wg, groups) * 64u + lid;
    if item >= plane.rows_count {
        return;
    }
    let v = lists[plane.rows_offset + item];
    let row = v * plane.grid_width;
    let end = lists[plane.row_spans_offset + 2u * v + 1u];
    var sum = vec4<f32>(0.0);
    for (var u = lists[plane.row_spans_offset + 2u * v]; u < end; u++) {
        sum += grid_value(u, v);
        prefix[row + u] = sum;
    }
}

// Blends a blurred plane (Ib, Mb) over the accumulators (Is, Ms).
fn composite_at(p: u32, blurred_plane: vec4<f32>) {
    let acc = accum[p];
    accum[p] = acc * (1.0 - blurred_plane.w) + blurred_plane;
}

// Largest kernel row count that `blur` stages through workgroup memory; beyond it (exact mode
// with large radii) it reads the prefix sums from the storage buffer directly.
const STAGED_ROWS: u32 = 11u;
const STAGED_WIDTH: u32 = 31u;   // TILE + 2 * STAGED_ROWS + 1 columns
const STAGED_HEIGHT: u32 = 30u;  // TILE + 2 * STAGED_ROWS rows
var<workgroup> staged: array<vec4<f32>, 930>;
var<workgroup> staged_spans: array<u32, 12>;

// Prefix sum at grid (x, y) for the disc sums: 0 outside the grid's rows and left of the
// row's span (the mask is zero there), the span's total right of it.
fn prefix_at(x: i32, y: i32) -> vec4<f32> {
    if x < 0 || y < 0 || y >= i32(plane.grid_height) {
        return vec4<f32>(0.0);
    }
    let begin = lists[plane.row_spans_offset + 2u * u32(y)];
    let end = lists[plane.row_spans_offset + 2u * u32(y) + 1u];
    if u32(x) < begin || begin >= end {
        return vec4<f32>(0.0);
    }
    return prefix[u32(y) * plane.grid_width + min(u32(x), end - 1u)];
}

@compute @workgroup_size(8, 8)
fn blur(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let item = item_index(wg, groups);
    if item >= plane.tiles_count {
        return;
    }
    let tile = lists[plane.tiles_offset + item];
    let tile_x = (tile & 0xffffu) * TILE;
    let tile_y = (tile >> 16u) * TILE;
    let u = tile_x + local.x;
    let v = tile_y + local.y;
    let rows = i32(plane.kernel_rows);
    var sum = vec4<f32>(0.0);
    if plane.kernel_rows <= STAGED_ROWS {
        // Stage the tile's prefix sums, with the kernel's apron, in workgroup memory: each
        // value is then read from the storage buffer once instead of by every pixel near it.
        let width = TILE + 2u * plane.kernel_rows + 1u;
        let height = TILE + 2u * plane.kernel_rows;
        let x_base = i32(tile_x) - rows - 1;
        let y_base = i32(tile_y) - rows;
        for (var i = lid; i < width * height; i += TILE * TILE) {
            staged[(i / width) * STAGED_WIDTH + i % width] =
                prefix_at(x_base + i32(i % width), y_base + i32(i / width));
        }
        if lid <= plane.kernel_rows {
            staged_spans[lid] = lists[plane.spans_offset + lid];
        }
        workgroupBarrier();
        if u >= plane.grid_width || v >= plane.grid_height {
            return;
        }
        let centre = local.x + plane.kernel_rows + 1u;
        for (var dy = -rows; dy <= rows; dy++) {
            let half = staged_spans[u32(abs(dy))];
            let row = u32(i32(local.y) + rows + dy) * STAGED_WIDTH;
            sum += staged[row + centre + half] - staged[row + centre - half - 1u];
        }
    } else {
        if u >= plane.grid_width || v >= plane.grid_height {
            return;
        }
        for (var dy = -rows; dy <= rows; dy++) {
            let half = i32(lists[plane.spans_offset + u32(abs(dy))]);
            let y = i32(v) + dy;
            sum += prefix_at(i32(u) + half, y) - prefix_at(i32(u) - half - 1, y);
        }
    }
    let result = sum * plane.inv_area;
    if plane.scale == 1.0 {
        composite_at(v * frame.width + u, result);
    } else {
        blurred[v * plane.grid_width + u] = result;
    }
}

@compute @workgroup_size(8, 8)
fn composite(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
) {
    let item = item_index(wg, groups);
    if item >= plane.composite_count {
        return;
    }
    let tile = lists[plane.composite_offset + item];
    let x = (tile & 0xffffu) * TILE + local.x;
    let y = (tile >> 16u) * TILE + local.y;
    if x >= frame.width || y >= frame.height {
        return;
    }
    // Bilinear sample of the grid at this pixel's centre, edges clamped.
    let gx = clamp((f32(x) + 0.5) / plane.scale - 0.5, 0.0, f32(plane.grid_width - 1u));
    let gy = clamp((f32(y) + 0.5) / plane.scale - 0.5, 0.0, f32(plane.grid_height - 1u));
    let x0 = u32(gx);
    let y0 = u32(gy);
    let x1 = min(x0 + 1u, plane.grid_width - 1u);
    let y1 = min(y0 + 1u, plane.grid_height - 1u);
    let fx = gx - f32(x0);
    let fy = gy - f32(y0);
    let w = plane.grid_width;
    let top = mix(blurred[y0 * w + x0], blurred[y0 * w + x1], fx);
    let bottom = mix(blurred[y1 * w + x0], blurred[y1 * w + x1], fx);
    composite_at(y * frame.width + x, mix(top, bottom, fy));
}

@compute @workgroup_size(8, 8)
fn normalize(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= frame.width || id.y >= frame.height {
        return;
    }
    let p = id.y * frame.width + id.x;
    let acc = accum[p];
    let source = unpack4x8unorm(image[p]);
    var colour = source.xyz;
    if acc.w > 1e-6 {
        colour = acc.xyz / acc.w;
    }
    output[p] = pack4x8unorm(vec4<f32>(colour, source.w));
}
