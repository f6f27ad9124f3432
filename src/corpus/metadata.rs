//! A case's columns beyond the standard ones ([`Case::metadata`]), kept in a
//! box that only a case with such columns allocates.
//!
//! Nearly every case of a large corpus has none: as a `BTreeMap` each would
//! still carry 24 bytes of empty map, a third of a [`Case`]. A [`Metadata`] is
//! one pointer, null when empty; it reads, compares, prints and serialises as
//! the map it holds (an empty map when it holds none).
//!
//! [`Case`]: super::Case
//! [`Case::metadata`]: super::Case::metadata

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

/// Named values of a case's non-standard columns, ordered by name.
// The box is the point: one pointer in every case instead of an empty map.
#[allow(clippy::box_collection)]
#[derive(Clone, Default)]
pub struct Metadata(Option<Box<BTreeMap<String, String>>>);

impl Metadata {
    /// The value of column `key`, if the case has it.
    pub fn get<Q>(&self, key: &Q) -> Option<&String>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.as_deref()?.get(key)
    }

    /// Whether the case has column `key`.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Sets column `key` to `value`, returning the value it replaces.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        self.0.get_or_insert_default().insert(key, value)
    }

    /// The columns and their values, ordered by column name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().flat_map(|map| map.iter())
    }

    /// The column names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.iter().map(|(key, _)| key)
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.0.as_deref().map_or(0, BTreeMap::len)
    }

    /// Whether the case has no column beyond the standard ones.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FromIterator<(String, String)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(columns: I) -> Metadata {
        Metadata::from(columns.into_iter().collect::<BTreeMap<_, _>>())
    }
}

impl From<BTreeMap<String, String>> for Metadata {
    fn from(map: BTreeMap<String, String>) -> Metadata {
        Metadata((!map.is_empty()).then(|| Box::new(map)))
    }
}

/// Equal when the columns and their values are.
impl PartialEq for Metadata {
    fn eq(&self, other: &Metadata) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Metadata {}

/// Printed as the map.
impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Serialised as the map: an object, `{}` when empty.
impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn metadata_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Metadata>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn metadata_reads_as_its_map() {
        let pairs = [("template", "t1"), ("flag", ""), ("a", "x")];
        let expected = map(&pairs);
        let mut metadata = Metadata::default();
        assert!(metadata.is_empty());
        for (k, v) in pairs {
            assert_eq!(metadata.insert(k.into(), v.into()), None);
        }
        assert_eq!(metadata.insert("a".into(), "y".into()).as_deref(), Some("x"));
        assert_eq!(metadata.insert("a".into(), "x".into()).as_deref(), Some("y"));
        assert_eq!(metadata.len(), 3);
        assert!(!metadata.is_empty());
        assert_eq!(metadata.get("flag").map(String::as_str), Some(""));
        assert!(metadata.contains_key("template"));
        assert!(!metadata.contains_key("other"));
        assert!(metadata.iter().eq(expected.iter()));
        assert!(metadata.keys().eq(expected.keys()));
        assert_eq!(format!("{metadata:?}"), format!("{expected:?}"));
        assert_eq!(
            serde_json::to_string(&metadata).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
        assert_eq!(metadata, Metadata::from(expected.clone()));
        assert_eq!(metadata, expected.into_iter().collect::<Metadata>());
    }

    #[test]
    fn empty_metadata_reads_as_an_empty_map() {
        let empty = Metadata::default();
        let none = BTreeMap::<String, String>::new();
        assert_eq!(empty.len(), 0);
        assert_eq!(empty.get("a"), None);
        assert_eq!(empty.iter().count(), 0);
        assert_eq!(format!("{empty:?}"), format!("{none:?}"));
        assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
        assert_eq!(empty, Metadata::from(none));
        assert_eq!(empty, Vec::new().into_iter().collect::<Metadata>());
        assert_ne!(empty, Metadata::from(map(&[("a", "")])));
    }
}
