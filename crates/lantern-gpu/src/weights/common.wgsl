// Helpers of the weight formats. `W` is the weight buffer (declared by the format's file) and
// `P` the kernel's parameters, whose first fields are always the weight part's:
//   w_cols (columns), w_soff (first word of the scale section), w_rows, w_row0.

// The i-th of the f16 values packed two to a word from word `base` on (scale sections).
fn f16_at(base: u32, i: u32) -> f32 {
    let v = unpack2x16float(W[base + i / 2u]);
    return select(v.x, v.y, (i & 1u) == 1u);
}

// Four 4-bit values: bits [shift, shift + 4) of each byte of `w`.
fn nib4(w: u32, shift: u32) -> vec4<u32> {
    return (vec4<u32>(w) >> (vec4<u32>(0u, 8u, 16u, 24u) + vec4<u32>(shift))) & vec4<u32>(15u);
}

// The four bytes of `w` as signed integers.
fn sbyte4(w: u32) -> vec4<i32> {
    return (vec4<i32>(bitcast<i32>(w)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
}
