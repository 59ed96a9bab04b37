//! A map kept as a vector of pairs. The maps in the machines hold a handful of entries (requests in flight,
//! active runs), where a linear scan beats a tree, and every `BTreeMap` instantiation would cost kilobytes
//! of WebAssembly.

/// Insertion-ordered map with linear lookup.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K: PartialEq, V> VecMap<K, V> {
    fn position(&self, key: &K) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.position(key).is_some()
    }

    /// Inserts or replaces.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        match self.position(&key) {
            Some(i) => self.0[i].1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.position(key)?;
        Some(self.0.remove(i).1)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &(K, V)> {
        self.0.iter()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut (K, V)> {
        self.0.iter_mut()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.0.retain(|(k, v)| keep(k, v));
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    pub(crate) fn take(&mut self) -> Vec<(K, V)> {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn behaves_like_a_map_in_insertion_order() {
        let mut map = VecMap::default();
        map.insert(3, "c");
        map.insert(1, "a");
        map.insert(3, "C");
        assert_eq!(map.get(&3), Some(&"C"));
        assert_eq!(map.keys().copied().collect::<Vec<_>>(), [3, 1]);
        assert_eq!(map.remove(&3), Some("C"));
        assert_eq!(map.remove(&3), None);
        assert!(map.contains_key(&1) && !map.contains_key(&3));
        *map.get_mut(&1).unwrap() = "A";
        assert_eq!(map.take(), vec![(1, "A")]);
        assert!(map.is_empty());
    }
}
