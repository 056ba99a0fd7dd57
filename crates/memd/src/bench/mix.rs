//! The operation mix: `search=70,add=20,promote=5,get=5` → weighted choice of the next operation.

use std::fmt;
use std::str::FromStr;

use super::rng::Rng;

/// One kind of request the load generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Search,
    Add,
    Promote,
    Get,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Search, Op::Add, Op::Promote, Op::Get];

    pub fn name(self) -> &'static str {
        match self {
            Op::Search => "search",
            Op::Add => "add",
            Op::Promote => "promote",
            Op::Get => "get",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Relative weights per operation; at least one is positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    weights: [u32; 4],
}

impl Mix {
    pub fn weight(&self, op: Op) -> u32 {
        self.weights[op.index()]
    }

    fn total(&self) -> u32 {
        self.weights.iter().sum()
    }

    /// Draws the next operation in proportion to the weights.
    pub fn choose(&self, rng: &mut Rng) -> Op {
        let mut x = rng.below(self.total() as usize) as u32;
        for op in Op::ALL {
            let w = self.weight(op);
            if x < w {
                return op;
            }
            x -= w;
        }
        unreachable!("weights sum to total")
    }

    /// The operations with a positive weight.
    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        Op::ALL.into_iter().filter(|&op| self.weight(op) > 0)
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(s: &str) -> Result<Mix, String> {
        let mut weights = [0u32; 4];
        let mut seen = [false; 4];
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, w) = part.split_once('=').ok_or_else(|| format!("`{part}`: expected op=weight"))?;
            let op = Op::ALL
                .into_iter()
                .find(|op| op.name() == name.trim())
                .ok_or_else(|| format!("unknown operation `{}` (search, add, promote, get)", name.trim()))?;
            let w: u32 = w.trim().parse().map_err(|_| format!("`{part}`: weight must be a whole number"))?;
            if std::mem::replace(&mut seen[op.index()], true) {
                return Err(format!("`{}` given twice", op.name()));
            }
            weights[op.index()] = w;
        }
        let mix = Mix { weights };
        if mix.total() == 0 || mix.total() > 1_000_000 {
            return Err("weights must sum to between 1 and 1000000".into());
        }
        Ok(mix)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.ops().map(|op| format!("{}={}", op.name(), self.weight(op))).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_default_mix() {
        let m: Mix = "search=70,add=20,promote=5,get=5".parse().unwrap();
        assert_eq!(m.weight(Op::Search), 70);
        assert_eq!(m.weight(Op::Get), 5);
        assert_eq!(m.to_string(), "search=70,add=20,promote=5,get=5");
    }

    #[test]
    fn single_op_and_zero_weights_and_spaces() {
        let m: Mix = " search = 100 ".parse().unwrap();
        assert_eq!(m.ops().collect::<Vec<_>>(), vec![Op::Search]);
        let m: Mix = "add=0,search=1".parse().unwrap();
        assert_eq!(m.to_string(), "search=1");
        let mut rng = Rng::new(1);
        assert!((0..1000).all(|_| m.choose(&mut rng) == Op::Search));
    }

    #[test]
    fn rejects_bad_input() {
        for bad in ["", "search", "search=x", "fly=3", "search=1,search=2", "search=0", "add=-1"] {
            assert!(bad.parse::<Mix>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn choice_follows_the_weights() {
        let m: Mix = "search=70,add=20,promote=5,get=5".parse().unwrap();
        let mut rng = Rng::new(11);
        let mut counts = [0usize; 4];
        for _ in 0..100_000 {
            counts[m.choose(&mut rng).index()] += 1;
        }
        let share = |op: Op| counts[op.index()] as f64 / 1000.0;
        assert!((share(Op::Search) - 70.0).abs() < 1.5, "{counts:?}");
        assert!((share(Op::Add) - 20.0).abs() < 1.0, "{counts:?}");
        assert!((share(Op::Get) - 5.0).abs() < 0.6, "{counts:?}");
    }
}
