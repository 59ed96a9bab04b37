//! Leaf helpers: they import nothing else of the crate.

pub(crate) mod error;
pub(crate) mod http;
pub(crate) mod io;
pub(crate) mod json;
pub(crate) mod json_scan;
pub(crate) mod limits;
pub(crate) mod lines;
pub(crate) mod mix;
pub(crate) mod queue;
pub(crate) mod secrets;
pub(crate) mod sha256;
pub(crate) mod sse;
pub(crate) mod text;
pub(crate) mod url;
pub(crate) mod vec_map;
