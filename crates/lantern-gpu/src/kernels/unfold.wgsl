// The windows of a 1-D convolution's input side by side (im2col), one thread per output value:
// row t of Y is input rows t * stride - pad + k (k = 0 .. kernel) of X, each `channels` wide,
// zero where a window reaches outside X. A convolution is then a matrix product with the
// weight [out, kernel * channels] (PyTorch's [out, channels, kernel] with the kernel axis first).
struct Params {
    out_rows: u32,
    in_rows: u32,
    channels: u32,
    kernel: u32,
    stride: u32,
    pad: u32,
    pad0: u32,
    pad1: u32,
}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    let width = P.kernel * P.channels;
    if (i >= P.out_rows * width) {
        return;
    }
    let t = i / width;
    let r = i % width;
    let k = r / P.channels;
    let c = r % P.channels;
    // The source row plus `pad`, so that rows before the input stay unsigned.
    let src = t * P.stride + k;
    var y = 0.0;
    if (src >= P.pad && src - P.pad < P.in_rows) {
        y = X[(src - P.pad) * P.channels + c];
    }
    Y[i] = y;
}
