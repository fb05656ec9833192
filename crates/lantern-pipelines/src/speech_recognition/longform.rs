//! Long audio, as OpenAI's `transcribe` reads it: 30 s windows one after another, each
//! decoded with the previous windows' text as its prompt; where a window's last segment is
//! cut off by the window's end, the next window starts at that segment's start, so no word is
//! decoded from half its sound. Only one window's samples, features and encoder output are
//! alive at a time: memory does not grow with the audio's length.

use super::tokens::{FRAMES_PER_POSITION, SpecialTokens, TIME_PRECISION};

/// Mel frames per second (hop 160 at 16 kHz).
pub const FRAMES_PER_SECOND: usize = 100;

/// Prompt tokens carried from earlier windows at most (OpenAI: half the decoder's context,
/// less one for `<|startofprev|>`).
pub const MAX_PROMPT_TOKENS: usize = 223;

/// OpenAI's thresholds for the temperature fallback and for skipping silent windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    /// Tried in order while a result looks wrong.
    pub temperatures: Vec<f32>,
    /// Above this, a result repeats itself.
    pub compression_ratio: f64,
    /// Below this average log-probability, a result is a guess.
    pub logprob: f64,
    /// Above this no-speech probability (and with a low log-probability), a window is silence.
    pub no_speech: f64,
}

impl Default for Fallback {
    fn default() -> Self {
        Fallback {
            temperatures: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            compression_ratio: 2.4,
            logprob: -1.0,
            no_speech: 0.6,
        }
    }
}

impl Fallback {
    /// Whether a result at this temperature should be decoded again hotter.
    pub fn retry(&self, compression_ratio: f64, avg_logprob: f64, no_speech_prob: f64) -> bool {
        let silent = no_speech_prob > self.no_speech && avg_logprob < self.logprob;
        if silent {
            // Silence decodes badly; it is skipped, not retried.
            return false;
        }
        compression_ratio > self.compression_ratio || avg_logprob < self.logprob
    }

    /// Whether a window's result is silence, to be skipped.
    pub fn silent(&self, avg_logprob: f64, no_speech_prob: f64) -> bool {
        no_speech_prob > self.no_speech && avg_logprob <= self.logprob
    }
}

/// A piece of a window's tokens between two timestamps, placed in the audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub start: f64,
    pub end: f64,
    /// The tokens, timestamps included (they go into the next window's prompt as they are).
    pub tokens: Vec<u32>,
}

/// What a window's tokens give: its segments, and how far the next window starts after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub pieces: Vec<Piece>,
    /// Frames to move on by.
    pub advance: usize,
}

/// Splits a window's sampled `tokens` (with timestamps) into segments, OpenAI's way.
/// `offset` is the window's start in seconds, `frames` its real length (at most
/// [`WINDOW_FRAMES`]; less at the audio's end).
pub fn split(tokens: &[u32], special: &SpecialTokens, offset: f64, frames: usize) -> Split {
    let is_ts: Vec<bool> = tokens.iter().map(|&t| special.is_timestamp(t)).collect();
    let n = tokens.len();
    // A window whose tokens end in text then one timestamp ended with its segment closed
    // before the window's end ("single timestamp ending"): the whole window is done.
    let single_ending = n >= 2 && !is_ts[n - 2] && is_ts[n - 1];
    let consecutive: Vec<usize> = (1..n).filter(|&i| is_ts[i - 1] && is_ts[i]).collect();
    let window_s = frames as f64 / FRAMES_PER_SECOND as f64;
    if !consecutive.is_empty() {
        let mut slices = consecutive;
        if single_ending {
            slices.push(n);
        }
        let mut pieces = Vec::new();
        let mut last = 0;
        for &cut in &slices {
            let s = &tokens[last..cut];
            if let (Some(&a), Some(&b)) = (s.first(), s.last()) {
                pieces.push(Piece {
                    start: offset + special.seconds(a),
                    end: offset + special.seconds(b),
                    tokens: s.to_vec(),
                });
            }
            last = cut;
        }
        let advance = if single_ending {
            frames
        } else {
            // The last complete segment's end: the next window starts there.
            let end_pos = tokens
                .get(last.saturating_sub(1))
                .map_or(0, |&t| t.saturating_sub(special.timestamp_begin) as usize);
            (end_pos * FRAMES_PER_POSITION).clamp(1, frames.max(1))
        };
        Split { pieces, advance }
    } else {
        // One segment for the window: up to its last timestamp if it has one past 0.
        let mut duration = window_s;
        if let Some(&last_ts) = tokens.iter().rev().find(|&&t| special.is_timestamp(t))
            && last_ts != special.timestamp_begin
        {
            duration = special.seconds(last_ts);
        }
        Split {
            pieces: vec![Piece {
                start: offset,
                end: offset + duration,
                tokens: tokens.to_vec(),
            }],
            advance: frames.max(1),
        }
    }
}

/// Seconds of `frames` mel frames.
pub fn seconds(frames: usize) -> f64 {
    frames as f64 * (TIME_PRECISION / FRAMES_PER_POSITION as f64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn special() -> SpecialTokens {
        SpecialTokens {
            eot: 100,
            sot: 101,
            sot_prev: 102,
            sot_lm: None,
            transcribe: None,
            translate: None,
            no_timestamps: 105,
            no_speech: None,
            timestamp_begin: 200,
            languages: vec![],
            text_end: 100,
            multilingual: false,
        }
    }

    // <|t|> for t seconds (steps of 0.02 s).
    fn ts(seconds: f64) -> u32 {
        200 + (seconds / 0.02).round() as u32
    }

    #[test]
    fn closed_segments_end_the_window() {
        let s = special();
        let tokens = [ts(0.0), 1, 2, ts(2.0), ts(2.0), 3, ts(4.5)];
        let r = split(&tokens, &s, 30.0, 3000);
        assert_eq!(r.pieces.len(), 2);
        assert_eq!(r.pieces[0].tokens, vec![ts(0.0), 1, 2, ts(2.0)]);
        assert!((r.pieces[0].start - 30.0).abs() < 1e-9 && (r.pieces[0].end - 32.0).abs() < 1e-9);
        assert_eq!(r.pieces[1].tokens, vec![ts(2.0), 3, ts(4.5)]);
        assert!((r.pieces[1].end - 34.5).abs() < 1e-9);
        assert_eq!(r.advance, 3000);
    }

    #[test]
    fn a_cut_off_segment_starts_the_next_window() {
        let s = special();
        // The second segment has no end: the window's end cut it.
        let tokens = [ts(0.0), 1, 2, ts(12.0), ts(12.0), 3, 4];
        let r = split(&tokens, &s, 0.0, 3000);
        assert_eq!(r.pieces.len(), 1);
        assert_eq!(r.advance, 1200);
    }

    #[test]
    fn without_timestamp_pairs_the_window_is_one_segment() {
        let s = special();
        let r = split(&[1, 2, 3], &s, 60.0, 1500);
        assert_eq!(r.pieces.len(), 1);
        assert!((r.pieces[0].end - 75.0).abs() < 1e-9);
        assert_eq!(r.advance, 1500);
        let r = split(&[ts(0.0), 1, 2, ts(3.0)], &s, 0.0, 3000);
        assert_eq!(r.pieces.len(), 1);
        assert!((r.pieces[0].end - 3.0).abs() < 1e-9);
        assert!(split(&[], &s, 0.0, 10).pieces[0].tokens.is_empty());
    }

    #[test]
    fn the_fallback_retries_repetition_and_guesses_not_silence() {
        let f = Fallback::default();
        assert!(f.retry(3.0, -0.2, 0.0));
        assert!(f.retry(1.2, -1.5, 0.1));
        assert!(!f.retry(1.2, -1.5, 0.9));
        assert!(!f.retry(1.2, -0.3, 0.0));
        assert!(f.silent(-1.5, 0.9));
        assert!(!f.silent(-0.2, 0.9));
    }
}
