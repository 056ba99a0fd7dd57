//! BM25's length normalisation `b` on top of tantivy, whose `k1` (1.2) and `b` (0.75) are
//! constants.
//!
//! Tantivy scores a term with `tf · (k1 + 1) / (tf + k1 · (1 − B + B · dl / avgdl))`, reading
//! `avgdl` from the statistics provider memd already supplies. Reporting `avgdl · F` instead of
//! `avgdl` turns the denominator's norm into `(1 − B) + (B / F) · dl / avgdl`, which is
//! `c · ((1 − b) + b · dl / avgdl)` with `b = 3 / (F + 3)` and `c = (1 − B) / (1 − b)`: exactly
//! BM25 with that `b` and `k1' = k1 · c = 0.3 / (1 − b)`. So one knob, `b` in `(0, 0.75]`, moves
//! along standard BM25 settings (b 0.75 → k1 1.2, b 0.5 → 0.6, b 0.3 → 0.43) without a custom
//! scorer, and block-max WAND and the tail's brute-force scoring stay consistent with each other.
//!
//! Why lower `b`: memories are short (a chat turn, a fact), and with tantivy's 0.75 a short turn
//! that mentions a query word once outranks a longer one that is about it; on LoCoMo's turns
//! `b = 0.3` gains 0.03 keyword R@10 (docs/BENCHMARKS.md).

/// Tantivy's built-in `b`.
pub(crate) const TANTIVY_B: f32 = 0.75;

/// The factor the average document length is scaled by to score with a given `b`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LengthNorm {
    scale: f64,
}

impl LengthNorm {
    /// The scaling for `b`, clamped to `[0.01, 0.75]` (config validation keeps it in range).
    pub fn for_b(b: f32) -> Self {
        let b = f64::from(b.clamp(0.01, TANTIVY_B));
        let big_b = f64::from(TANTIVY_B);
        // B / F = c · b and (1 − B) = c · (1 − b)  ⇒  F = B (1 − b) / ((1 − B) b).
        Self { scale: big_b * (1.0 - b) / ((1.0 - big_b) * b) }
    }

    /// The total token count to report so that `avgdl` comes out scaled.
    pub fn tokens(self, total: u64) -> u64 {
        (total as f64 * self.scale).round() as u64
    }

    /// The effective `k1` of this setting (for documentation and tests).
    pub fn k1(self) -> f64 {
        1.2 * (1.0 - f64::from(TANTIVY_B)) / (1.0 - self.b())
    }

    /// The `b` this scaling realises.
    pub fn b(self) -> f64 {
        let big_b = f64::from(TANTIVY_B);
        big_b / (big_b + (1.0 - big_b) * self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tantivy's norm with avgdl scaled by F equals c times BM25's norm with `b`.
    fn norms(b: f32, x: f64) -> (f64, f64) {
        let n = LengthNorm::for_b(b);
        let big_b = f64::from(TANTIVY_B);
        let tantivy = (1.0 - big_b) + big_b * x / n.scale;
        let bm25 = (1.0 - n.b()) + n.b() * x;
        (tantivy, bm25)
    }

    #[test]
    fn scaling_is_bm25_with_the_wanted_b() {
        for b in [0.1f32, 0.3, 0.5, 0.75] {
            let n = LengthNorm::for_b(b);
            assert!((n.b() - f64::from(b)).abs() < 1e-6, "{b}");
            let (t0, b0) = norms(b, 0.2);
            let (t1, b1) = norms(b, 3.0);
            // One ratio c for every document length.
            assert!((t0 / b0 - t1 / b1).abs() < 1e-9, "{b}");
        }
        assert_eq!(LengthNorm::for_b(0.75).tokens(1000), 1000);
        assert_eq!(LengthNorm::for_b(0.3).tokens(1000), 7000);
    }

    #[test]
    fn effective_k1_follows_b() {
        assert!((LengthNorm::for_b(0.75).k1() - 1.2).abs() < 1e-9);
        assert!((LengthNorm::for_b(0.5).k1() - 0.6).abs() < 1e-9);
    }
}
