//! Serde for the types a flag spells (`--data`, `--augment`, `--normalize`): written and read
//! as that text, through `Display` and `FromStr`.

/// Implements `Serialize` and `Deserialize` for `$t` by its `Display` and `FromStr` (whose error
/// is a `String`).
macro_rules! serde_as_text {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_as_text!(
    crate::spec::DataSpec,
    crate::transform::Augment,
    crate::transform::NormalizeSpec
);
