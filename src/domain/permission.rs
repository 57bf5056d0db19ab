//! One permission: its syntax, and matching a granted pattern against a required permission.
//!
//! A permission is 1 to 8 segments joined by `:`. In a *granted* permission a `*` segment is a
//! wildcard: in the middle it stands for exactly one segment, as the last segment for one or
//! more. In a *required* permission `*` is a literal, so `webhook:manage:*` ("all teams") is only
//! satisfied by a grant that covers it as a whole.
//!
//! Patterns are kept as a `head` of segments plus an `open` flag (the trailing `*`), which makes
//! matching, intersection and containment plain segment-by-segment comparisons.

use std::fmt;

/// tessera's own namespace: a first segment `*` does not match it (see [`Segment`]).
pub const RESERVED: &str = "tessera";

/// Most segments a permission may have.
pub const MAX_SEGMENTS: usize = 8;
/// Most bytes a permission may have.
pub const MAX_LEN: usize = 256;

/// Why a permission string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionSyntaxError {
    #[error("permission is empty")]
    Empty,
    #[error("permission is longer than {MAX_LEN} bytes")]
    TooLong,
    #[error("permission has more than {MAX_SEGMENTS} segments")]
    TooManySegments,
    #[error("segment {0} is not `*` or `[a-z0-9][a-z0-9_.-]*`")]
    BadSegment(usize),
}

/// One segment of a granted pattern.
///
/// tessera's own permissions (`tessera:…`) are reserved: a `*` as the *first* segment does
/// not match `tessera`, so `*:*:write` ("write anything in our apps") never grants
/// `tessera:users:write`. Only a pattern starting with the literal `tessera`, or the lone
/// `*` (the superuser), grants them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// Matches exactly this text (which may be a literal `*` only on the required side).
    Lit(Box<str>),
    /// Matches any one segment.
    Any,
}

/// Whether a `*` at position `at` accepts the literal `lit`: everywhere but the reserved
/// first segment.
pub fn any_accepts(at: usize, lit: &str) -> bool {
    at > 0 || lit != RESERVED
}

impl Segment {
    /// The segment both `self` and `other` accept at position `at`, if any.
    fn meet(&self, other: &Segment, at: usize) -> Option<Segment> {
        match (self, other) {
            (Segment::Any, Segment::Lit(s)) | (Segment::Lit(s), Segment::Any) => {
                any_accepts(at, s).then(|| Segment::Lit(s.clone()))
            }
            (Segment::Any, Segment::Any) => Some(Segment::Any),
            (Segment::Lit(a), Segment::Lit(b)) => (a == b).then(|| self.clone()),
        }
    }

    /// Whether every segment `self` accepts at position `at` is accepted by `other`.
    fn within(&self, other: &Segment, at: usize) -> bool {
        match (self, other) {
            (Segment::Lit(s), Segment::Any) => any_accepts(at, s),
            (Segment::Any, Segment::Any) => true,
            (Segment::Any, Segment::Lit(_)) => false,
            (Segment::Lit(a), Segment::Lit(b)) => a == b,
        }
    }

    fn accepts(&self, required: &str, at: usize) -> bool {
        match self {
            Segment::Any => any_accepts(at, required),
            Segment::Lit(s) => &**s == required,
        }
    }
}

/// A granted permission pattern.
///
/// It accepts the permissions whose first `head.len()` segments match `head` and that have
/// exactly that many segments (`open == false`) or one or more further ones (`open == true`,
/// written as a trailing `*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern {
    head: Vec<Segment>,
    open: bool,
}

/// Checks the syntax shared by granted and required permissions and splits it into segments.
pub(crate) fn segments(text: &str) -> Result<Vec<&str>, PermissionSyntaxError> {
    if text.is_empty() {
        return Err(PermissionSyntaxError::Empty);
    }
    if text.len() > MAX_LEN {
        return Err(PermissionSyntaxError::TooLong);
    }
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > MAX_SEGMENTS {
        return Err(PermissionSyntaxError::TooManySegments);
    }
    for (i, part) in parts.iter().enumerate() {
        if !valid_segment(part) {
            return Err(PermissionSyntaxError::BadSegment(i + 1));
        }
    }
    Ok(parts)
}

fn valid_segment(seg: &str) -> bool {
    if seg == "*" {
        return true;
    }
    let mut bytes = seg.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit() => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'))
}

/// Validates a required permission (where `*` is a literal).
pub fn validate_required(text: &str) -> Result<(), PermissionSyntaxError> {
    segments(text).map(|_| ())
}

impl Pattern {
    /// Parses a granted permission.
    pub fn parse(text: &str) -> Result<Pattern, PermissionSyntaxError> {
        let parts = segments(text)?;
        let open = parts.last().is_some_and(|s| *s == "*");
        let keep = if open { parts.len() - 1 } else { parts.len() };
        let head = parts[..keep]
            .iter()
            .map(|s| {
                if *s == "*" {
                    Segment::Any
                } else {
                    Segment::Lit((*s).into())
                }
            })
            .collect();
        Ok(Pattern { head, open })
    }

    /// A pattern from its parts; `head` holds at most [`MAX_SEGMENTS`] segments.
    pub(crate) fn from_parts(head: Vec<Segment>, open: bool) -> Pattern {
        Pattern { head, open }
    }

    /// The segments before the trailing `*`, if any.
    pub fn head(&self) -> &[Segment] {
        &self.head
    }

    /// Whether the pattern ends in `*` (one or more further segments).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Whether this grant satisfies a required permission (given as its text).
    ///
    /// The required side is not re-validated here: callers validate requests once at the edge.
    pub fn matches(&self, required: &str) -> bool {
        let mut parts = required.split(':');
        for (at, seg) in self.head.iter().enumerate() {
            match parts.next() {
                Some(p) if seg.accepts(p, at) => {}
                _ => return false,
            }
        }
        let rest = parts.next().is_some();
        rest == self.open
    }

    /// The pattern accepting exactly what both accept, or `None` when they share nothing.
    pub fn intersect(&self, other: &Pattern) -> Option<Pattern> {
        let (a, b) = (self, other);
        let len = match (a.open, b.open) {
            (false, false) if a.head.len() != b.head.len() => return None,
            (false, true) if a.head.len() <= b.head.len() => return None,
            (true, false) if b.head.len() <= a.head.len() => return None,
            (false, _) => a.head.len(),
            (_, false) => b.head.len(),
            (true, true) => a.head.len().max(b.head.len()),
        };
        let mut head = Vec::with_capacity(len);
        for i in 0..len {
            // Past a side's head, its open tail accepts any segment, the reserved one too
            // (only the lone `*` has an open tail at the first position).
            let seg = match (a.head.get(i), b.head.get(i)) {
                (Some(sa), Some(sb)) => sa.meet(sb, i)?,
                (Some(s), None) | (None, Some(s)) => s.clone(),
                (None, None) => Segment::Any,
            };
            head.push(seg);
        }
        Some(Pattern {
            head,
            open: a.open && b.open,
        })
    }

    /// Whether every permission this pattern accepts is accepted by `other`.
    pub fn within(&self, other: &Pattern) -> bool {
        let lengths_fit = match (self.open, other.open) {
            (false, false) => self.head.len() == other.head.len(),
            (false, true) => self.head.len() > other.head.len(),
            (true, true) => self.head.len() >= other.head.len(),
            (true, false) => false,
        };
        lengths_fit
            && other
                .head
                .iter()
                .zip(&self.head)
                .enumerate()
                .all(|(at, (theirs, mine))| mine.within(theirs, at))
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.head {
            if !first {
                f.write_str(":")?;
            }
            first = false;
            match seg {
                Segment::Any => f.write_str("*")?,
                Segment::Lit(s) => f.write_str(s)?,
            }
        }
        if self.open {
            if !first {
                f.write_str(":")?;
            }
            f.write_str("*")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).expect("valid pattern")
    }

    #[test]
    fn syntax() {
        assert!(Pattern::parse("read:contacts").is_ok());
        assert!(Pattern::parse("webhook:manage:team").is_ok());
        assert!(Pattern::parse("a.b_c-d:*:x9").is_ok());
        assert_eq!(Pattern::parse(""), Err(PermissionSyntaxError::Empty));
        assert_eq!(
            Pattern::parse("Read:x"),
            Err(PermissionSyntaxError::BadSegment(1))
        );
        assert_eq!(
            Pattern::parse("read::x"),
            Err(PermissionSyntaxError::BadSegment(2))
        );
        assert_eq!(
            Pattern::parse("read:-x"),
            Err(PermissionSyntaxError::BadSegment(2))
        );
        assert_eq!(
            Pattern::parse("a:b:c:d:e:f:g:h:i"),
            Err(PermissionSyntaxError::TooManySegments)
        );
        assert_eq!(
            Pattern::parse(&"a".repeat(257)),
            Err(PermissionSyntaxError::TooLong)
        );
        assert_eq!(
            Pattern::parse("read:x*"),
            Err(PermissionSyntaxError::BadSegment(2))
        );
    }

    #[test]
    fn matching() {
        assert!(p("read:contacts").matches("read:contacts"));
        assert!(!p("read:contacts").matches("write:contacts"));
        assert!(!p("write:contacts").matches("read:contacts"));
        assert!(p("webhook:*").matches("webhook:manage:team"));
        assert!(p("webhook:*").matches("webhook:manage"));
        assert!(!p("webhook:*").matches("webhook"));
        assert!(p("*").matches("anything:at:all"));
        assert!(p("*:contacts").matches("read:contacts"));
        assert!(!p("*:contacts").matches("read:contacts:x"));
        // `*` in a required permission is a literal.
        assert!(p("webhook:manage:*").matches("webhook:manage:*"));
        assert!(p("webhook:*").matches("webhook:manage:*"));
        assert!(!p("webhook:manage:team").matches("webhook:manage:*"));
        assert!(!p("read:contacts").matches("read:contacts:extra"));
        assert!(!p("read:contacts:extra").matches("read:contacts"));
    }

    #[test]
    fn intersection_and_display() {
        let r = p("webhook:*").intersect(&p("webhook:manage:team"));
        assert_eq!(r.map(|x| x.to_string()), Some("webhook:manage:team".into()));
        assert_eq!(p("webhook:*").intersect(&p("read:*")), None);
        let r = p("*:contacts").intersect(&p("read:*"));
        assert_eq!(r.map(|x| x.to_string()), Some("read:contacts".into()));
        let r = p("a:*").intersect(&p("*:b:*"));
        assert_eq!(r.map(|x| x.to_string()), Some("a:b:*".into()));
        let r = p("*").intersect(&p("*"));
        assert_eq!(r.map(|x| x.to_string()), Some("*".into()));
        assert_eq!(p("a:*").intersect(&p("a")), None);
    }

    #[test]
    fn containment() {
        assert!(p("webhook:manage:team").within(&p("webhook:*")));
        assert!(p("webhook:*:team").within(&p("webhook:*")));
        assert!(!p("webhook:*").within(&p("webhook:*:team")));
        assert!(p("a:*").within(&p("*")));
        assert!(!p("*").within(&p("a:*")));
        assert!(p("a:b:*").within(&p("a:*")));
        assert!(!p("a").within(&p("a:*")));
        assert!(p("a:*:c").within(&p("*:*:c")));
    }
}
