//! Function names the model accepts (`^[a-zA-Z0-9_-]{1,64}$`), unique across servers and the same in every
//! run and every host for the same catalog.

/// OpenAI's limit on function names.
pub(crate) const MAX_NAME_LEN: usize = 64;
/// Length of the stem kept in front of a hash suffix (`stem_` + 8 hex digits = 64).
const HASHED_STEM_LEN: usize = MAX_NAME_LEN - 9;

/// Replaces every character outside `[A-Za-z0-9_-]` with `_`.
pub(crate) fn sanitize(raw: &str) -> String {
    let out: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    if out.is_empty() { "tool".to_owned() } else { out }
}

/// FNV-1a, 64 bit: tiny, stable across platforms and versions, good enough to tell names apart.
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // A separator byte that UTF-8 text never contains, so ("ab", "c") and ("a", "bc") differ.
            hash ^= 0xff;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        for &b in *part {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// Hands out unique names in catalog order: the first tool to want a clean name gets it; a name that is too
/// long or already taken gets a short stem and a hash of (server, tool) as suffix.
#[derive(Debug, Default)]
pub(crate) struct NameAllocator {
    /// Names in use (a JSON map as a set: another tree type would cost kilobytes of WebAssembly).
    taken: serde_json::Map<String, serde_json::Value>,
}

impl NameAllocator {
    /// Keeps `name` for a tool that already has it.
    pub(crate) fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_owned(), serde_json::Value::Null);
    }

    /// Allocates the public name for `tool` of `server`; `prefix` says whether the server's name leads it.
    pub(crate) fn allocate(&mut self, server: &str, tool: &str, prefix: bool) -> String {
        let stem = if prefix { sanitize(&format!("{server}__{tool}")) } else { sanitize(tool) };
        if stem.len() <= MAX_NAME_LEN && !self.taken.contains_key(&stem) {
            self.taken.insert(stem.clone(), serde_json::Value::Null);
            return stem;
        }
        let short = &stem[..stem.len().min(HASHED_STEM_LEN)];
        for salt in 0u32.. {
            let salt = salt.to_le_bytes();
            let hash = fnv1a(&[server.as_bytes(), tool.as_bytes(), &salt]) as u32;
            let name = format!("{short}_{hash:08x}");
            if self.taken.insert(name.clone(), serde_json::Value::Null).is_none() {
                return name;
            }
        }
        unreachable!("2^32 salts cannot all collide")
    }
}

/// True if `name` is a valid function name for the model.
#[cfg(test)]
fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn sanitizes_dots_spaces_and_unicode() {
        assert_eq!(sanitize("admin.tools list"), "admin_tools_list");
        assert_eq!(sanitize("größe"), "gr__e");
        assert_eq!(sanitize(""), "tool");
    }

    #[test]
    fn clean_names_stay_clean_and_prefixes_apply() {
        let mut names = NameAllocator::default();
        assert_eq!(names.allocate("crm", "get-sum", false), "get-sum");
        assert_eq!(names.allocate("crm", "echo", true), "crm__echo");
    }

    #[test]
    fn collisions_and_overflow_get_stable_hash_suffixes() {
        let mut a = NameAllocator::default();
        let first = a.allocate("s1", "a.b", false);
        let second = a.allocate("s2", "a_b", false);
        assert_eq!(first, "a_b");
        assert_ne!(second, first);
        assert!(second.starts_with("a_b_") && second.len() == 12, "{second}");
        let long = "x".repeat(128);
        let l1 = a.allocate("s1", &long, true);
        assert_eq!(l1.len(), MAX_NAME_LEN);
        assert!(is_valid(&l1));
        // The same catalog gives the same names.
        let mut b = NameAllocator::default();
        assert_eq!(b.allocate("s1", "a.b", false), first);
        assert_eq!(b.allocate("s2", "a_b", false), second);
        assert_eq!(b.allocate("s1", &long, true), l1);
    }

    #[test]
    fn every_allocated_name_is_valid_and_unique() {
        let mut names = NameAllocator::default();
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..2000 {
            let tool = format!("{}.{}", "t".repeat(i % 70), i % 7);
            let name = names.allocate(&format!("server {}", i % 3), &tool, i % 2 == 0);
            assert!(is_valid(&name), "{name}");
            assert!(seen.insert(name));
        }
    }

    #[test]
    fn the_hash_is_pinned() {
        // Names are part of snapshots and prompt caches: the hash must never change between versions.
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
    }
}
