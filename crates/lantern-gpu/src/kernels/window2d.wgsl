// The geometry shared by the 2-D window kernels over one image held as [height * width,
// channels] (one row per pixel, channels innermost). Output pixel (oy, ox) with kernel cell
// (ky, kx) reads input pixel (oy * stride + ky - top, ox * stride + kx - left), which is
// padding where that falls outside the image.
struct Params {
    height: u32,
    width: u32,
    channels: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride: u32,
    top: u32,
    left: u32,
    out_h: u32,
    out_w: u32,
    out_cols: u32,
    pad0: u32,
}

fn thread_index(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wid.x + wid.y * nwg.x) * 256u + lid;
}

// The input row (pixel) of kernel cell (ky, kx) of output pixel `p`, or -1 in padding. The
// coordinates are kept with the padding added, so that cells before the image stay unsigned.
fn source_pixel(p: u32, ky: u32, kx: u32) -> i32 {
    let sy = (p / P.out_w) * P.stride + ky;
    let sx = (p % P.out_w) * P.stride + kx;
    if (sy < P.top || sy - P.top >= P.height || sx < P.left || sx - P.left >= P.width) {
        return -1;
    }
    return i32((sy - P.top) * P.width + (sx - P.left));
}
