//! A first-in first-out queue kept as two vectors (every `VecDeque` instantiation would cost about half a
//! kilobyte of WebAssembly): items go onto the back one; the front one holds older items in reverse, so taking
//! one is a pop, and when it runs empty the back one is reversed into it. A queue that an untrusted server
//! fills with a million notifications drains in linear time, not quadratic.

/// A queue with `VecDeque`'s names for the few operations used here.
#[derive(Debug, Clone)]
pub(crate) struct Queue<T> {
    /// Older items, the next one last.
    front: Vec<T>,
    /// Newer items, in order.
    back: Vec<T>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

#[cfg(test)]
impl<T: PartialEq> PartialEq for Queue<T> {
    fn eq(&self, other: &Self) -> bool {
        self.front.iter().rev().chain(&self.back).eq(other.front.iter().rev().chain(&other.back))
    }
}

impl<T> Queue<T> {
    pub(crate) fn new() -> Self {
        Queue { front: Vec::new(), back: Vec::new() }
    }

    pub(crate) fn push_back(&mut self, item: T) {
        self.back.push(item);
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.front.is_empty() {
            std::mem::swap(&mut self.front, &mut self.back);
            self.front.reverse();
        }
        self.front.pop()
    }

    pub(crate) fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.front.reverse();
        self.front.append(&mut self.back);
        std::mem::swap(&mut self.front, &mut self.back);
        self.back.retain(keep);
    }

    pub(crate) fn clear(&mut self) {
        self.front.clear();
        self.back.clear();
    }
}

impl<T> Extend<T> for Queue<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        self.back.extend(items);
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
