//! A first-in first-out queue kept as a vector. The machines' queues hold a handful of items and are drained
//! after every input, so taking from the front by shifting is cheap; every `VecDeque` instantiation would
//! cost about half a kilobyte of WebAssembly.

/// A queue with `VecDeque`'s names for the few operations used here.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Queue<T>(Vec<T>);

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue(Vec::new())
    }
}

impl<T> Queue<T> {
    pub(crate) fn new() -> Self {
        Queue(Vec::new())
    }

    pub(crate) fn push_back(&mut self, item: T) {
        self.0.push(item);
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.0.is_empty() { None } else { Some(self.0.remove(0)) }
    }

    pub(crate) fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.0.retain(keep);
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

impl<T> Extend<T> for Queue<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        self.0.extend(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn first_in_first_out() {
        let mut q = Queue::new();
        q.push_back(1);
        q.push_back(2);
        q.extend([3, 4]);
        q.retain(|n| *n != 2);
        assert_eq!(q.pop_front(), Some(1));
        assert_eq!(q.pop_front(), Some(3));
        q.clear();
        assert_eq!(q.pop_front(), None);
    }
}
