//! The scenario's `[gates]` table: thresholds a run must meet, checked for
//! range when the scenario loads; [`crate::gates`] judges a run against them.
//!
//! In a scenario of several targets (`[[targets]]`), `[gates]` applies to
//! every target and a `[gates.<label>]` table to the target of that label: a
//! key set there replaces the same key of `[gates]` for that target alone.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The scenario's `[gates]` table. Every gate is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateThresholds {
    /// Highest acceptable overall over-removal rate of protected cases.
    pub max_over_removal_rate: Option<f64>,
    /// Highest acceptable over-removal rate of any language with at least the minimum n.
    pub max_language_over_removal_rate: Option<f64>,
    /// Highest acceptable rate ratio among statistically significant over-removal disparities.
    pub max_disparity_ratio: Option<f64>,
    /// Highest acceptable share of cases that ended in `error`.
    pub max_error_rate: Option<f64>,
    /// Lowest acceptable overall detection rate of violating cases.
    pub min_detection_rate: Option<f64>,
    /// Highest acceptable counterfactual flip rate.
    pub max_flip_rate: Option<f64>,
    /// Lowest acceptable share of adverse decisions that offer a route to appeal.
    pub min_appeal_route_coverage: Option<f64>,
    /// Lowest acceptable share of decided appeals against wrongful removals that were reversed.
    pub min_reversal_rate: Option<f64>,
}

/// The keys of [`GateThresholds`], in the order of its fields.
const GATE_KEYS: [&str; 8] = [
    "max_over_removal_rate",
    "max_language_over_removal_rate",
    "max_disparity_ratio",
    "max_error_rate",
    "min_detection_rate",
    "max_flip_rate",
    "min_appeal_route_coverage",
    "min_reversal_rate",
];

impl GateThresholds {
    /// Every gate's threshold, by key, in the order of [`GATE_KEYS`].
    fn thresholds_mut(&mut self) -> [&mut Option<f64>; 8] {
        [
            &mut self.max_over_removal_rate,
            &mut self.max_language_over_removal_rate,
            &mut self.max_disparity_ratio,
            &mut self.max_error_rate,
            &mut self.min_detection_rate,
            &mut self.max_flip_rate,
            &mut self.min_appeal_route_coverage,
            &mut self.min_reversal_rate,
        ]
    }

    /// The threshold of the gate `key`, `None` for a key that names no gate.
    fn threshold_mut(&mut self, key: &str) -> Option<&mut Option<f64>> {
        let at = GATE_KEYS.iter().position(|k| *k == key)?;
        self.thresholds_mut().into_iter().nth(at)
    }

    /// These thresholds with every one `own` sets in its place: the gates of
    /// one target, `own` being its `[gates.<label>]` table.
    pub fn overridden_by(&self, own: &GateThresholds) -> GateThresholds {
        let mut merged = self.clone();
        let mut own = own.clone();
        for (slot, value) in merged.thresholds_mut().into_iter().zip(own.thresholds_mut()) {
            if value.is_some() {
                *slot = *value;
            }
        }
        merged
    }

    /// `(name, threshold)` of every gate set, with problems for out-of-range values.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let rates = [
            ("max_over_removal_rate", self.max_over_removal_rate),
            ("max_language_over_removal_rate", self.max_language_over_removal_rate),
            ("max_error_rate", self.max_error_rate),
            ("min_detection_rate", self.min_detection_rate),
            ("max_flip_rate", self.max_flip_rate),
            ("min_appeal_route_coverage", self.min_appeal_route_coverage),
            ("min_reversal_rate", self.min_reversal_rate),
        ];
        for (name, value) in rates {
            if let Some(v) = value.filter(|v| !(0.0..=1.0).contains(v)) {
                problems.push((name.to_string(), format!("must be a share between 0 and 1, got {v}")));
            }
        }
        if let Some(v) = self.max_disparity_ratio.filter(|v| !(v.is_finite() && *v > 0.0)) {
            problems.push((
                "max_disparity_ratio".into(),
                format!("must be a positive ratio, got {v}"),
            ));
        }
        problems
    }
}

/// `[gates]` as written: the thresholds of every target, and the
/// `[gates.<label>]` tables of single targets (which the plan checks against
/// the scenario's labels).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawGates {
    /// The keys of `[gates]` itself: every target's.
    pub shared: GateThresholds,
    /// `[gates.<label>]`, by label.
    pub by_target: BTreeMap<String, GateThresholds>,
}

impl<'de> Deserialize<'de> for RawGates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(GatesVisitor)
    }
}

struct GatesVisitor;

impl<'de> Visitor<'de> for GatesVisitor {
    type Value = RawGates;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of gates")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawGates, A::Error> {
        let mut gates = RawGates::default();
        while let Some(key) = map.next_key::<String>()? {
            match gates.shared.threshold_mut(&key) {
                Some(slot) => *slot = map.next_value()?,
                None => {
                    let own = map.next_value_seed(OneTargetsGates { key: &key })?;
                    gates.by_target.insert(key, own);
                }
            }
        }
        Ok(gates)
    }
}

/// The value of a key of `[gates]` that names no gate: a target's table of
/// gates, or else a misspelt gate (refused as serde refuses an unknown field).
struct OneTargetsGates<'k> {
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for OneTargetsGates<'_> {
    type Value = GateThresholds;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<GateThresholds, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl OneTargetsGates<'_> {
    fn unknown<E: de::Error>(&self) -> E {
        E::unknown_field(self.key, &GATE_KEYS)
    }
}

impl<'de> Visitor<'de> for OneTargetsGates<'_> {
    type Value = GateThresholds;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a gate's threshold, or a table of one target's gates")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GateThresholds, A::Error> {
        GateThresholds::deserialize(de::value::MapAccessDeserializer::new(map))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<GateThresholds, E> {
        Err(self.unknown())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<GateThresholds, E> {
        Err(self.unknown())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<GateThresholds, E> {
        Err(self.unknown())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<GateThresholds, E> {
        Err(self.unknown())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<GateThresholds, E> {
        Err(self.unknown())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<GateThresholds, A::Error> {
        Err(self.unknown())
    }
}

impl JsonSchema for RawGates {
    fn schema_name() -> Cow<'static, str> {
        "RawGates".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = GateThresholds::json_schema(generator);
        schema.insert(
            "description".into(),
            "Thresholds every target must meet; with several targets, a table named by a target's label holds \
             thresholds for that target alone, replacing the same keys here."
                .into(),
        );
        schema.insert(
            "additionalProperties".into(),
            generator.subschema_for::<GateThresholds>().to_value(),
        );
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_are_the_fields() {
        let schema = serde_json::to_value(schemars::schema_for!(GateThresholds)).unwrap();
        let fields: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        let mut keys = GATE_KEYS.to_vec();
        keys.sort_unstable();
        assert_eq!(fields, keys);
    }

    #[test]
    fn a_targets_gates_replace_the_shared_ones_they_set() {
        let gates: RawGates = toml::from_str(
            "max_over_removal_rate = 0.1\nmin_detection_rate = 0.5\n[strict]\nmax_over_removal_rate = 0.05\nmax_flip_rate = 0.2\n",
        )
        .unwrap();
        assert_eq!(gates.shared.max_over_removal_rate, Some(0.1));
        let own = gates.shared.overridden_by(&gates.by_target["strict"]);
        assert_eq!(
            own,
            GateThresholds {
                max_over_removal_rate: Some(0.05),
                min_detection_rate: Some(0.5),
                max_flip_rate: Some(0.2),
                ..GateThresholds::default()
            }
        );
    }

    #[test]
    fn misspelt_gates_are_unknown_fields_wherever_they_are() {
        let error = toml::from_str::<RawGates>("max_overremoval_rate = 0.1\n").unwrap_err();
        assert!(
            error
                .message()
                .starts_with("unknown field `max_overremoval_rate`, expected one of `max_over_removal_rate`"),
            "{error}"
        );
        assert_eq!(error.span(), Some(23..26));
        let error = toml::from_str::<RawGates>("[a]\nmax_flip = 0.1\n").unwrap_err();
        assert!(error.message().starts_with("unknown field `max_flip`"), "{error}");
        let error = toml::from_str::<RawGates>("max_flip_rate = \"high\"\n").unwrap_err();
        assert!(error.message().contains("invalid type: string"), "{error}");
    }
}
