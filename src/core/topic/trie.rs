//! The trie that stores (pattern, value) pairs and finds those matching a topic.
//!
//! Nodes live in one `Vec` and refer to each other by index, so a trie of any depth is
//! dropped and cloned without recursion. A node keeps its `+` and `#` children in two
//! fields; literal children live in one hash map for the whole trie, keyed by (parent,
//! word), as RabbitMQ keeps its edge table. One map instead of one per node keeps a node
//! at 48 bytes (on 64-bit, whatever `T` is) and spares a chain of single-child nodes
//! (`devices/1234/temp`) a map each. The map is keyed randomly by `ahash`, since the words
//! come from clients.
//!
//! Matching is a depth-first search over states (node, levels left), on an explicit stack.
//! A `#` node is a state that may also consume the next level and stay where it is. Only
//! `#` can make a state reachable twice; the search visits each node's states in order of
//! position, so entering a `#` node once, at the first state of its parent, covers every
//! later one (see [`TopicTrie::for_each_match`]). Each state is then visited at most once:
//! no value is visited twice through one pattern, and the work is bounded by (nodes
//! reached) x (levels + 1) even for `#.#.#.x`.

use std::collections::HashMap;
use std::mem;

use ahash::RandomState;

use super::edge::{EdgeKey, EdgeQuery};
use super::pattern::{Level, Pattern};
use super::search::{Frame, NodeSet, Stack};

/// The root's index. The root is nobody's child, so `0` in a child field means "none".
const ROOT: usize = 0;

/// A multimap from [`Pattern`]s to values that finds, for a topic, every value whose
/// pattern matches it.
///
/// The same (pattern, value) pair may be inserted more than once; each copy is stored and
/// visited. A trie is meant to be owned by one shard; [`Clone`] copies it for another
/// shard's replica, and [`TopicTrie::iter`] lists its pairs for a snapshot.
#[derive(Clone, Debug)]
pub struct TopicTrie<T> {
    /// Node 0 is the root; indexes in `free` are unused slots waiting for reuse.
    nodes: Vec<Node<T>>,
    /// Literal children: (parent index, word) -> child index.
    edges: HashMap<EdgeKey, usize, RandomState>,
    free: Vec<usize>,
    /// Stored (pattern, value) pairs.
    len: usize,
}

#[derive(Clone, Debug)]
struct Node<T> {
    /// Values of the patterns that end here.
    values: Vec<T>,
    /// Child for [`Level::One`], or `0` (see [`ROOT`]).
    one: usize,
    /// Child for [`Level::Many`], or `0`.
    many: usize,
    /// The number of this node's literal children, in `TopicTrie::edges`.
    literals: usize,
}

impl<T> TopicTrie<T> {
    /// An empty trie.
    pub fn new() -> Self {
        Self {
            nodes: vec![Node::default()],
            edges: HashMap::with_hasher(RandomState::new()),
            free: Vec::new(),
            len: 0,
        }
    }

    /// The number of stored (pattern, value) pairs.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no pair is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `value` under `pattern`, beside any values already there (equal ones too).
    pub fn insert(&mut self, pattern: &Pattern, value: T) {
        let mut id = ROOT;
        for level in pattern.levels() {
            id = match self.child(id, level) {
                Some(child) => child,
                None => self.add_child(id, level),
            };
        }
        if let Some(node) = self.nodes.get_mut(id) {
            node.values.push(value);
            self.len += 1;
        }
    }

    /// Removes one copy of `value` from under `pattern`, and the nodes left with neither
    /// values nor children. Returns whether there was such a copy.
    pub fn remove(&mut self, pattern: &Pattern, value: &T) -> bool
    where
        T: PartialEq,
    {
        let mut path = Vec::with_capacity(pattern.len() + 1);
        path.push(ROOT);
        let mut id = ROOT;
        for level in pattern.levels() {
            let Some(child) = self.child(id, level) else {
                return false;
            };
            path.push(child);
            id = child;
        }
        let Some(node) = self.nodes.get_mut(id) else {
            return false;
        };
        let Some(at) = node.values.iter().position(|v| v == value) else {
            return false;
        };
        node.values.swap_remove(at);
        if node.values.is_empty() {
            node.values = Vec::new();
        }
        self.len -= 1;
        self.prune(&path, pattern.levels());
        if self.len == 0 {
            // Every node but the root is free now: give the memory back.
            *self = Self::new();
        }
        true
    }

    /// Calls `visit` with every stored value whose pattern matches the topic whose levels
    /// are `levels`: from [`mqtt_levels`](super::mqtt_levels),
    /// [`amqp_levels`](super::amqp_levels), or a slice of `&str`.
    ///
    /// `dollar_rule` applies MQTT's [MQTT-4.7.2-1]: when the first level starts with `$`,
    /// patterns starting with `+` or `#` do not match (`#` does not match `$SYS/x`,
    /// `$SYS/#` does). AMQP has no such rule.
    ///
    /// A value stored under two matching patterns is visited twice, once per pattern (the
    /// caller dedupes by subscriber); a value is never visited twice for one stored pair.
    /// Matching allocates only for a search deeper than 32 pending states, or that enters
    /// more than 8 `#` nodes lying under another `#`.
    pub fn for_each_match<I>(&self, levels: I, dollar_rule: bool, mut visit: impl FnMut(&T))
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
        I::IntoIter: Clone,
    {
        let levels = levels.into_iter();
        let dollar = dollar_rule
            && levels
                .clone()
                .next()
                .is_some_and(|first| first.as_ref().starts_with('$'));
        let mut stack = Stack::new();
        let mut entered = NodeSet::new();
        stack.push(Frame {
            node: ROOT,
            rest: levels,
            many: false,
            under_many: false,
        });
        // Why each state is visited once. States of a node are pushed only from states of
        // its parent (or, for `#`, from its own previous state, pushed beneath its
        // children), so by induction each node's states are visited in increasing
        // position, each subtree finished before the next state. A `#` node entered at
        // its parent's first state covers every position after it, so it is entered only
        // once: without a check when no `#` lies above (the parent has one state), else
        // through `entered`. `tests::no_duplicate_visits` and the property test hold it.
        while let Some(frame) = stack.pop() {
            let Some(node) = self.nodes.get(frame.node) else {
                continue;
            };
            let wildcards = !(dollar && frame.node == ROOT);
            if frame.many && node.one == 0 && node.literals == 0 {
                // A `#` with no child that consumes a level: its values match from here
                // on, whatever follows, and it need not step through the rest.
                node.values.iter().for_each(&mut visit);
            } else {
                let mut after = frame.rest.clone();
                match after.next() {
                    None => node.values.iter().for_each(&mut visit),
                    Some(level) => {
                        let push = |stack: &mut Stack<_>, node, many| {
                            stack.push(Frame {
                                node,
                                rest: after.clone(),
                                many,
                                under_many: frame.under_many,
                            });
                        };
                        if frame.many {
                            // Pushed first, so popped after every state below this one.
                            push(&mut stack, frame.node, true);
                        }
                        if let Some(child) = self.literal_child(frame.node, level.as_ref()) {
                            push(&mut stack, child, false);
                        }
                        if wildcards && node.one != 0 {
                            push(&mut stack, node.one, false);
                        }
                    }
                }
            }
            if wildcards && node.many != 0 && (!frame.under_many || entered.insert(node.many)) {
                stack.push(Frame {
                    node: node.many,
                    rest: frame.rest,
                    many: true,
                    under_many: true,
                });
            }
        }
    }

    /// Every stored (pattern, value) pair, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Pattern, &T)> + '_ {
        // How each node was reached: its parent and the level in between.
        let mut incoming: Vec<Option<(usize, Step<'_>)>> = vec![None; self.nodes.len()];
        let mut set = |child: usize, edge| {
            if let Some(slot) = incoming.get_mut(child) {
                *slot = Some(edge);
            }
        };
        for (key, &child) in &self.edges {
            set(child, (key.parent, Step::Literal(&key.word)));
        }
        for (id, node) in self.nodes.iter().enumerate() {
            set(node.one, (id, Step::One));
            set(node.many, (id, Step::Many));
        }
        // The root's slot was set by childless nodes (0 means none): it has no parent.
        if let Some(root) = incoming.get_mut(ROOT) {
            *root = None;
        }
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| !node.values.is_empty())
            .flat_map(move |(id, node)| {
                let mut levels = Vec::new();
                let mut at = id;
                while let Some(&Some((parent, step))) = incoming.get(at) {
                    levels.push(step.level());
                    at = parent;
                }
                let pattern: Pattern = levels.into_iter().rev().collect();
                node.values
                    .iter()
                    .map(move |value| (pattern.clone(), value))
            })
    }

    /// Renumbers the nodes to close the gaps that removals left, and shrinks every buffer
    /// to fit. Removal reuses freed nodes but keeps the high-water mark; call this after
    /// many removals to return it.
    pub fn shrink_to_fit(&mut self) {
        if !self.free.is_empty() {
            let mut renumber = vec![0; self.nodes.len()];
            for &id in &self.free {
                if let Some(slot) = renumber.get_mut(id) {
                    *slot = usize::MAX;
                }
            }
            let mut next = 0;
            for slot in &mut renumber {
                if *slot == 0 {
                    *slot = next;
                    next += 1;
                }
            }
            // The root stays 0, so "0 means none" survives renumbering.
            let new = |id: usize| renumber.get(id).copied().unwrap_or(ROOT);
            let nodes = mem::take(&mut self.nodes);
            self.nodes = nodes
                .into_iter()
                .zip(&renumber)
                .filter(|&(_, &to)| to != usize::MAX)
                .map(|(node, _)| Node {
                    one: new(node.one),
                    many: new(node.many),
                    ..node
                })
                .collect();
            let mut edges =
                HashMap::with_capacity_and_hasher(self.edges.len(), self.edges.hasher().clone());
            for (key, child) in self.edges.drain() {
                edges.insert(
                    EdgeKey {
                        parent: new(key.parent),
                        ..key
                    },
                    new(child),
                );
            }
            self.edges = edges;
            self.free = Vec::new();
        }
        self.nodes.shrink_to_fit();
        self.edges.shrink_to_fit();
    }

    /// Nodes in use, the root included (for tests of pruning).
    #[cfg(test)]
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    fn literal_child(&self, parent: usize, word: &str) -> Option<usize> {
        self.edges.get(&(parent, word) as &dyn EdgeQuery).copied()
    }

    fn child(&self, parent: usize, level: &Level) -> Option<usize> {
        let node = self.nodes.get(parent)?;
        let child = match level {
            Level::Literal(word) => return self.literal_child(parent, word),
            Level::One => node.one,
            Level::Many => node.many,
        };
        (child != 0).then_some(child)
    }

    fn add_child(&mut self, parent: usize, level: &Level) -> usize {
        let child = match self.free.pop() {
            Some(id) => id,
            None => {
                self.nodes.push(Node::default());
                self.nodes.len() - 1
            }
        };
        if let Some(node) = self.nodes.get_mut(parent) {
            match level {
                Level::Literal(word) => {
                    node.literals += 1;
                    let key = EdgeKey {
                        parent,
                        word: word.clone(),
                    };
                    self.edges.insert(key, child);
                }
                Level::One => node.one = child,
                Level::Many => node.many = child,
            }
        }
        child
    }

    /// Frees the nodes at the end of `path` (the root, then one node per level) that have
    /// neither values nor children, deepest first.
    fn prune(&mut self, path: &[usize], levels: &[Level]) {
        for (pair, level) in path.windows(2).zip(levels).rev() {
            let &[parent, child] = pair else { return };
            if !self.nodes.get(child).is_some_and(Node::is_unused) {
                return;
            }
            if let Some(node) = self.nodes.get_mut(parent) {
                match level {
                    Level::Literal(word) => {
                        node.literals -= 1;
                        self.edges.remove(&(parent, &**word) as &dyn EdgeQuery);
                    }
                    Level::One => node.one = 0,
                    Level::Many => node.many = 0,
                }
            }
            if let Some(node) = self.nodes.get_mut(child) {
                *node = Node::default();
            }
            self.free.push(child);
        }
    }
}

impl<T> Default for TopicTrie<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Node<T> {
    fn is_unused(&self) -> bool {
        self.values.is_empty() && self.one == 0 && self.many == 0 && self.literals == 0
    }
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            one: 0,
            many: 0,
            literals: 0,
        }
    }
}

/// A level on the way to a node, borrowed from the trie (for [`TopicTrie::iter`]).
#[derive(Clone, Copy)]
enum Step<'a> {
    Literal(&'a str),
    One,
    Many,
}

impl Step<'_> {
    fn level(self) -> Level {
        match self {
            Self::Literal(word) => Level::Literal(word.into()),
            Self::One => Level::One,
            Self::Many => Level::Many,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::topic::{Levels, amqp_levels, mqtt_levels};

    fn matches<T: Clone + Ord>(trie: &TopicTrie<T>, levels: Levels<'_>) -> Vec<T> {
        let mut seen = Vec::new();
        trie.for_each_match(levels, true, |v| seen.push(v.clone()));
        seen.sort();
        seen
    }

    #[test]
    fn removal_prunes_every_node_it_can() {
        let mut trie = TopicTrie::new();
        let patterns = ["a/b/c", "a/b", "a/+/c", "a/#", "+/#", "#", "a//", "a/b/c/d"];
        for (i, filter) in patterns.iter().enumerate() {
            trie.insert(&Pattern::mqtt(filter).unwrap(), i);
        }
        assert_eq!(trie.len(), patterns.len());
        assert!(!trie.remove(&Pattern::mqtt("a/b/x").unwrap(), &0));
        assert!(!trie.remove(&Pattern::mqtt("a/b/c").unwrap(), &99));
        assert!(trie.remove(&Pattern::mqtt("a/b/c/d").unwrap(), &7));
        // "d" is gone, "a/b/c" stays for value 0.
        assert_eq!(matches(&trie, mqtt_levels("a/b/c")), [0, 2, 3, 4, 5]);
        let before = trie.node_count();
        assert!(trie.remove(&Pattern::mqtt("a//").unwrap(), &6));
        assert_eq!(trie.node_count(), before - 2);
        for (i, filter) in patterns.iter().enumerate().take(6) {
            assert!(trie.remove(&Pattern::mqtt(filter).unwrap(), &i), "{filter}");
            assert!(
                !trie.remove(&Pattern::mqtt(filter).unwrap(), &i),
                "{filter}"
            );
        }
        assert!(trie.is_empty());
        assert_eq!(trie.node_count(), 1);
        assert!(trie.edges.is_empty());
        assert_eq!(matches(&trie, mqtt_levels("a/b/c")), Vec::<usize>::new());
    }

    #[test]
    fn freed_nodes_are_reused_and_shrink_to_fit_compacts() {
        let mut trie = TopicTrie::new();
        for i in 0..100 {
            trie.insert(&Pattern::amqp(&format!("k{i}.*.#.x")), i);
        }
        trie.insert(&Pattern::amqp("keep.#"), 1000);
        let high = trie.nodes.len();
        for i in 0..100 {
            assert!(trie.remove(&Pattern::amqp(&format!("k{i}.*.#.x")), &i));
        }
        assert_eq!(trie.node_count(), 3);
        for i in 0..50 {
            trie.insert(&Pattern::amqp(&format!("j{i}.y")), i);
        }
        assert_eq!(trie.nodes.len(), high, "freed slots are reused");
        trie.shrink_to_fit();
        assert_eq!(trie.nodes.len(), 3 + 100);
        assert!(trie.free.is_empty());
        assert_eq!(matches(&trie, amqp_levels("keep.a.b")), [1000]);
        assert_eq!(matches(&trie, amqp_levels("j7.y")), [7]);
        assert!(trie.remove(&Pattern::amqp("j7.y"), &7));
        assert_eq!(matches(&trie, amqp_levels("j7.y")), Vec::<usize>::new());
        assert_eq!(matches(&trie, amqp_levels("j8.y")), [8]);
    }

    #[test]
    fn deep_topics_need_no_deep_stack() {
        // 30,000 empty levels: "/" repeated 29,999 times.
        let deep = "/".repeat(29_999);
        let plus = format!("{}+", "+/".repeat(29_999));
        let almost = format!("{}#", "/".repeat(29_998));
        let mut trie = TopicTrie::new();
        for (i, filter) in [
            deep.as_str(),
            plus.as_str(),
            almost.as_str(),
            "#",
            "/#",
            "+/+",
        ]
        .iter()
        .enumerate()
        {
            trie.insert(&Pattern::mqtt(filter).unwrap(), i);
        }
        assert_eq!(matches(&trie, mqtt_levels(&deep)), [0, 1, 2, 3, 4]);
        assert_eq!(matches(&trie, mqtt_levels(&deep[1..])), [2, 3, 4]);
        let clone = trie.clone();
        assert_eq!(clone.iter().count(), 6);
        for (i, filter) in [
            deep.as_str(),
            plus.as_str(),
            almost.as_str(),
            "#",
            "/#",
            "+/+",
        ]
        .iter()
        .enumerate()
        {
            assert!(trie.remove(&Pattern::mqtt(filter).unwrap(), &i));
        }
        assert_eq!(trie.node_count(), 1);
        drop(clone);
    }

    #[test]
    fn node_is_small() {
        assert!(size_of::<Node<u64>>() <= 48);
        assert!(size_of::<Node<(u64, u64)>>() <= 48);
    }
}
