//! `lantern run <task>`: one file per task.

pub mod feature_extraction;
pub mod text_generation;
