//! A deterministic generator of argument values that a strict-mode model could send for a schema: every
//! property present, `null` often where the type allows it. The corpus tests use it to check that, after the
//! injected nulls are removed, the arguments still fit the server's original schema.
//!
//! Limits, by design:
//! - `pattern` is not honoured: a plain string is produced. Callers should skip validation of values whose schema
//!   uses `pattern` ([`uses_pattern`] finds them).
//! - Unsatisfiable schemas (`false`, empty `enum`, crossed bounds, required non-nullable recursion past the hard
//!   cap) produce a best-effort value, usually `null`, rather than an error.
//! - Only local `$ref`s (`#…`) are followed.
#![allow(dead_code)]

use serde_json::{Map, Number, Value};

/// Past this depth the generator steers away from recursion: null when allowed, the fewest array items, and
/// `anyOf` branches without `$ref`.
pub const SOFT_DEPTH: usize = 6;
/// Past this depth it gives up and returns `null`, so a schema that forces infinite recursion still terminates.
pub const HARD_DEPTH: usize = 64;
/// Bounds used when a number has no (or only one) limit.
const DEFAULT_SPAN: f64 = 1000.0;

/// SplitMix64: tiny, seedable, and good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when n is 0). The modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `lo..=hi`; `lo` when the range is empty.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi as i128 - lo as i128 + 1) as u128;
        (lo as i128 + (self.next_u64() as u128 % span) as i128) as i64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// A value valid for `schema` (a node inside `root`, which `$ref`s resolve against). Start with `depth` 0.
pub fn generate(schema: &Value, root: &Value, rng: &mut Rng, depth: usize) -> Value {
    if depth > HARD_DEPTH {
        return Value::Null;
    }
    let obj = match schema {
        Value::Object(obj) => obj,
        Value::Bool(true) => return scalar(rng),
        _ => return Value::Null,
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        return match resolve(root, reference) {
            Some(target) => generate(target, root, rng, depth + 1),
            None => Value::Null,
        };
    }
    if let Some(value) = obj.get("const") {
        return value.clone();
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        return from_enum(values, depth, rng);
    }
    if let Some(branches) = obj.get("anyOf").and_then(Value::as_array) {
        return match choose_branch(branches, depth, rng) {
            Some(branch) => generate(branch, root, rng, depth + 1),
            None => Value::Null,
        };
    }
    match choose_type(obj, depth, rng) {
        Some("null") => Value::Null,
        Some("boolean") => Value::Bool(rng.chance(50)),
        Some("string") => string(obj, rng),
        Some("integer") => integer(obj, rng),
        Some("number") => number(obj, rng),
        Some("array") => array(obj, root, rng, depth),
        Some("object") => object(obj, root, rng, depth),
        // No usable `type`: strict schemas always have one, so anything goes.
        _ => scalar(rng),
    }
}

/// Whether `pattern` appears anywhere in `schema` (including its definitions); values for such schemas may not
/// match, so callers skip validating them.
pub fn uses_pattern(schema: &Value) -> bool {
    match schema {
        Value::Object(obj) => obj.contains_key("pattern") || obj.values().any(uses_pattern),
        Value::Array(items) => items.iter().any(uses_pattern),
        _ => false,
    }
}

/// Resolves a local `$ref` (`#` or `#/…`) within `root`.
pub fn resolve<'v>(root: &'v Value, reference: &str) -> Option<&'v Value> {
    root.pointer(reference.strip_prefix('#')?)
}

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(3) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        _ => Value::String(word(rng, 1, 6)),
    }
}

/// Null is chosen often (40%) when allowed, and always once past [`SOFT_DEPTH`].
fn from_enum(values: &[Value], depth: usize, rng: &mut Rng) -> Value {
    let has_null = values.iter().any(Value::is_null);
    if has_null && (depth >= SOFT_DEPTH || rng.chance(40)) {
        return Value::Null;
    }
    rng.pick(values).cloned().unwrap_or(Value::Null)
}

/// A random branch; past [`SOFT_DEPTH`] a branch that cannot recurse, if any.
fn choose_branch<'v>(branches: &'v [Value], depth: usize, rng: &mut Rng) -> Option<&'v Value> {
    let null_branch = branches.iter().find(|b| b.get("type").and_then(Value::as_str) == Some("null"));
    if depth >= SOFT_DEPTH {
        let terminal: Vec<&Value> = branches.iter().filter(|b| !contains_ref(b)).collect();
        if let Some(branch) = null_branch.or_else(|| rng.pick(&terminal).copied()) {
            return Some(branch);
        }
    } else if null_branch.is_some() && rng.chance(40) {
        return null_branch;
    }
    rng.pick(branches)
}

fn contains_ref(schema: &Value) -> bool {
    match schema {
        Value::Object(obj) => obj.contains_key("$ref") || obj.values().any(contains_ref),
        Value::Array(items) => items.iter().any(contains_ref),
        _ => false,
    }
}

/// One of the declared types; null often (40%) when allowed and always past [`SOFT_DEPTH`].
fn choose_type<'v>(obj: &'v Map<String, Value>, depth: usize, rng: &mut Rng) -> Option<&'v str> {
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    if types.contains(&"null") && (depth >= SOFT_DEPTH || rng.chance(40)) {
        return Some("null");
    }
    let others: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
    rng.pick(&others).or_else(|| types.first()).copied()
}

/// All `required` properties (in a strict schema, every property) plus, for non-strict schemas, about half of
/// the optional ones.
fn object(obj: &Map<String, Value>, root: &Value, rng: &mut Rng, depth: usize) -> Value {
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = Map::new();
    if let Some(properties) = obj.get("properties").and_then(Value::as_object) {
        for (name, schema) in properties {
            if required.contains(&name.as_str()) || rng.chance(50) {
                out.insert(name.clone(), generate(schema, root, rng, depth + 1));
            }
        }
    }
    Value::Object(out)
}

/// Between `minItems` and `maxItems`, at most 3 beyond the minimum; the minimum past [`SOFT_DEPTH`].
fn array(obj: &Map<String, Value>, root: &Value, rng: &mut Rng, depth: usize) -> Value {
    let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0);
    let max = obj.get("maxItems").and_then(Value::as_u64).unwrap_or(u64::MAX).max(min);
    let count = if depth >= SOFT_DEPTH { min } else { min + rng.below(max.min(min + 3) - min + 1) };
    // An absurd minItems would only exhaust memory; the value is wrong either way.
    let count = count.min(10_000);
    let items = obj.get("items").unwrap_or(&Value::Bool(true));
    Value::Array((0..count).map(|_| generate(items, root, rng, depth + 1)).collect())
}

fn string(obj: &Map<String, Value>, rng: &mut Rng) -> Value {
    if let Some(text) = obj.get("format").and_then(Value::as_str).and_then(|f| formatted(f, rng)) {
        return Value::String(text);
    }
    // minLength/maxLength are not strict keywords, but honouring them keeps non-strict schemas valid too.
    let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = obj.get("maxLength").and_then(Value::as_u64).map_or(min.max(12), |m| m as usize).max(min);
    Value::String(word(rng, min, max.min(min + 12)))
}

/// A random string of `min..=max` characters; a few are non-ASCII so character/byte confusion shows up.
fn word(rng: &mut Rng, min: usize, max: usize) -> String {
    const ALPHABET: &[char] = &['a', 'b', 'c', 'x', 'y', 'z', 'Q', '0', '7', ' ', '-', '_', 'é', 'ß', '雪'];
    let len = rng.range(min as i64, max as i64) as usize;
    (0..len).map(|_| rng.pick(ALPHABET).copied().unwrap_or('a')).collect()
}

/// Text in the given `format`, or None for formats without a generator (then a plain string is used).
fn formatted(format: &str, rng: &mut Rng) -> Option<String> {
    let text = match format {
        "date-time" => format!("{}T{}", date(rng), time(rng)),
        "date" => date(rng),
        "time" => time(rng),
        "duration" => format!("P{}DT{}H{}M", rng.below(30), rng.below(24), rng.below(60)),
        "email" => format!("user{}@example.com", rng.below(10_000)),
        "hostname" => format!("host{}.example.com", rng.below(10_000)),
        "ipv4" => format!("{}.{}.{}.{}", rng.below(256), rng.below(256), rng.below(256), rng.below(256)),
        "ipv6" => format!("2001:db8::{:x}:{:x}", rng.below(0x10000), rng.below(0x10000)),
        "uuid" => uuid(rng),
        _ => return None,
    };
    Some(text)
}

/// RFC 3339 full-date; days stop at 28 so every month is valid.
fn date(rng: &mut Rng) -> String {
    format!("{:04}-{:02}-{:02}", rng.range(1970, 2099), rng.range(1, 12), rng.range(1, 28))
}

/// RFC 3339 full-time, which needs an offset.
fn time(rng: &mut Rng) -> String {
    format!("{:02}:{:02}:{:02}Z", rng.below(24), rng.below(60), rng.below(60))
}

/// A version-4, variant-1 UUID.
fn uuid(rng: &mut Rng) -> String {
    let hi = rng.next_u64();
    let lo = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xfff,
        8 + (lo >> 62),
        (lo >> 48) & 0xfff,
        lo & 0xffff_ffff_ffff
    )
}

/// The numeric bounds of a schema as a closed interval plus whether each end is exclusive.
struct Bounds {
    lo: f64,
    lo_exclusive: bool,
    hi: f64,
    hi_exclusive: bool,
}

fn bounds(obj: &Map<String, Value>) -> Bounds {
    let get = |key: &str| obj.get(key).and_then(Value::as_f64);
    // The tighter of `minimum` and `exclusiveMinimum` wins (2020-12 numeric form only).
    let (mut lo, mut lo_exclusive) = (get("minimum"), false);
    if let Some(x) = get("exclusiveMinimum") {
        if lo.is_none_or(|m| x >= m) {
            (lo, lo_exclusive) = (Some(x), true);
        }
    }
    let (mut hi, mut hi_exclusive) = (get("maximum"), false);
    if let Some(x) = get("exclusiveMaximum") {
        if hi.is_none_or(|m| x <= m) {
            (hi, hi_exclusive) = (Some(x), true);
        }
    }
    let (lo, hi) = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo + DEFAULT_SPAN),
        (None, Some(hi)) => (hi - DEFAULT_SPAN, hi),
        (None, None) => (-DEFAULT_SPAN, DEFAULT_SPAN),
    };
    Bounds { lo, lo_exclusive, hi, hi_exclusive }
}

impl Bounds {
    fn contains(&self, x: f64) -> bool {
        let above = if self.lo_exclusive { x > self.lo } else { x >= self.lo };
        let below = if self.hi_exclusive { x < self.hi } else { x <= self.hi };
        above && below
    }

    /// The integers `k` with `k * step` inside the bounds, as an inclusive range (possibly empty: lo > hi).
    fn multiples(&self, step: f64) -> (i64, i64) {
        let mut lo = (self.lo / step).ceil() as i64;
        let mut hi = (self.hi / step).floor() as i64;
        if !self.contains(lo as f64 * step) {
            lo += 1;
        }
        if !self.contains(hi as f64 * step) {
            hi -= 1;
        }
        (lo, hi)
    }
}

/// An integer within the bounds and a multiple of `multipleOf` (scaled up to an integral step if needed).
fn integer(obj: &Map<String, Value>, rng: &mut Rng) -> Value {
    let step = obj.get("multipleOf").and_then(Value::as_f64).filter(|m| *m > 0.0).map_or(1.0, integral_step);
    let (lo, hi) = bounds(obj).multiples(step);
    Value::from((rng.range(lo, hi) as f64 * step).round() as i64)
}

/// The smallest multiple of `m` that is a whole number (for `integer` with a fractional `multipleOf`).
fn integral_step(m: f64) -> f64 {
    (1..=1000).map(|n| n as f64 * m).find(|x| (x - x.round()).abs() < 1e-9).map_or(m.ceil(), f64::round)
}

/// A number within the bounds: on the `multipleOf` grid if given, else a value with up to two decimals. Integral
/// values are sometimes emitted as integers, which JSON Schema `number` accepts.
fn number(obj: &Map<String, Value>, rng: &mut Rng) -> Value {
    let b = bounds(obj);
    let x = match obj.get("multipleOf").and_then(Value::as_f64).filter(|m| *m > 0.0) {
        Some(step) => {
            let (lo, hi) = b.multiples(step);
            round_like(rng.range(lo, hi) as f64 * step, step)
        }
        None => decimal_within(&b, rng),
    };
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return Value::from(x as i64);
    }
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// Rounds away float noise (0.1 * 3 = 0.30000000000000004) to the decimals of `step`, so validators that divide
/// by `multipleOf` see a clean multiple.
fn round_like(x: f64, step: f64) -> f64 {
    let decimals = step.to_string().split_once('.').map_or(0, |(_, frac)| frac.len()).min(12);
    format!("{x:.decimals$}").parse().unwrap_or(x)
}

fn decimal_within(b: &Bounds, rng: &mut Rng) -> f64 {
    for _ in 0..16 {
        let raw = b.lo + (b.hi - b.lo) * rng.unit();
        let x = if rng.chance(30) { raw.round() } else { (raw * 100.0).round() / 100.0 };
        if b.contains(x) {
            return x;
        }
    }
    // Narrow or exclusive intervals: the midpoint is inside whenever the interval is not empty.
    (b.lo + b.hi) / 2.0
}
