// Rectification remap (src/rectify): each output pixel samples the input bilinearly at the
// (x, y) its map gives; samples outside the input are black (OpenCV's BORDER_CONSTANT).

struct Size {
    width: u32,
    height: u32,
    input_width: u32,
    input_height: u32,
};

@group(0) @binding(0) var<uniform> size: Size;
// RGBA8 pixels, one u32 each, tightly packed rows
@group(0) @binding(1) var<storage, read> input: array<u32>;
// (x, y) per output pixel
@group(0) @binding(2) var<storage, read> map: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> output: array<u32>;

fn fetch(x: i32, y: i32) -> vec4<f32> {
    if (x < 0 || y < 0 || x >= i32(size.input_width) || y >= i32(size.input_height)) {
        return vec4<f32>(0.0);
    }
    return unpack4x8unorm(input[u32(y) * size.input_width + u32(x)]);
}

@compute @workgroup_size(8, 8)
fn remap(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= size.width || id.y >= size.height) {
        return;
    }
    let index = id.y * size.width + id.x;
    let position = map[index];
    let base = floor(position);
    let t = position - base;
    let x = i32(base.x);
    let y = i32(base.y);
    let top = mix(fetch(x, y), fetch(x + 1, y), t.x);
    let bottom = mix(fetch(x, y + 1), fetch(x + 1, y + 1), t.x);
    output[index] = pack4x8unorm(mix(top, bottom, t.y));
}
