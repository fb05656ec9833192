//! The tiny models against transformers' goldens, through the boxed interface a pipeline uses.

use lantern_models::ModelError;
use lantern_models::ops::cpu::Cpu;
use lantern_models::seq2seq::{Family, Seq2Seq, load_seq2seq};

use crate::common::ready;
use crate::common::seq2seq::{TOL, against_goldens, models};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn tiny_models_match_transformers() {
    let all = models();
    let families: Vec<Family> = all.iter().map(|t| t.cfg.family).collect();
    assert_eq!(
        families,
        [Family::Marian, Family::T5, Family::T5, Family::Bart]
    );
    assert!(!all[1].cfg.gated_ffn && all[2].cfg.gated_ffn);
    assert!(all[1].cfg.tie_word_embeddings && !all[2].cfg.tie_word_embeddings);
    for t in all {
        let model = load_seq2seq(&t.cfg, t.file).unwrap();
        let (enc, logits) = ready(against_goldens(&*model, &t));
        crate::log(&format!(
            "measured {} on the CPU: encoder output {enc:.2e}, logits {logits:.2e} (tolerance \
             {TOL:.0e})",
            t.name
        ));
        assert!(enc <= TOL && logits <= TOL, "{}", t.name);
    }
}

/// A step that fails (a token out of range, past the last position, no token) leaves the
/// state as it was; the context can be filled exactly.
#[test]
fn a_failed_step_leaves_the_state_as_it_was() {
    for t in models() {
        let m = Seq2Seq::load(Cpu, &t.cfg, t.file).unwrap();
        let case = &t.cases[0];
        let memory = m.encode(&case.input_ids).unwrap();
        let mut s = m.start(&memory).unwrap();
        let ids = &case.decoder_input_ids;
        m.step(&mut s, &ids[..2]).unwrap();
        let vocab = t.cfg.vocab_size as u32;
        assert!(matches!(
            m.step(&mut s, &[5, vocab]),
            Err(ModelError::TokenOutOfRange { id, .. }) if id == vocab
        ));
        let max = t.cfg.max_positions();
        assert!(matches!(
            m.step(&mut s, &vec![5; max - 1]),
            Err(ModelError::ContextOverflow { requested, max: m }) if requested == max + 1 && m == max
        ));
        assert!(matches!(
            m.step(&mut s, &[]),
            Err(ModelError::InvalidInput { .. })
        ));
        assert_eq!(s.len(), 2, "{}", t.name);
        let next = m.step(&mut s, &ids[2..3]).unwrap();
        assert!(
            crate::common::max_diff(&next, &case.logits[2]) <= TOL,
            "{}",
            t.name
        );
        // Filling the context exactly is allowed (T5's is a bound of Lantern's: one pass).
        if t.cfg.max_position_embeddings.is_some() {
            let mut full = m.start(&memory).unwrap();
            m.step(&mut full, &vec![5; max]).unwrap();
            assert!(matches!(
                m.step(&mut full, &[5]),
                Err(ModelError::ContextOverflow { .. })
            ));
        }
    }
}

/// Beams that cannot be one batch are refused, and leave their states as they were: of
/// different lengths, of different inputs, a token count other than one per beam, none.
#[test]
fn beams_that_are_not_one_batch_are_refused() {
    for t in models() {
        let m = load_seq2seq(&t.cfg, t.file).unwrap();
        let case = &t.cases[0];
        let memory = m.encode(&case.input_ids).unwrap();
        let other = m.encode(&case.input_ids).unwrap();
        let ids = &case.decoder_input_ids;
        let mut a = m.start(&memory).unwrap();
        m.step(&mut a, &ids[..2]).unwrap();
        let b = m.fork(&a).unwrap();
        let mut shorter = m.start(&memory).unwrap();
        m.step(&mut shorter, &ids[..1]).unwrap();
        let mut foreign = m.start(&other).unwrap();
        m.step(&mut foreign, &ids[..2]).unwrap();
        let mut lengths = vec![m.fork(&a).unwrap(), shorter];
        let mut inputs = vec![m.fork(&a).unwrap(), foreign];
        let mut fine = vec![m.fork(&a).unwrap(), b];
        let refused = |states: &mut Vec<lantern_models::seq2seq::AnyState>, tokens: &[u32]| {
            let before: Vec<usize> = states.iter().map(|s| s.len()).collect();
            assert!(
                matches!(
                    m.step_beams(states, tokens),
                    Err(ModelError::InvalidInput { .. })
                ),
                "{}",
                t.name
            );
            let after: Vec<usize> = states.iter().map(|s| s.len()).collect();
            assert_eq!(before, after, "{}", t.name);
        };
        refused(&mut lengths, &[5, 6]);
        refused(&mut inputs, &[5, 6]);
        refused(&mut fine, &[5, 6, 7]);
        refused(&mut fine, &[5]);
        refused(&mut Vec::new(), &[5]);
        let got = m.step_beams(&mut fine, &ids[2..4]).unwrap();
        assert_eq!(got.len(), 2);
    }
}

/// The inputs the encoder refuses: none, too many, an id outside the vocabulary.
#[test]
fn bad_inputs_are_typed_errors() {
    for t in models() {
        let m = load_seq2seq(&t.cfg, t.file).unwrap();
        assert!(
            matches!(m.encode(&[]), Err(ModelError::InvalidInput { .. })),
            "{}",
            t.name
        );
        let max = t.cfg.max_positions();
        assert!(matches!(
            m.encode(&vec![5; max + 1]),
            Err(ModelError::ContextOverflow { requested, max: m }) if requested == max + 1 && m == max
        ));
        let vocab = t.cfg.vocab_size as u32;
        for bad in [vocab, u32::MAX] {
            assert!(matches!(
                m.encode(&[5, bad, 1]),
                Err(ModelError::TokenOutOfRange { id, .. }) if id == bad
            ));
        }
        // The longest input is taken (Marian and BART: max_position_embeddings).
        if t.cfg.max_position_embeddings.is_some() {
            let memory = m.encode(&vec![5; max]).unwrap();
            assert_eq!(
                m.encoder_output(&memory).unwrap().len(),
                max * t.cfg.d_model
            );
        }
    }
}

/// Memories and states of one family are refused by another.
#[test]
fn a_memory_of_another_model_is_refused() {
    let all = models();
    let (marian, t5) = (
        load_seq2seq(&all[0].cfg, all[0].file).unwrap(),
        load_seq2seq(&all[1].cfg, all[1].file).unwrap(),
    );
    let memory = marian.encode(&all[0].cases[0].input_ids).unwrap();
    let mut state = marian.start(&memory).unwrap();
    marian.step(&mut state, &[0]).unwrap();
    // The same shapes (2 + 2 layers, 2 heads of 16): only the memory's model tells them apart.
    let refused = |e: ModelError| matches!(e, ModelError::InvalidInput { .. });
    assert!(refused(t5.step(&mut state, &[0]).unwrap_err()));
    assert!(refused(t5.start(&memory).unwrap_err()));
    assert!(refused(t5.fork(&state).unwrap_err()));
    // Another load of the same file is another model too.
    let again = load_seq2seq(&all[0].cfg, all[0].file).unwrap();
    assert!(refused(again.start(&memory).unwrap_err()));
    assert_eq!(state.len(), 1);
    // Whisper's memories are the same type (`encoder_decoder::Memory`) and refused the same way.
    let w = &crate::common::whisper::models()[0];
    let whisper = lantern_models::whisper::load_whisper(&w.cfg, &w.safetensors()).unwrap();
    let speech = whisper.encode(&w.mel(), w.cfg.n_frames()).unwrap();
    assert!(refused(marian.start(&speech).unwrap_err()));
    let mut heard = whisper.start(&speech).unwrap();
    assert!(refused(marian.step(&mut heard, &[0]).unwrap_err()));
    assert!(refused(whisper.start(&memory).unwrap_err()));
}
