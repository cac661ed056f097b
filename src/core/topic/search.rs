//! The matcher's working memory: small collections that live on the stack.

use std::collections::HashSet;

use ahash::RandomState;

/// Frames the match stack holds inline before it spills to the heap.
const INLINE_FRAMES: usize = 32;

/// Nested `#` nodes the match remembers inline before it spills to the heap.
const INLINE_ENTERED: usize = 8;

/// A search state: a node, and the levels it has yet to match.
pub(super) struct Frame<I> {
    pub(super) node: usize,
    pub(super) rest: I,
    /// Whether `node` is a `#` node, which may consume a level and stay.
    pub(super) many: bool,
    /// Whether `node` is or lies under a `#` node, so that it may have several states.
    pub(super) under_many: bool,
}

/// A LIFO stack that holds [`INLINE_FRAMES`] frames without allocating.
pub(super) struct Stack<F> {
    inline: [Option<F>; INLINE_FRAMES],
    len: usize,
    spill: Vec<F>,
}

impl<F> Stack<F> {
    pub(super) fn new() -> Self {
        Self {
            inline: std::array::from_fn(|_| None),
            len: 0,
            spill: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, frame: F) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(frame);
                self.len += 1;
            }
            None => self.spill.push(frame),
        }
    }

    pub(super) fn pop(&mut self) -> Option<F> {
        if let Some(frame) = self.spill.pop() {
            return Some(frame);
        }
        self.len = self.len.checked_sub(1)?;
        self.inline.get_mut(self.len)?.take()
    }
}

/// A set of node indexes that holds [`INLINE_ENTERED`] without allocating.
pub(super) struct NodeSet {
    inline: [usize; INLINE_ENTERED],
    len: usize,
    spill: Option<HashSet<usize, RandomState>>,
}

impl NodeSet {
    pub(super) fn new() -> Self {
        Self {
            inline: [0; INLINE_ENTERED],
            len: 0,
            spill: None,
        }
    }

    /// Adds `id`; returns whether it was new.
    pub(super) fn insert(&mut self, id: usize) -> bool {
        if self
            .inline
            .get(..self.len)
            .unwrap_or_default()
            .contains(&id)
        {
            return false;
        }
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = id;
                self.len += 1;
                true
            }
            None => self
                .spill
                .get_or_insert_with(|| HashSet::with_hasher(RandomState::new()))
                .insert(id),
        }
    }
}
