//! Numbers for people.

/// `94.0 MB`, `512 kB`, `17 B` (decimal units, as download sizes are usually shown).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_bytes() {
        assert_eq!(super::bytes(17), "17 B");
        assert_eq!(super::bytes(98_362_432), "98.4 MB");
        assert_eq!(super::bytes(1_500_000_000), "1.5 GB");
    }
}
