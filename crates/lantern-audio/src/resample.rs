//! Mono mixdown and band-limited resampling to the model's rate.
//!
//! The resampler is a polyphase FIR: a Kaiser-windowed sinc (β = 7.857, designed for 80 dB of
//! stopband attenuation) whose pass band is flat to 0.9 × the lower of the two Nyquist
//! frequencies and whose stop band starts at that Nyquist frequency, so nothing that would alias
//! gets through (from 48 kHz to 16 kHz: flat to 7.2 kHz, ≥ 80 dB down from 8 kHz). The filter is
//! zero-phase: output sample `k` is the band-limited input at time `k / to_rate`, with no delay.
//! For every rational ratio whose phase table fits in 4 MB (44.1, 48, 22.05, 8, 96 kHz… to
//! 16 kHz) each phase is exact; for odd rates the table holds 64 to 512 phases and
//! coefficients are interpolated linearly between them (an error below −80 dB).
//!
//! It streams: [`Resampler::process`] takes any chunk and holds only the filter's span of input
//! between calls, so memory does not grow with the length of the audio.

use std::fmt;

use crate::AudioError;

/// The lowest sample rate Lantern accepts (telephone audio is 8 kHz; below 4 kHz no speech
/// survives).
pub const MIN_SAMPLE_RATE: u32 = 4_000;
/// The highest sample rate Lantern accepts (the top rate of studio formats, 384 kHz).
pub const MAX_SAMPLE_RATE: u32 = 384_000;
/// The most channels a mixdown to mono accepts (7.1 surround).
pub const MAX_CHANNELS: usize = 8;

/// Kaiser β for 80 dB of stopband attenuation: 0.1102 (A − 8.7).
const KAISER_BETA: f64 = 0.1102 * (80.0 - 8.7);
/// Half the filter's length, in samples of the lower rate: Kaiser's estimate for 80 dB over a
/// transition band of 0.1 × Nyquist, (A − 7.95) / (2.285 · 2π · 0.05), halved.
const HALF_TAPS_AT_LOWER_RATE: f64 =
    (80.0 - 7.95) / (2.285 * 2.0 * std::f64::consts::PI * 0.05) / 2.0;
/// The cutoff (−6 dB point) as a fraction of the lower Nyquist frequency: the middle of the
/// transition band 0.9..1.0.
const CUTOFF: f64 = 0.95;
/// The most coefficients a phase table holds (4 MB of `f32`).
const MAX_TABLE: usize = 1 << 20;

/// Refuses sample rates and channel counts outside what Lantern reads. The page calls this on
/// what the browser decoded; the native decoder calls it on the file's header.
pub fn check_format(sample_rate: u32, channels: usize) -> Result<(), AudioError> {
    check_rate(sample_rate)?;
    if channels > MAX_CHANNELS {
        return Err(AudioError::TooManyChannels {
            channels,
            max: MAX_CHANNELS,
        });
    }
    if channels == 0 {
        return Err(AudioError::Interleaving { len: 0, channels });
    }
    Ok(())
}

fn check_rate(rate: u32) -> Result<(), AudioError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(AudioError::SampleRate {
            rate,
            min: MIN_SAMPLE_RATE,
            max: MAX_SAMPLE_RATE,
        })
    }
}

/// The mean of the channels of interleaved samples.
pub fn to_mono(interleaved: &[f32], channels: usize) -> Result<Vec<f32>, AudioError> {
    let mut out = Vec::with_capacity(interleaved.len() / channels.max(1));
    mix_to_mono_into(interleaved, channels, &mut out)?;
    Ok(out)
}

/// [`to_mono`], appending to `out` (for decoding packet by packet).
pub fn mix_to_mono_into(
    interleaved: &[f32],
    channels: usize,
    out: &mut Vec<f32>,
) -> Result<(), AudioError> {
    if channels == 0 || !interleaved.len().is_multiple_of(channels) {
        return Err(AudioError::Interleaving {
            len: interleaved.len(),
            channels,
        });
    }
    if channels == 1 {
        out.extend_from_slice(interleaved);
    } else {
        let scale = 1.0 / channels as f32;
        out.extend(
            interleaved
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() * scale),
        );
    }
    Ok(())
}

/// Resamples all of `samples` (mono) from `from_rate` to `to_rate`.
pub fn resample(samples: &[f32], from_rate: u32, to_rate: u32) -> Result<Vec<f32>, AudioError> {
    let mut resampler = Resampler::new(from_rate, to_rate)?;
    let mut out = Vec::with_capacity(output_len(samples.len(), from_rate, to_rate));
    resampler.process(samples, &mut out)?;
    resampler.finish(&mut out);
    Ok(out)
}

/// How many samples `input_len` samples become: `ceil(input_len · to / from)`.
pub fn output_len(input_len: usize, from_rate: u32, to_rate: u32) -> usize {
    if from_rate == 0 {
        return 0;
    }
    let n = input_len as u128 * u128::from(to_rate);
    n.div_ceil(u128::from(from_rate)) as usize
}

/// A streaming band-limited resampler for one channel.
///
/// ```
/// use lantern_audio::Resampler;
///
/// let mut resampler = Resampler::new(48_000, 16_000)?;
/// let mut out = Vec::new();
/// for chunk in vec![0.0f32; 48_000].chunks(4096) {
///     resampler.process(chunk, &mut out)?;
/// }
/// resampler.finish(&mut out);
/// assert_eq!(out.len(), 16_000);
/// # Ok::<(), lantern_audio::AudioError>(())
/// ```
pub struct Resampler {
    /// Output step in input samples is `down / up`.
    up: u64,
    down: u64,
    /// Coefficients, `phases + 1` rows of `taps`; row `p` is the filter at fractional offset
    /// `p / phases`.
    table: Vec<f32>,
    phases: u64,
    taps: usize,
    half: i64,
    /// Held input; `held[0]` is input sample `base` (negative before the start: zeros).
    held: Vec<f32>,
    base: i64,
    /// Input samples seen, and the next output's index.
    seen: u64,
    next: u64,
    passthrough: bool,
}

impl fmt::Debug for Resampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resampler")
            .field("up", &self.up)
            .field("down", &self.down)
            .field("phases", &self.phases)
            .field("taps", &self.taps)
            .field("held", &self.held.len())
            .finish_non_exhaustive()
    }
}

impl Resampler {
    pub fn new(from_rate: u32, to_rate: u32) -> Result<Self, AudioError> {
        check_rate(from_rate)?;
        check_rate(to_rate)?;
        let g = gcd(u64::from(from_rate), u64::from(to_rate));
        let (up, down) = (u64::from(to_rate) / g, u64::from(from_rate) / g);
        // Measured in input samples: the band edge scales with the lower rate.
        let ratio = (up as f64 / down as f64).min(1.0);
        let half = (HALF_TAPS_AT_LOWER_RATE / ratio).ceil() as i64;
        let taps = 2 * half as usize;
        let phases = if (up as usize + 1) * taps <= MAX_TABLE {
            up
        } else {
            (MAX_TABLE / taps - 1).clamp(64, 512) as u64
        };
        let cutoff = 0.5 * ratio * CUTOFF;
        let table = design(phases, taps, half, cutoff);
        Ok(Self {
            up,
            down,
            table,
            phases,
            taps,
            half,
            held: vec![0.0; half as usize - 1],
            base: 1 - half,
            seen: 0,
            next: 0,
            passthrough: up == down,
        })
    }

    /// Input samples held between calls: at most the filter's span plus one chunk.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Appends to `out` every output sample that `input` completes.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        if let Some(i) = input.iter().position(|s| !s.is_finite()) {
            return Err(AudioError::NonFiniteSample {
                index: self.seen as usize + i,
            });
        }
        self.seen += input.len() as u64;
        if self.passthrough {
            out.extend_from_slice(input);
            return Ok(());
        }
        self.held.extend_from_slice(input);
        self.run(out, self.seen as i64);
        Ok(())
    }

    /// Appends the outputs that the end of the input completes (as if silence followed).
    pub fn finish(mut self, out: &mut Vec<f32>) {
        if self.passthrough {
            return;
        }
        let total = (u128::from(self.seen) * u128::from(self.up)).div_ceil(u128::from(self.down));
        let total = total as u64;
        while self.next < total {
            self.held.resize(self.held.len() + self.taps, 0.0);
            let available = self.base + self.held.len() as i64;
            self.run_until(out, available, total);
        }
    }

    fn run(&mut self, out: &mut Vec<f32>, available: i64) {
        self.run_until(out, available, u64::MAX);
    }

    /// Produces outputs while their filter span lies inside the first `available` input
    /// samples, then drops the input no later output needs.
    fn run_until(&mut self, out: &mut Vec<f32>, available: i64, limit: u64) {
        while self.next < limit {
            let t = u128::from(self.next) * u128::from(self.down);
            let whole = (t / u128::from(self.up)) as i64;
            let numerator = (t % u128::from(self.up)) as u64;
            let first = whole - self.half + 1;
            if first + self.taps as i64 > available {
                break;
            }
            let start = (first - self.base) as usize;
            let x = &self.held[start..start + self.taps];
            out.push(self.filter(x, numerator));
            self.next += 1;
        }
        let t = u128::from(self.next) * u128::from(self.down);
        let first = (t / u128::from(self.up)) as i64 - self.half + 1;
        let drop = (first - self.base).clamp(0, self.held.len() as i64) as usize;
        self.held.drain(..drop);
        self.base += drop as i64;
    }

    fn filter(&self, x: &[f32], numerator: u64) -> f32 {
        let row = |p: usize| &self.table[p * self.taps..(p + 1) * self.taps];
        if self.phases == self.up {
            return dot(x, row(numerator as usize));
        }
        let position = numerator as f64 * self.phases as f64 / self.up as f64;
        let p = position.floor();
        let frac = (position - p) as f32;
        let a = dot(x, row(p as usize));
        if frac == 0.0 {
            a
        } else {
            a + frac * (dot(x, row(p as usize + 1)) - a)
        }
    }
}

/// `phases + 1` rows of `taps` coefficients; row `p`, tap `j` is the windowed sinc at
/// `p / phases + half - 1 - j` input samples from the output time. Each row is normalised to sum
/// to 1, so that silence stays silence and a constant stays the same constant.
fn design(phases: u64, taps: usize, half: i64, cutoff: f64) -> Vec<f32> {
    let i0_beta = bessel_i0(KAISER_BETA);
    let mut table = Vec::with_capacity((phases as usize + 1) * taps);
    let mut row = vec![0.0f64; taps];
    for p in 0..=phases {
        let phase = p as f64 / phases as f64;
        for (j, c) in row.iter_mut().enumerate() {
            let tau = phase + (half - 1) as f64 - j as f64;
            let u = tau / half as f64;
            *c = if u.abs() >= 1.0 {
                0.0
            } else {
                let x = 2.0 * cutoff * tau;
                let sinc = if x == 0.0 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                2.0 * cutoff * sinc * bessel_i0(KAISER_BETA * (1.0 - u * u).sqrt()) / i0_beta
            };
        }
        let sum: f64 = row.iter().sum();
        table.extend(row.iter().map(|c| (c / sum) as f32));
    }
    table
}

/// The modified Bessel function of the first kind, order 0, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > sum * 1e-17 {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// A dot product in eight lanes, which the compiler vectorises (SSE/AVX natively, simd128 in
/// the browser).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let ((ac, ar), (bc, br)) = (a.as_chunks::<8>(), b.as_chunks::<8>());
    for (x, y) in ac.iter().zip(bc) {
        for ((l, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *l += x * y;
        }
    }
    let tail: f32 = ar.iter().zip(br).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_i0_known_values() {
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        // numpy.i0(1.0), numpy.i0(7.857)
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_4).abs() < 1e-14);
        assert!((bessel_i0(7.857) / 374.073_710_87 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn tables_stay_small() {
        for (from, to) in [
            (44_100, 16_000),
            (383_996, 4_000),
            (44_057, 16_000),
            (4_001, 384_000),
        ] {
            let r = Resampler::new(from, to).unwrap();
            assert!(
                r.table.len() <= MAX_TABLE + r.taps * 520,
                "{from} -> {to}: {r:?}"
            );
        }
    }
}
