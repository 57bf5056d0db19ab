//! The trie behind [`super::PermissionSet`]: one node per distinct head prefix, keyed by
//! segment, with the `*` segment as a child of its own.
//!
//! Each operation follows the required permission or the other trie down its paths instead
//! of trying members one by one, so its cost depends on the depth (at most
//! [`MAX_SEGMENTS`](crate::domain::permission::MAX_SEGMENTS)) and on what it produces, not on
//! the product of the sizes. A path may fork at every `*`, so a walk visits at most 2^depth
//! nodes per level of the trie it follows. Walks borrow segments ([`SegRef`]) rather than
//! copy them: a key is copied only into a node that did not have it.

use std::collections::BTreeMap;

use crate::domain::permission::{Pattern, Segment, any_accepts};

/// One head prefix, and the members that end with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Node {
    /// A member ends here: exactly this many segments.
    pub closed: bool,
    /// A member ends here followed by `*`: one or more further segments.
    pub open: bool,
    /// Longer prefixes whose next segment is this literal.
    pub lits: BTreeMap<Box<str>, Node>,
    /// Longer prefixes whose next segment is `*` (any one segment).
    pub any: Option<Box<Node>>,
}

/// A segment borrowed from a pattern or from the trie's own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SegRef<'a> {
    Lit(&'a str),
    Any,
}

impl<'a> From<&'a Segment> for SegRef<'a> {
    fn from(seg: &'a Segment) -> SegRef<'a> {
        match seg {
            Segment::Lit(s) => SegRef::Lit(s),
            Segment::Any => SegRef::Any,
        }
    }
}

impl SegRef<'_> {
    fn owned(self) -> Segment {
        match self {
            SegRef::Lit(s) => Segment::Lit(s.into()),
            SegRef::Any => Segment::Any,
        }
    }
}

/// A pattern's head as borrowed segments.
pub(super) fn head_of(pattern: &Pattern) -> Vec<SegRef<'_>> {
    pattern.head().iter().map(SegRef::from).collect()
}

/// A computation went past its budget of steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OverBudget;

/// Steps an operation may still take; every node it visits or copies costs one.
pub(super) struct Budget(pub usize);

impl Budget {
    fn spend(&mut self, steps: usize) -> Result<(), OverBudget> {
        self.0 = self.0.checked_sub(steps).ok_or(OverBudget)?;
        Ok(())
    }
}

impl Node {
    pub fn is_empty(&self) -> bool {
        !self.closed && !self.open && self.lits.is_empty() && self.any.is_none()
    }

    /// The child for literal `s`, made when missing (only then is the key copied).
    fn lit_child(&mut self, s: &str) -> &mut Node {
        if !self.lits.contains_key(s) {
            self.lits.insert(s.into(), Node::default());
        }
        self.lits.get_mut(s).expect("inserted above when missing")
    }

    fn any_child(&mut self) -> &mut Node {
        self.any.get_or_insert_with(Box::default)
    }

    /// Adds a member without looking at the others (see [`Node::minimize`]).
    pub fn add(&mut self, pattern: &Pattern) {
        let mut node = self;
        for seg in pattern.head() {
            node = match seg {
                Segment::Lit(s) => node.lit_child(s),
                Segment::Any => node.any_child(),
            };
        }
        if pattern.is_open() {
            node.open = true;
        } else {
            node.closed = true;
        }
    }

    /// Adds a granted permission given as its valid segments, without building a
    /// [`Pattern`] first (see [`Node::add`]).
    pub fn add_segments(&mut self, parts: &[&str]) {
        let open = parts.last().is_some_and(|s| *s == "*");
        let head = if open {
            &parts[..parts.len() - 1]
        } else {
            parts
        };
        let mut node = self;
        for seg in head {
            node = if *seg == "*" {
                node.any_child()
            } else {
                node.lit_child(seg)
            };
        }
        if open {
            node.open = true;
        } else {
            node.closed = true;
        }
    }

    /// How many nodes this subtree has.
    fn nodes(&self) -> usize {
        1 + self.lits.values().map(Node::nodes).sum::<usize>()
            + self.any.as_ref().map_or(0, |c| c.nodes())
    }

    /// Adds every member of `other` without looking at the others.
    pub fn merge(&mut self, other: &Node, budget: &mut Budget) -> Result<(), OverBudget> {
        budget.spend(1)?;
        self.closed |= other.closed;
        self.open |= other.open;
        for (s, child) in &other.lits {
            match self.lits.get_mut(s) {
                Some(mine) => mine.merge(child, budget)?,
                None => {
                    budget.spend(child.nodes())?;
                    self.lits.insert(s.clone(), child.clone());
                }
            }
        }
        if let Some(child) = &other.any {
            match &mut self.any {
                Some(mine) => mine.merge(child, budget)?,
                None => {
                    budget.spend(child.nodes())?;
                    self.any = Some(child.clone());
                }
            }
        }
        Ok(())
    }

    /// Whether a member accepts `rest`, the segments of a required permission not yet
    /// consumed (`None`: all consumed), this node being at position `at`.
    pub fn matches(&self, rest: Option<&str>, at: usize) -> bool {
        let Some(rest) = rest else {
            return self.closed;
        };
        if self.open {
            return true;
        }
        let (first, after) = match rest.split_once(':') {
            Some((first, after)) => (first, Some(after)),
            None => (rest, None),
        };
        self.lits
            .get(first)
            .is_some_and(|c| c.matches(after, at + 1))
            || (any_accepts(at, first)
                && self.any.as_ref().is_some_and(|c| c.matches(after, at + 1)))
    }

    /// Whether a pattern (`head`, `open`) is within a member, other than itself when
    /// `strict`.
    ///
    /// `head` is what is left of the pattern's head below this node (at position `at`);
    /// `exact` says whether the path so far is the pattern's own (every segment taken as
    /// itself).
    pub fn covers(
        &self,
        head: &[SegRef<'_>],
        open: bool,
        exact: bool,
        strict: bool,
        at: usize,
    ) -> bool {
        let Some((seg, below)) = head.split_first() else {
            // The whole head consumed: a member here covers the pattern if it ends the same
            // way (open covers open; closed covers closed).
            let here = if open { self.open } else { self.closed };
            return here && !(strict && exact);
        };
        // A member open here accepts anything longer than this prefix.
        if self.open {
            return true;
        }
        let (via_lit, any_takes_it) = match seg {
            SegRef::Lit(s) => (
                self.lits
                    .get(*s)
                    .is_some_and(|c| c.covers(below, open, exact, strict, at + 1)),
                any_accepts(at, s),
            ),
            SegRef::Any => (false, true),
        };
        via_lit
            || (any_takes_it
                && self.any.as_ref().is_some_and(|c| {
                    let still_exact = exact && *seg == SegRef::Any;
                    c.covers(below, open, still_exact, strict, at + 1)
                }))
    }

    /// How many members there are.
    pub fn count(&self) -> usize {
        usize::from(self.closed)
            + usize::from(self.open)
            + self.lits.values().map(Node::count).sum::<usize>()
            + self.any.as_ref().map_or(0, |c| c.count())
    }

    /// Calls `f` with every member's head and ending, in trie order.
    pub fn walk<'a>(&'a self, path: &mut Vec<SegRef<'a>>, f: &mut impl FnMut(&[SegRef<'a>], bool)) {
        if self.closed {
            f(path, false);
        }
        if self.open {
            f(path, true);
        }
        for (s, child) in &self.lits {
            path.push(SegRef::Lit(s));
            child.walk(path, f);
            path.pop();
        }
        if let Some(child) = &self.any {
            path.push(SegRef::Any);
            child.walk(path, f);
            path.pop();
        }
    }

    /// Every member, in trie order.
    pub fn members(&self) -> Vec<Pattern> {
        let mut out = Vec::new();
        self.walk(&mut Vec::new(), &mut |head, open| {
            out.push(Pattern::from_parts(
                head.iter().map(|s| s.owned()).collect(),
                open,
            ));
        });
        out
    }

    /// Every member as text, unsorted.
    pub fn texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(&mut Vec::new(), &mut |head, open| {
            let mut text = String::new();
            for seg in head {
                if !text.is_empty() {
                    text.push(':');
                }
                text.push_str(match seg {
                    SegRef::Lit(s) => s,
                    SegRef::Any => "*",
                });
            }
            if open {
                if !text.is_empty() {
                    text.push(':');
                }
                text.push('*');
            }
            out.push(text);
        });
        out
    }

    /// Drops every member that another member contains, so no member is within another.
    ///
    /// Each member is looked up once from the root: containment is a partial order, so a
    /// member contained in another is contained in a maximal one, which stays.
    pub fn minimize(&mut self) {
        let mut covered: Vec<(Vec<Segment>, bool)> = Vec::new();
        let root: &Node = self;
        root.walk(&mut Vec::new(), &mut |head, open| {
            if root.covers(head, open, true, true, 0) {
                covered.push((head.iter().map(|s| s.owned()).collect(), open));
            }
        });
        for (head, open) in &covered {
            self.remove(head, *open);
        }
    }

    /// Removes one member, and the nodes it leaves empty.
    fn remove(&mut self, head: &[Segment], open: bool) {
        let Some((seg, below)) = head.split_first() else {
            if open {
                self.open = false;
            } else {
                self.closed = false;
            }
            return;
        };
        match seg {
            Segment::Lit(s) => {
                if let Some(child) = self.lits.get_mut(s) {
                    child.remove(below, open);
                    if child.is_empty() {
                        self.lits.remove(s);
                    }
                }
            }
            Segment::Any => {
                if let Some(child) = &mut self.any {
                    child.remove(below, open);
                    if child.is_empty() {
                        self.any = None;
                    }
                }
            }
        }
    }

    /// The members accepting exactly what a member of `self` and one of `other` both accept,
    /// with their shared prefix already taken (not yet minimal).
    ///
    /// A member open here accepts everything below, so the other side's deeper members are
    /// copied whole instead of being met pair by pair. This node is at position `at`.
    pub fn meet(&self, other: &Node, at: usize, budget: &mut Budget) -> Result<Node, OverBudget> {
        budget.spend(1)?;
        let mut out = Node {
            closed: self.closed && other.closed,
            open: self.open && other.open,
            ..Node::default()
        };
        if out.open {
            return Ok(out);
        }
        if self.open || other.open {
            let deeper = if self.open { other } else { self };
            budget.spend(deeper.nodes())?;
            out.lits = deeper.lits.clone();
            out.any = deeper.any.clone();
            return Ok(out);
        }
        // Literal against literal: walk the smaller map, look up in the larger.
        let (few, many) = if self.lits.len() <= other.lits.len() {
            (self, other)
        } else {
            (other, self)
        };
        for (s, a) in &few.lits {
            if let Some(b) = many.lits.get(s) {
                out.put_lit(s, a.meet(b, at + 1, budget)?, budget)?;
            }
        }
        // A literal against the other side's `*` (which never takes the reserved first
        // segment).
        for (from, wild) in [(self, other), (other, self)] {
            if let Some(w) = &wild.any {
                for (s, a) in from.lits.iter().filter(|(s, _)| any_accepts(at, s)) {
                    out.put_lit(s, a.meet(w, at + 1, budget)?, budget)?;
                }
            }
        }
        if let (Some(a), Some(b)) = (&self.any, &other.any) {
            let met = a.meet(b, at + 1, budget)?;
            if !met.is_empty() {
                out.any = Some(Box::new(met));
            }
        }
        Ok(out)
    }

    fn put_lit(&mut self, s: &str, met: Node, budget: &mut Budget) -> Result<(), OverBudget> {
        if met.is_empty() {
            return Ok(());
        }
        match self.lits.get_mut(s) {
            Some(existing) => existing.merge(&met, budget),
            None => {
                self.lits.insert(s.into(), met);
                Ok(())
            }
        }
    }
}
