//! Each task's payload in the protocol: what a [`Request::Run`] carries in, and what an
//! [`Event::Output`] carries back. Text generation streams instead (`Generate`, `Token`, `Done`).
//!
//! The shapes follow transformers' pipelines where one exists (a list of `{label, score}` per
//! input, best first), so a script reads Lantern's JSON and transformers' alike.
//!
//! [`Request::Run`]: super::Request::Run
//! [`Event::Output`]: super::Event::Output

use serde::{Deserialize, Serialize};

use super::wire::Binary;
use crate::Task;

/// What a one-shot task runs on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "kebab-case")]
pub enum TaskInput {
    /// `feature-extraction` / `sentence-similarity`: one vector per sentence.
    Embeddings {
        sentences: Vec<String>,
    },
    TextClassification(ClassifyInput),
    SpeechRecognition(TranscribeInput),
    ImageClassification(ImageClassifyInput),
    ObjectDetection(DetectInput),
    /// `translation`: the text in one language, out in another (Marian, T5, BART).
    Translation(Text2TextInput),
    /// `summarization`: a long text, out a short one.
    Summarization(Text2TextInput),
}

impl TaskInput {
    /// Whether a model loaded for `task` takes this input.
    pub fn fits(&self, task: Task) -> bool {
        match self {
            TaskInput::Embeddings { .. } => {
                matches!(task, Task::FeatureExtraction | Task::SentenceSimilarity)
            }
            TaskInput::TextClassification(_) => task == Task::TextClassification,
            TaskInput::SpeechRecognition(_) => task == Task::AutomaticSpeechRecognition,
            TaskInput::ImageClassification(_) => task == Task::ImageClassification,
            TaskInput::ObjectDetection(_) => task == Task::ObjectDetection,
            TaskInput::Translation(_) => task == Task::Translation,
            TaskInput::Summarization(_) => task == Task::Summarization,
        }
    }
}

/// Texts (or text pairs) to classify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassifyInput {
    pub inputs: Vec<TextInput>,
    /// The best `k` labels per input; `None`: every label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
}

/// One text, or a pair (NLI premise and hypothesis; a query and a passage for a cross-encoder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextInput {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_pair: Option<String>,
}

impl TextInput {
    pub fn new(text: impl Into<String>) -> Self {
        TextInput {
            text: text.into(),
            text_pair: None,
        }
    }

    pub fn pair(text: impl Into<String>, text_pair: impl Into<String>) -> Self {
        TextInput {
            text: text.into(),
            text_pair: Some(text_pair.into()),
        }
    }
}

/// What a one-shot task gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "kebab-case")]
pub enum TaskOutput {
    Embeddings { vectors: Vec<Vec<f32>>, dim: usize },
    TextClassification(Labels),
    SpeechRecognition(Transcript),
    ImageClassification(ImageLabels),
    ObjectDetection(Detections),
    Translation(GeneratedText),
    Summarization(GeneratedText),
}

/// Part of a `Run`'s answer, sent before its `Output` by the tasks that take long (an
/// `Event::Partial`): the page shows the transcript growing instead of a spinner for minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Partial {
    /// `done_s` of `total_s` seconds of audio are transcribed (one per 30 s window).
    SpeechProgress { done_s: f64, total_s: f64 },
    /// A finished segment of the transcript, in order (a whole window's span without
    /// timestamps).
    SpeechSegment(Chunk),
    /// The spoken language, as detected (before the first segment).
    SpeechLanguage { language: String },
    /// A text-to-text task's best hypothesis so far (the best beam's text after a step), and
    /// how many tokens it holds: the page shows the text growing.
    GeneratedText { text: String, tokens: usize },
}

/// A text for a text-to-text task (translation, summarization) and how to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Text2TextInput {
    pub text: String,
    #[serde(default)]
    pub options: Text2TextOptions,
}

impl Text2TextInput {
    /// `text` with the model's defaults.
    pub fn new(text: impl Into<String>) -> Self {
        Text2TextInput {
            text: text.into(),
            options: Text2TextOptions::default(),
        }
    }
}

/// How to generate. Every field is optional: `None` takes the model's default, from its
/// `generation_config.json` (or `config.json`), as transformers' `generate` does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Text2TextOptions {
    /// Beam search width; 1: greedy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_beams: Option<usize>,
    /// New tokens at most (the decoder start token not counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_new_tokens: Option<usize>,
    /// The shortest output, in tokens with the decoder start token (transformers'
    /// `min_length`): EOS is refused before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    /// A finished beam's score is its log-probability over `length ^ length_penalty`: above 0
    /// favours longer outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_penalty: Option<f32>,
    /// No n-gram of this size appears twice in the output (0: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_repeat_ngram_size: Option<usize>,
    /// Above 1: tokens already in the output are less likely (CTRL's penalty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f32>,
    /// When beam search stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStopping>,
    /// T5: the key of `config.json`'s `task_specific_params` whose prefix to use (e.g.
    /// `translation_en_to_fr`); `None`: the task's own (`summarization`, or the model's
    /// translation pair).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_params: Option<String>,
}

/// transformers' `early_stopping`: `true` stops a beam search as soon as `num_beams`
/// hypotheses have ended; `false` stops when no running beam can beat the worst of them by
/// a heuristic; `"never"` only when none can in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EarlyStopping {
    Bool(bool),
    Never(Never),
}

/// The word `"never"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Never {
    Never,
}

/// A text-to-text task's output: transformers' `translation_text` / `summary_text` as `text`,
/// and what was generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedText {
    pub text: String,
    /// The generated ids, the decoder start token and a final EOS included (transformers'
    /// `generate()` output).
    pub tokens: Vec<u32>,
    /// Tokens of the input the model read (after a task prefix and any truncation).
    pub input_tokens: usize,
    /// Tokens generated (the decoder start token not counted).
    pub generated_tokens: usize,
    /// Things the user should know (an input cut to the model's length).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Labels per input, best first: `results[i]` belongs to input `i`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    pub results: Vec<Vec<LabelScore>>,
    /// Things the user should know about the result (an input cut to the model's length).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
}

/// Audio to transcribe: samples as the page decoded them (any rate, channels interleaved), as
/// one buffer of little-endian `f32` that the page transfers to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscribeInput {
    pub samples: Binary,
    pub sample_rate: u32,
    #[serde(default = "one_channel")]
    pub channels: u16,
    #[serde(default)]
    pub options: TranscribeOptions,
}

fn one_channel() -> u16 {
    1
}

impl TranscribeInput {
    /// Mono samples as a payload.
    pub fn mono(samples: &[f32], sample_rate: u32, options: TranscribeOptions) -> Self {
        TranscribeInput {
            samples: Binary::Bytes(samples.iter().flat_map(|s| s.to_le_bytes()).collect()),
            sample_rate,
            channels: 1,
            options,
        }
    }
}

/// How to transcribe; every field has OpenAI's and transformers' default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscribeOptions {
    /// A code (`en`) or an English name (`english`); `None`: detected by a multilingual model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default)]
    pub task: SpeechTask,
    /// Segment timestamps (`chunks`).
    #[serde(default)]
    pub timestamps: bool,
    /// Beam search width; `None` or 1: greedy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_beams: Option<usize>,
}

/// Transcribe in the spoken language, or translate into English.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpeechTask {
    #[default]
    Transcribe,
    Translate,
}

/// An image for a vision task. The page sends the pixels of its canvas (the picture decoded
/// by the browser, EXIF orientation applied, scaled down where large); `lantern run` sends the
/// file's bytes, which the pipeline decodes as transformers' pipelines load a file (PIL,
/// `exif_transpose`, `convert("RGB")`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageData {
    /// RGBA, 8 bits a channel, row-major, top row first (`width × height × 4` bytes: what a
    /// canvas's `getImageData` gives). Alpha is dropped, as `convert("RGB")` drops it.
    Rgba {
        pixels: Binary,
        width: u32,
        height: u32,
    },
    /// An image file: PNG, JPEG, WebP, GIF (its first frame) or BMP.
    Encoded { bytes: Binary },
}

/// An image to classify.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageClassifyInput {
    pub image: ImageData,
    /// The best `k` labels (at most the model's number of labels); `None`: 5, transformers'
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
}

/// An image to find objects in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectInput {
    pub image: ImageData,
    /// Detections scoring above this are kept; `None`: 0.5, transformers' default. The page
    /// asks for every detection (0) and filters with its slider without running again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
}

/// An image's labels, best first: transformers' `pipeline("image-classification")` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageLabels {
    pub labels: Vec<LabelScore>,
}

/// What a detector found: transformers' `pipeline("object-detection")` output, one entry per
/// prediction above the threshold, in the model's order (not sorted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detections {
    pub detections: Vec<Detection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub score: f32,
    pub label: String,
    #[serde(rename = "box")]
    pub bbox: BoundingBox,
}

/// A box's corners in pixels of the input image, truncated to integers as transformers'
/// pipeline does (`box.int()`); a box reaching past the image may have corners outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundingBox {
    pub xmin: i32,
    pub ymin: i32,
    pub xmax: i32,
    pub ymax: i32,
}

/// A transcript: the shape of transformers' ASR pipeline with `return_timestamps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub text: String,
    /// Segments with their start and end in seconds (empty without timestamps).
    pub chunks: Vec<Chunk>,
    /// The language's code (detected, or the one asked for).
    pub language: Option<String>,
    /// Seconds of audio heard.
    pub audio_s: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Transcript {
    /// The text, one segment per line where there are segments.
    pub fn to_txt(&self) -> String {
        if self.chunks.is_empty() {
            return format!("{}\n", self.text.trim());
        }
        self.chunks
            .iter()
            .map(|c| format!("{}\n", c.text.trim()))
            .collect()
    }

    /// SubRip subtitles: numbered cues, `HH:MM:SS,mmm` times.
    pub fn to_srt(&self) -> String {
        self.cues()
            .enumerate()
            .map(|(i, (start, end, text))| {
                format!(
                    "{}\n{} --> {}\n{}\n\n",
                    i + 1,
                    clock(start, ','),
                    clock(end, ','),
                    text
                )
            })
            .collect()
    }

    /// WebVTT (what an `<track>` of an `<audio>` or `<video>` reads): `HH:MM:SS.mmm` times.
    pub fn to_vtt(&self) -> String {
        let mut out = String::from("WEBVTT\n\n");
        for (start, end, text) in self.cues() {
            out.push_str(&format!(
                "{} --> {}\n{}\n\n",
                clock(start, '.'),
                clock(end, '.'),
                text
            ));
        }
        out
    }

    /// The cues of a subtitle file: the segments, or the whole text over the whole audio when
    /// there are none (transcribed without timestamps). A cue's text never holds a blank line
    /// or an arrow, which would end the cue or read as a time line.
    fn cues(&self) -> impl Iterator<Item = (f64, f64, String)> + '_ {
        let whole = (self.chunks.is_empty() && !self.text.trim().is_empty())
            .then(|| (0.0, self.audio_s, self.text.clone()));
        self.chunks
            .iter()
            .map(|c| (c.timestamp.0, c.timestamp.1, c.text.clone()))
            .chain(whole)
            .filter_map(|(start, end, text)| {
                let text = text
                    .split('\n')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n")
                    .replace("-->", "->");
                (!text.is_empty()).then_some((start, end.max(start), text))
            })
    }
}

/// `seconds` as `HH:MM:SS` + `separator` + milliseconds (negative or not finite: zero).
fn clock(seconds: f64, separator: char) -> String {
    let ms = if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0).round() as u64
    } else {
        0
    };
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// One segment of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// `[start, end]` in seconds.
    pub timestamp: (f64, f64),
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript(chunks: &[(f64, f64, &str)]) -> Transcript {
        Transcript {
            text: chunks.iter().map(|c| c.2).collect(),
            chunks: chunks
                .iter()
                .map(|&(s, e, t)| Chunk {
                    timestamp: (s, e),
                    text: t.into(),
                })
                .collect(),
            language: Some("en".into()),
            audio_s: 3725.5,
            warnings: vec![],
        }
    }

    #[test]
    fn images_travel_as_attachments_and_outputs_have_transformers_shapes() {
        use crate::protocol::{Request, wire};
        let input = TaskInput::ObjectDetection(DetectInput {
            image: ImageData::Rgba {
                pixels: Binary::Bytes(vec![1, 2, 3, 255]),
                width: 1,
                height: 1,
            },
            threshold: Some(0.25),
        });
        let request = Request::Run { id: 7, input };
        let w = wire::encode(&request).unwrap();
        assert!(
            w.json
                .contains(r#""image":{"rgba":{"pixels":{"attachment":0},"width":1,"height":1}}"#),
            "{}",
            w.json
        );
        assert_eq!(w.attachments, vec![vec![1, 2, 3, 255]]);
        let back: Request = wire::decode(&w.json, w.attachments).unwrap();
        assert_eq!(back, request);

        let input = TaskInput::ImageClassification(ImageClassifyInput {
            image: ImageData::Encoded {
                bytes: Binary::Bytes(b"\x89PNG".to_vec()),
            },
            top_k: None,
        });
        assert!(input.fits(Task::ImageClassification));
        assert!(!input.fits(Task::ObjectDetection));
        let w = wire::encode(&input).unwrap();
        assert_eq!(
            w.json,
            r#"{"task":"image-classification","image":{"encoded":{"bytes":{"attachment":0}}}}"#
        );
        assert_eq!(
            wire::decode::<TaskInput>(&w.json, w.attachments).unwrap(),
            input
        );

        let out = Detections {
            detections: vec![Detection {
                score: 0.5,
                label: "cat".into(),
                bbox: BoundingBox {
                    xmin: 1,
                    ymin: 2,
                    xmax: 3,
                    ymax: 4,
                },
            }],
        };
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"detections":[{"score":0.5,"label":"cat","box":{"xmin":1,"ymin":2,"xmax":3,"ymax":4}}]}"#
        );
    }

    #[test]
    fn subtitles_number_cues_and_write_times_as_players_read_them() {
        let t = transcript(&[
            (0.0, 2.5, " Ever tried."),
            (2.5, 3725.0444, " Ever failed."),
        ]);
        assert_eq!(
            t.to_srt(),
            "1\n00:00:00,000 --> 00:00:02,500\nEver tried.\n\n\
             2\n00:00:02,500 --> 01:02:05,044\nEver failed.\n\n"
        );
        assert_eq!(
            t.to_vtt(),
            "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nEver tried.\n\n\
             00:00:02.500 --> 01:02:05.044\nEver failed.\n\n"
        );
        assert_eq!(t.to_txt(), "Ever tried.\nEver failed.\n");
    }

    #[test]
    fn subtitles_without_segments_span_the_audio_and_cannot_break_a_cue() {
        let mut t = transcript(&[]);
        t.text = " a --> b\n\nc ".into();
        assert_eq!(
            t.to_srt(),
            "1\n00:00:00,000 --> 01:02:05,500\na -> b\nc\n\n"
        );
        assert_eq!(t.to_txt(), "a --> b\n\nc\n");
        let silent = transcript(&[(0.0, 1.0, "  ")]);
        assert_eq!(silent.to_vtt(), "WEBVTT\n\n");
        // A hostile time (NaN, negative, end before start) still gives a valid line.
        let odd = transcript(&[(f64::NAN, -1.0, "x")]);
        assert_eq!(odd.to_srt(), "1\n00:00:00,000 --> 00:00:00,000\nx\n\n");
    }

    #[test]
    fn text2text_inputs_take_transformers_early_stopping_and_default_options() {
        let input: TaskInput = serde_json::from_str(
            r#"{"task":"translation","text":"Hello","options":{"num_beams":4,"early_stopping":"never"}}"#,
        )
        .unwrap();
        let TaskInput::Translation(t) = &input else {
            panic!("{input:?}")
        };
        assert_eq!(t.options.num_beams, Some(4));
        assert_eq!(
            t.options.early_stopping,
            Some(EarlyStopping::Never(Never::Never))
        );
        assert!(input.fits(Task::Translation) && !input.fits(Task::Summarization));
        let bare: TaskInput =
            serde_json::from_str(r#"{"task":"summarization","text":"A long text."}"#).unwrap();
        assert_eq!(
            bare,
            TaskInput::Summarization(Text2TextInput::new("A long text."))
        );
        let stop: Text2TextOptions = serde_json::from_str(r#"{"early_stopping":false}"#).unwrap();
        assert_eq!(stop.early_stopping, Some(EarlyStopping::Bool(false)));
        assert!(serde_json::from_str::<Text2TextOptions>(r#"{"early_stopping":"soon"}"#).is_err());
        // Options left out are left out of the message (the model's defaults apply).
        assert_eq!(
            serde_json::to_string(&Text2TextOptions::default()).unwrap(),
            "{}"
        );
        let out = TaskOutput::Summarization(GeneratedText {
            text: "Short.".into(),
            tokens: vec![2, 0, 7, 2],
            input_tokens: 12,
            generated_tokens: 3,
            warnings: vec![],
        });
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            serde_json::json!({"task": "summarization", "text": "Short.", "tokens": [2, 0, 7, 2],
                "input_tokens": 12, "generated_tokens": 3})
        );
    }
}
