//! Envoy's `CheckRequest`, read straight from the wire: of the request's attributes only the
//! method, the few headers tessera reads (from `headers` and from `header_map`) and the
//! route's `tessera.*` context extensions, borrowed from the received bytes.
//!
//! Why not prost's `CheckRequest`: it allocates a `String` for every header name and value
//! and a map for each map field, then frees them all; on a typical gateway request that was
//! a tenth of the server's time per Check, for one header read. The semantics are prost's
//! for the fields read: a message field that occurs twice is merged, a map key's last entry
//! wins, a string must be UTF-8. Every header and extension entry, read or not, must be UTF-8
//! too (checked without copying), so a request prost refused is still refused. Other fields
//! (peers, metadata, TLS) are skipped by their wire type, unread; groups (wire types 3 and 4,
//! which proto3 never sends) are refused, as are over-long varints. `tests` (below) checks
//! every field read against prost's own decoding.

/// The headers tessera reads, by index in the view.
pub const AUTHORIZATION: usize = 0;
/// The identity headers tessera sets upstream, by index in the view.
pub const IDENTITY: std::ops::Range<usize> = 1..4;
pub const HEADER_NAMES: [&str; 4] = [
    "authorization",
    "x-tessera-subject",
    "x-tessera-token-id",
    "x-tessera-kind",
];
/// The route settings tessera reads from `context_extensions`, by index in the view.
pub const SCOPES: usize = 0;
pub const MATCH: usize = 1;
pub const MUTATING: usize = 2;
pub const STRIP_AUTHORIZATION: usize = 3;
pub const EXTENSION_NAMES: [&str; 4] = [
    "tessera.scopes",
    "tessera.match",
    "tessera.mutating",
    "tessera.strip_authorization",
];

/// What a Check carries that tessera reads.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckView<'a> {
    /// `attributes.request.http` was present.
    pub has_http: bool,
    pub method: &'a str,
    /// `headers[name]` for each of [`HEADER_NAMES`] (the map's last entry for it).
    pub headers: [Option<&'a str>; 4],
    /// `header_map` entries for [`HEADER_NAMES`], in order: (name index, value).
    pub header_map: Vec<(usize, &'a str)>,
    /// `context_extensions[name]` for each of [`EXTENSION_NAMES`].
    pub extensions: [Option<&'a str>; 4],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed CheckRequest: {0}")]
pub struct WireError(&'static str);

enum Value<'a> {
    Varint,
    Bytes(&'a [u8]),
    Fixed,
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&byte, rest) = self
                .buf
                .split_first()
                .ok_or(WireError("truncated varint"))?;
            self.buf = rest;
            // The tenth byte holds the 64th bit only.
            if i == 9 && byte > 1 {
                return Err(WireError("varint too long"));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(WireError("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.buf.len() {
            return Err(WireError("truncated field"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// The next field: its number and value; `None` at the end.
    fn field(&mut self) -> Option<Result<(u64, Value<'a>), WireError>> {
        if self.buf.is_empty() {
            return None;
        }
        Some(self.read_field())
    }

    fn read_field(&mut self) -> Result<(u64, Value<'a>), WireError> {
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return Err(WireError("invalid field number"));
        }
        let value = match key & 7 {
            0 => {
                self.varint()?;
                Value::Varint
            }
            1 => {
                self.take(8)?;
                Value::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| WireError("length"))?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Value::Fixed
            }
            _ => return Err(WireError("unsupported wire type")),
        };
        Ok((number, value))
    }
}

/// The fields of the message in `buf`.
fn each_field<'a>(
    buf: &'a [u8],
    mut f: impl FnMut(u64, Value<'a>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut r = Reader { buf };
    while let Some(field) = r.field() {
        let (number, value) = field?;
        f(number, value)?;
    }
    Ok(())
}

/// A length-delimited field's bytes; any other wire type for it is malformed.
fn bytes<'a>(value: Value<'a>) -> Result<&'a [u8], WireError> {
    match value {
        Value::Bytes(b) => Ok(b),
        _ => Err(WireError("wrong wire type")),
    }
}

fn utf8(b: &[u8]) -> Result<&str, WireError> {
    std::str::from_utf8(b).map_err(|_| WireError("invalid UTF-8"))
}

/// A `map<string, string>` entry: (key, value), absent parts empty; both must be UTF-8.
fn entry(buf: &[u8]) -> Result<(&[u8], &[u8]), WireError> {
    let (mut key, mut value): (&[u8], &[u8]) = (b"", b"");
    each_field(buf, |n, v| {
        match n {
            1 => key = bytes(v)?,
            2 => value = bytes(v)?,
            _ => {}
        }
        Ok(())
    })?;
    utf8(key)?;
    utf8(value)?;
    Ok((key, value))
}

fn index_of(names: &[&str], key: &[u8]) -> Option<usize> {
    names.iter().position(|n| n.as_bytes() == key)
}

impl<'a> CheckView<'a> {
    /// Reads a `CheckRequest`'s encoding.
    pub fn parse(buf: &'a [u8]) -> Result<CheckView<'a>, WireError> {
        let mut view = CheckView::default();
        each_field(buf, |n, v| match n {
            1 => view.attributes(bytes(v)?),
            _ => Ok(()),
        })?;
        Ok(view)
    }

    /// `AttributeContext`: `request` (4) and `context_extensions` (10).
    fn attributes(&mut self, buf: &'a [u8]) -> Result<(), WireError> {
        each_field(buf, |n, v| match n {
            4 => self.request(bytes(v)?),
            10 => {
                let (key, value) = entry(bytes(v)?)?;
                if let Some(i) = index_of(&EXTENSION_NAMES, key) {
                    self.extensions[i] = Some(utf8(value)?);
                }
                Ok(())
            }
            _ => Ok(()),
        })
    }

    /// `AttributeContext.Request`: `http` (2).
    fn request(&mut self, buf: &'a [u8]) -> Result<(), WireError> {
        each_field(buf, |n, v| match n {
            2 => {
                self.has_http = true;
                self.http(bytes(v)?)
            }
            _ => Ok(()),
        })
    }

    /// `HttpRequest`: `method` (2), `headers` (3), `header_map` (13).
    fn http(&mut self, buf: &'a [u8]) -> Result<(), WireError> {
        each_field(buf, |n, v| match n {
            2 => {
                self.method = utf8(bytes(v)?)?;
                Ok(())
            }
            3 => {
                let (key, value) = entry(bytes(v)?)?;
                if let Some(i) = index_of(&HEADER_NAMES, key) {
                    self.headers[i] = Some(utf8(value)?);
                }
                Ok(())
            }
            13 => each_field(bytes(v)?, |n, v| match n {
                1 => self.header_value(bytes(v)?),
                _ => Ok(()),
            }),
            _ => Ok(()),
        })
    }

    /// `HeaderValue`: `key` (1), `value` (2), `raw_value` (3, preferred when not empty).
    fn header_value(&mut self, buf: &'a [u8]) -> Result<(), WireError> {
        let (mut key, mut value, mut raw): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
        each_field(buf, |n, v| {
            match n {
                1 => key = bytes(v)?,
                2 => value = bytes(v)?,
                3 => raw = bytes(v)?,
                _ => {}
            }
            Ok(())
        })?;
        utf8(key)?;
        utf8(value)?;
        if let Some(i) = index_of(&HEADER_NAMES, key) {
            let text = match raw.is_empty() {
                true => utf8(value)?,
                false => std::str::from_utf8(raw).unwrap_or("\u{fffd}"),
            };
            self.header_map.push((i, text));
        }
        Ok(())
    }

    /// Every value of header `index` as Envoy sent it, in either encoding.
    pub fn header_values(&self, index: usize) -> Vec<&'a str> {
        let mut values: Vec<&str> = self.headers[index].into_iter().collect();
        values.extend(
            self.header_map
                .iter()
                .filter(|(i, _)| *i == index)
                .map(|(_, v)| *v),
        );
        values
    }

    pub fn extension(&self, index: usize) -> Option<&'a str> {
        self.extensions[index]
    }
}

#[cfg(test)]
mod tests;
