//! Stop strings: text is released only once it cannot be the start of a stop string, so a
//! stop string is never streamed, and the output ends right before the first one.

/// Holds back generated text that might turn out to start a stop string.
#[derive(Debug, Clone)]
pub struct StopFilter {
    stops: Vec<String>,
    pending: String,
}

impl StopFilter {
    pub fn new(stops: &[String]) -> StopFilter {
        StopFilter {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            pending: String::new(),
        }
    }

    /// Adds `text`; returns what can be released, and whether a stop string was reached (the
    /// returned text then ends right before it, and nothing after it is kept).
    pub fn push(&mut self, text: &str) -> (String, bool) {
        self.pending.push_str(text);
        if let Some(at) = self
            .stops
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min()
        {
            let out = self.pending[..at].to_owned();
            self.pending.clear();
            return (out, true);
        }
        // Keep the longest suffix that is a proper prefix of some stop string.
        let mut keep = 0;
        for s in &self.stops {
            for (i, _) in self.pending.char_indices() {
                let tail = &self.pending[i..];
                if tail.len() < s.len() && s.starts_with(tail) {
                    keep = keep.max(tail.len());
                    break;
                }
            }
        }
        let cut = self.pending.len() - keep;
        let out = self.pending[..cut].to_owned();
        self.pending.drain(..cut);
        (out, false)
    }

    /// What is left at the end of generation (no stop string followed it).
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_text_that_cannot_start_a_stop_string() {
        let mut f = StopFilter::new(&["\nUser:".to_owned()]);
        assert_eq!(f.push("Hello"), ("Hello".to_owned(), false));
        assert_eq!(f.push(" there\nUs"), (" there".to_owned(), false));
        assert_eq!(f.push("ually"), ("\nUsually".to_owned(), false));
        assert_eq!(f.push("\nUser: hi"), (String::new(), true));
    }

    #[test]
    fn stops_inside_one_chunk_and_flushes_the_rest() {
        let mut f = StopFilter::new(&["END".to_owned(), "STOP".to_owned()]);
        assert_eq!(f.push("abc STOP d END"), ("abc ".to_owned(), true));
        let mut f = StopFilter::new(&["END".to_owned()]);
        assert_eq!(f.push("xyz EN"), ("xyz ".to_owned(), false));
        assert_eq!(f.flush(), "EN");
    }

    #[test]
    fn handles_multibyte_text() {
        let mut f = StopFilter::new(&["é!".to_owned()]);
        assert_eq!(f.push("café"), ("caf".to_owned(), false));
        assert_eq!(f.push("!"), (String::new(), true));
    }
}
