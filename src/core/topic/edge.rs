//! The key of the trie's literal edges, and its borrowed form for lookups.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// The key of a literal edge: the parent's index and the word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct EdgeKey {
    pub(super) parent: usize,
    pub(super) word: Box<str>,
}

/// An edge key, owned or borrowed, so that a lookup by `(usize, &str)` needs no `Box`.
pub(super) trait EdgeQuery {
    fn parent(&self) -> usize;
    fn word(&self) -> &str;
}

impl EdgeQuery for EdgeKey {
    fn parent(&self) -> usize {
        self.parent
    }
    fn word(&self) -> &str {
        &self.word
    }
}

impl EdgeQuery for (usize, &str) {
    fn parent(&self) -> usize {
        self.0
    }
    fn word(&self) -> &str {
        self.1
    }
}

impl<'a> Borrow<dyn EdgeQuery + 'a> for EdgeKey {
    fn borrow(&self) -> &(dyn EdgeQuery + 'a) {
        self
    }
}

impl Hash for dyn EdgeQuery + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parent().hash(state);
        self.word().hash(state);
    }
}

impl PartialEq for dyn EdgeQuery + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parent() == other.parent() && self.word() == other.word()
    }
}

impl Eq for dyn EdgeQuery + '_ {}

impl Hash for EdgeKey {
    /// Must hash as the `dyn EdgeQuery` it borrows as.
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn EdgeQuery).hash(state);
    }
}
