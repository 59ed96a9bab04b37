//! A first-in first-out queue kept as a vector (every `VecDeque` instantiation would cost about half a kilobyte
//! of WebAssembly). Taking from the front leaves an empty slot behind a moving head, and the slots are dropped
//! once they are half the vector: a queue that an untrusted server fills with a million notifications drains
//! in linear time, not quadratic.

/// A queue with `VecDeque`'s names for the few operations used here.
#[derive(Debug, Clone)]
pub(crate) struct Queue<T> {
    items: Vec<Option<T>>,
    /// The first slot still holding an item.
    head: usize,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

impl<T: PartialEq> PartialEq for Queue<T> {
    fn eq(&self, other: &Self) -> bool {
        self.items[self.head..] == other.items[other.head..]
    }
}

impl<T> Queue<T> {
    pub(crate) fn new() -> Self {
        Queue { items: Vec::new(), head: 0 }
    }

    pub(crate) fn push_back(&mut self, item: T) {
        self.items.push(Some(item));
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let item = self.items.get_mut(self.head)?.take();
        self.head += 1;
        if self.head == self.items.len() {
            self.clear();
        } else if self.head >= 64 && self.head * 2 >= self.items.len() {
            self.items.drain(..self.head);
            self.head = 0;
        }
        item
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.items.drain(..self.head);
        self.head = 0;
        self.items.retain(|item| item.as_ref().is_some_and(&mut keep));
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.head = 0;
    }
}

impl<T> Extend<T> for Queue<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        self.items.extend(items.into_iter().map(Some));
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

    #[test]
    fn a_long_queue_drains_in_order_and_compares_by_what_is_left() {
        let mut q = Queue::new();
        q.extend(0..10_000);
        for n in 0..5_000 {
            assert_eq!(q.pop_front(), Some(n));
            if n % 1000 == 0 {
                q.push_back(20_000 + n);
            }
        }
        let mut rest = Queue::new();
        rest.extend((5_000..10_000).chain((0..5).map(|k| 20_000 + k * 1000)));
        assert_eq!(q, rest);
        q.retain(|n| n % 2 == 0);
        assert_eq!(q.pop_front(), Some(5_000));
        assert_eq!(q.pop_front(), Some(5_002));
    }
}
