//! The benchmark's inputs (issue 4): 64 short sentences and 8 long texts that fill
//! all-MiniLM-L6-v2's 256-token window. Generated, not random, so every run and every peer
//! embeds exactly the same texts.

pub const SHORT: usize = 64;
pub const LONG: usize = 8;

pub fn short_sentences() -> Vec<String> {
    let subjects = [
        "A man",
        "A woman",
        "The child",
        "An old dog",
        "Two friends",
        "The teacher",
        "A farmer",
        "The pilot",
    ];
    let actions = [
        "is reading a book in the park",
        "walks slowly along the river",
        "is cooking dinner for the family",
        "plays the guitar on the street",
        "is repairing a bicycle",
        "watches the rain from a window",
        "is painting the old fence",
        "drinks coffee at the station",
    ];
    subjects
        .iter()
        .flat_map(|s| actions.iter().map(move |a| format!("{s} {a}.")))
        .take(SHORT)
        .collect()
}

/// Long enough to be truncated at 256 tokens (each is about 330 tokens).
pub fn long_texts() -> Vec<String> {
    let base = "The lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a lamp, \
                a logbook and a flask of tea, and from the gallery he watched the fishing boats return \
                through the narrow channel between the rocks while gulls circled overhead. ";
    (0..LONG)
        .map(|i| format!("Night {i}. {}", base.repeat(6)))
        .collect()
}
