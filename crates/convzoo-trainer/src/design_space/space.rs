//! The AnyNet design spaces of d2l section 8.8 (after Radosavovic et al., 2020): AnyNetX_A and
//! the four constrained ones, and how a network is drawn from each.

use std::fmt;
use std::str::FromStr;

use convzoo_datasets::SplitMix64;
use convzoo_models::{AnyNetConfig, AnyNetStage, AnyNetStages};
use serde::{Deserialize, Serialize};

/// A design space: AnyNetX_A, then each letter adds a constraint to the one before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Space {
    /// Every stage's depth, width, group width and bottleneck ratio drawn on its own.
    A,
    /// A, with one bottleneck ratio shared by all stages.
    B,
    /// B, with one group width shared by all stages.
    C,
    /// C, with widths that never decrease from stage to stage.
    D,
    /// D, with depths that never decrease from stage to stage.
    E,
}

impl Space {
    /// Every space, in order.
    pub const ALL: [Space; 5] = [Space::A, Space::B, Space::C, Space::D, Space::E];

    /// d2l's name for it (`AnyNetX_A`, ...).
    pub fn title(self) -> String {
        format!("AnyNetX_{self}")
    }
}

impl fmt::Display for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl FromStr for Space {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let letter = s.trim().trim_start_matches("AnyNetX_").to_ascii_uppercase();
        Space::ALL
            .into_iter()
            .find(|space| space.to_string() == letter)
            .ok_or_else(|| format!("unknown design space '{s}'; choose from A, B, C, D, E"))
    }
}

/// The ranges networks are drawn from (the same for every space).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ranges {
    /// Output channels of the stem.
    pub stem_channels: usize,
    /// Number of stages.
    pub stages: usize,
    /// Largest depth of a stage (depths are drawn from 1 to this).
    pub max_depth: usize,
    /// Largest width of a stage (widths are the multiples of 8 up to this).
    pub max_width: usize,
}

/// Group widths drawn from (channels per group; 1 is depthwise).
pub const GROUP_WIDTHS: [usize; 5] = [1, 2, 4, 8, 16];

/// Bottleneck ratios drawn from.
pub const BOTTLENECK_RATIOS: [f64; 3] = [1.0, 0.5, 0.25];

/// Draws of a space that fail AnyNet's checks (groups that do not divide a bottleneck) are
/// drawn again, at most this many times.
const ATTEMPTS: usize = 1000;

/// The `index`-th network of `space` for `seed`: the same arguments draw the same network, so
/// a resumed search draws what it drew before.
pub fn sample(space: Space, ranges: &Ranges, seed: u64, index: usize) -> AnyNetStages {
    let mut rng = SplitMix64::derive(seed, space as u64, index as u64);
    let mut pick = |n: usize| rng.below(n);
    for _ in 0..ATTEMPTS {
        let stages = draw(space, ranges, &mut pick);
        let candidate = AnyNetStages {
            stem_channels: ranges.stem_channels,
            stages,
        };
        let config = AnyNetConfig::new(candidate.stem_channels, candidate.stages.clone());
        if config.check().is_ok() {
            return candidate;
        }
    }
    // A group width of 1 divides every bottleneck, so this is not reached with GROUP_WIDTHS.
    unreachable!("no valid network of {space} in {ATTEMPTS} draws")
}

/// One draw of `space`'s stages; `pick(n)` is uniform in `0..n`.
fn draw(space: Space, r: &Ranges, pick: &mut impl FnMut(usize) -> usize) -> Vec<AnyNetStage> {
    let widths = r.max_width.max(8) / 8;
    let shared_ratio = BOTTLENECK_RATIOS[pick(BOTTLENECK_RATIOS.len())];
    let shared_group = GROUP_WIDTHS[pick(GROUP_WIDTHS.len())];
    let mut stages: Vec<AnyNetStage> = (0..r.stages)
        .map(|_| AnyNetStage {
            depth: 1 + pick(r.max_depth.max(1)),
            width: 8 * (1 + pick(widths)),
            group_width: GROUP_WIDTHS[pick(GROUP_WIDTHS.len())],
            bot_mul: BOTTLENECK_RATIOS[pick(BOTTLENECK_RATIOS.len())],
        })
        .collect();
    for s in &mut stages {
        if space >= Space::B {
            s.bot_mul = shared_ratio;
        }
        if space >= Space::C {
            s.group_width = shared_group;
        }
    }
    // Sorting the drawn values (rather than drawing again) keeps each draw to one try.
    if space >= Space::D {
        let mut w: Vec<usize> = stages.iter().map(|s| s.width).collect();
        w.sort_unstable();
        stages.iter_mut().zip(w).for_each(|(s, w)| s.width = w);
    }
    if space >= Space::E {
        let mut d: Vec<usize> = stages.iter().map(|s| s.depth).collect();
        d.sort_unstable();
        stages.iter_mut().zip(d).for_each(|(s, d)| s.depth = d);
    }
    stages
}

/// Stages as `depth/width/group width/ratio`, space separated (`2/32/8/0.5 3/64/8/0.5`).
pub fn describe(stages: &[AnyNetStage]) -> String {
    stages
        .iter()
        .map(|s| format!("{}/{}/{}/{}", s.depth, s.width, s.group_width, s.bot_mul))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges() -> Ranges {
        Ranges {
            stem_channels: 16,
            stages: 3,
            max_depth: 4,
            max_width: 64,
        }
    }

    #[test]
    fn each_space_keeps_its_constraints_and_draws_are_repeatable() {
        for space in Space::ALL {
            for i in 0..50 {
                let n = sample(space, &ranges(), 7, i);
                assert_eq!(n, sample(space, &ranges(), 7, i));
                let s = &n.stages;
                assert_eq!(s.len(), 3);
                assert!(AnyNetConfig::new(16, s.clone()).check().is_ok());
                assert!(s.iter().all(|s| (1..=4).contains(&s.depth)));
                assert!(
                    s.iter()
                        .all(|s| s.width % 8 == 0 && (8..=64).contains(&s.width))
                );
                let shared = |f: fn(&AnyNetStage) -> f64| s.iter().all(|x| f(x) == f(&s[0]));
                if space >= Space::B {
                    assert!(shared(|x| x.bot_mul), "{space}: {s:?}");
                }
                if space >= Space::C {
                    assert!(shared(|x| x.group_width as f64), "{space}: {s:?}");
                }
                if space >= Space::D {
                    assert!(s.windows(2).all(|p| p[0].width <= p[1].width));
                }
                if space >= Space::E {
                    assert!(s.windows(2).all(|p| p[0].depth <= p[1].depth));
                }
            }
        }
        // Space A does draw stages that differ in ratio and group width.
        let a: Vec<_> = (0..50).map(|i| sample(Space::A, &ranges(), 7, i)).collect();
        assert!(a.iter().any(|n| n.stages[0].bot_mul != n.stages[1].bot_mul));
        assert!(
            a.iter()
                .any(|n| n.stages[0].group_width != n.stages[1].group_width)
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!("b".parse::<Space>(), Ok(Space::B));
        assert_eq!("AnyNetX_E".parse::<Space>(), Ok(Space::E));
        assert!(
            "F".parse::<Space>()
                .unwrap_err()
                .contains("choose from A, B, C, D, E")
        );
        assert_eq!(Space::C.title(), "AnyNetX_C");
    }
}
