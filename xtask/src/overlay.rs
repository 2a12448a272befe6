//! A table of `perf.toml` that sets some fields of a plan structure: the
//! keys the file names replace those fields of the profile's defaults,
//! one by one, and the rest keep the profile's values.
//!
//! Deserialising the table straight into the plan structure filled every
//! unnamed field from its `Default`, which is one profile's: a quick run
//! with any `[vector.load]` key got the full profile's 20 s per rate
//! instead of 5. The keys and their types are still checked when the file
//! is read (unknown keys refused by the structure's own serde rules).

use std::marker::PhantomData;

use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize};

/// The keys a file sets for a `T`.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay<T> {
    table: toml::Table,
    of: PhantomData<T>,
}

impl<T> Default for Overlay<T> {
    fn default() -> Self {
        Overlay {
            table: toml::Table::new(),
            of: PhantomData,
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Overlay<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(d)?;
        // Checked now, so a typo is refused with the file's name; toml puts
        // the key on a line of its own (`\nin `targets``), kept on this one.
        T::deserialize(toml::Value::Table(table.clone()))
            .map_err(|e| serde::de::Error::custom(e.to_string().trim_end().replace('\n', " ")))?;
        Ok(Overlay {
            table,
            of: PhantomData,
        })
    }
}

impl<T: Serialize + DeserializeOwned> Overlay<T> {
    /// `base` with the fields this table sets replaced.
    pub fn over(&self, base: T) -> T {
        let mut merged =
            toml::Table::try_from(&base).expect("plan structures serialise to TOML tables");
        for (key, value) in &self.table {
            merged.insert(key.clone(), value.clone());
        }
        T::deserialize(toml::Value::Table(merged))
            .expect("the keys were checked against T when the file was read")
    }
}

#[cfg(test)]
mod tests {
    use perf_contract::plan::LoadPlan;

    use super::*;

    #[derive(Deserialize)]
    struct File {
        load: Overlay<LoadPlan>,
    }

    #[test]
    fn a_key_replaces_its_field_and_the_rest_keep_the_profiles_values() {
        let f: File = toml::from_str("[load]\nchroma_rates = [10.0]\n").unwrap();
        let quick = LoadPlan {
            seconds_per_rate: 5.0,
            ..LoadPlan::default()
        };
        let merged = f.load.over(quick);
        assert_eq!(merged.chroma_rates, vec![10.0]);
        assert_eq!(merged.seconds_per_rate, 5.0, "the quick default stays");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused_when_read() {
        let typo = toml::from_str::<File>("[load]\nsecond_per_rate = 3.0\n")
            .err()
            .unwrap();
        assert!(typo.to_string().contains("second_per_rate"), "{typo}");
        assert!(toml::from_str::<File>("[load]\nseed = \"x\"\n").is_err());
    }
}
