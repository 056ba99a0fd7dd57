//! A bounded, shared pool of memory ids seen so far (from seeding, listings and adds), from
//! which `get` picks the ids it fetches.

use std::sync::{Arc, Mutex};

use super::rng::Rng;

const CAPACITY: usize = 50_000;

#[derive(Clone, Default)]
pub struct IdPool(Arc<Mutex<Pool>>);

#[derive(Default)]
struct Pool {
    ids: Vec<String>,
    /// Replacement cursor once full: old ids are overwritten round-robin.
    next: usize,
}

impl IdPool {
    pub fn push(&self, id: String) {
        let mut p = self.0.lock().expect("id pool lock");
        if p.ids.len() < CAPACITY {
            p.ids.push(id);
        } else {
            let i = p.next % CAPACITY;
            p.ids[i] = id;
            p.next = i + 1;
        }
    }

    pub fn extend(&self, ids: impl IntoIterator<Item = String>) {
        for id in ids {
            self.push(id);
        }
    }

    /// A uniformly chosen id, or `None` while the pool is empty.
    pub fn pick(&self, rng: &mut Rng) -> Option<String> {
        let p = self.0.lock().expect("id pool lock");
        (!p.ids.is_empty()).then(|| p.ids[rng.below(p.ids.len())].clone())
    }

    pub fn len(&self) -> usize {
        self.0.lock().expect("id pool lock").ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_picks_known_ids() {
        let pool = IdPool::default();
        let mut rng = Rng::new(1);
        assert!(pool.pick(&mut rng).is_none());
        pool.extend((0..CAPACITY + 10).map(|i| i.to_string()));
        assert_eq!(pool.len(), CAPACITY);
        let id: usize = pool.pick(&mut rng).unwrap().parse().unwrap();
        assert!(id < CAPACITY + 10);
    }
}
