//! The tiny models against transformers' goldens, through the boxed interface a pipeline uses.

use lantern_models::ModelError;
use lantern_models::ops::cpu::Cpu;
use lantern_models::whisper::{Config, Whisper, load_whisper};

use crate::common::ready;
use crate::common::whisper::{WhisperTol, against_goldens, models, weight};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The tensors written here are the ones transformers saved, with the same values.
#[test]
fn the_weights_are_the_scripts() {
    for t in models() {
        for (name, shape, sum) in &t.tensors {
            if t.omit.contains(name) {
                continue;
            }
            let mut v = weight(name, shape);
            if t.f16 {
                v.iter_mut()
                    .for_each(|x| *x = half::f16::from_f32(*x).to_f32());
            }
            let got: f64 = v.iter().map(|&x| f64::from(x)).sum();
            assert!(
                (got - sum).abs() <= 1e-9 * sum.abs().max(1.0),
                "{}: {name}: sum {got} vs {sum}",
                t.name
            );
        }
    }
}

#[test]
fn tiny_models_match_transformers() {
    for t in models() {
        let model = load_whisper(&t.cfg, &t.safetensors()).unwrap();
        let (enc, logits) = ready(against_goldens(&*model, &t));
        let tol = WhisperTol::F32;
        crate::log(&format!(
            "measured {} on the CPU: encoder output {enc:.2e} (tolerance {:.0e}), logits \
             {logits:.2e} ({:.0e})",
            t.name, tol.encoder, tol.logits
        ));
        assert!(enc <= tol.encoder && logits <= tol.logits, "{}", t.name);
    }
}

/// `WhisperModel`'s names (no `model.` prefix) give the same model.
#[test]
fn bare_names_are_the_same_model() {
    let t = &models()[0];
    let bare = t.safetensors_with(|n| n.strip_prefix("model.").unwrap_or(n).to_owned());
    let (a, b) = (
        Whisper::load(Cpu, &t.cfg, &t.safetensors()).unwrap(),
        Whisper::load(Cpu, &t.cfg, &bare).unwrap(),
    );
    let mel = t.mel();
    let (ma, mb) = (
        a.encode(&mel, t.cfg.n_frames()).unwrap(),
        b.encode(&mel, t.cfg.n_frames()).unwrap(),
    );
    assert_eq!(
        a.encoder_output(&ma).unwrap(),
        b.encoder_output(&mb).unwrap()
    );
    let (mut sa, mut sb) = (a.start(&ma).unwrap(), b.start(&mb).unwrap());
    assert_eq!(
        a.step(&mut sa, &t.a.0).unwrap(),
        b.step(&mut sb, &t.a.0).unwrap()
    );
}

/// The generic model and the boxed one are the same code; a state keeps its tokens when a
/// step fails.
#[test]
fn a_failed_step_leaves_the_state_as_it_was() {
    let t = &models()[0];
    let m = Whisper::load(Cpu, &t.cfg, &t.safetensors()).unwrap();
    let memory = m.encode(&t.mel(), t.cfg.n_frames()).unwrap();
    let mut s = m.start(&memory).unwrap();
    let first = m.step(&mut s, &t.a.0[..4]).unwrap();
    let vocab = t.cfg.vocab_size as u32;
    assert!(matches!(
        m.step(&mut s, &[5, vocab]),
        Err(ModelError::TokenOutOfRange { .. })
    ));
    let room = t.cfg.max_target_positions - 4;
    assert!(matches!(
        m.step(&mut s, &vec![5; room + 1]),
        Err(ModelError::ContextOverflow { requested, max }) if requested == t.cfg.max_target_positions + 1 && max == t.cfg.max_target_positions
    ));
    assert!(matches!(
        m.step(&mut s, &[]),
        Err(ModelError::InvalidInput { .. })
    ));
    assert_eq!(s.len(), 4);
    let next = m.step(&mut s, &t.a.0[4..5]).unwrap();
    let want = &t.a.1[4];
    assert!(crate::common::max_diff(&next, want) <= WhisperTol::F32.logits);
    // Filling the context exactly is allowed.
    let mut full = m.start(&memory).unwrap();
    m.step(&mut full, &vec![5; t.cfg.max_target_positions])
        .unwrap();
    assert!(matches!(
        m.step(&mut full, &[5]),
        Err(ModelError::ContextOverflow { .. })
    ));
    assert_eq!(first.len(), t.cfg.vocab_size);
    let _: &Config = m.config();
}
