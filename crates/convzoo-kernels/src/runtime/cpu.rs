//! Which instruction set the kernels run with: the best the CPU has (AVX-512, AVX2 + FMA, or
//! the portable x86-64 baseline), picked at run time, or the one `CONVZOO_KERNELS` forces, so
//! that the tests run every path on one machine. A path the CPU lacks is never taken: the
//! binary runs on any x86-64 (and elsewhere, portably).
//!
//! Kernels declare their hot loops once and compile them for each path with [`crate::multiversion!`];
//! [`isa`] picks the copy. The `gemm` crate under the convolutions dispatches on its own.

use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that forces a path: `avx512`, `avx2` or `portable`.
pub const KERNELS_ENV: &str = "CONVZOO_KERNELS";

/// An instruction-set path of the kernels, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// AVX-512 (F, VL) with AVX2 and FMA: 16 lanes of f32.
    Avx512,
    /// AVX2 with FMA: 8 lanes of f32.
    Avx2,
    /// The target's baseline (SSE2 on x86-64): what the compiler does without extra features.
    Portable,
}

impl Isa {
    /// Every path, best first.
    pub const ALL: [Isa; 3] = [Isa::Avx512, Isa::Avx2, Isa::Portable];

    /// Its name in `CONVZOO_KERNELS` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
        }
    }

    /// Whether this CPU can run the path.
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                Isa::Avx2.supported()
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The paths this CPU can run, best first.
    pub fn supported_all() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.supported()).collect()
    }

    fn code(self) -> u8 {
        match self {
            Isa::Avx512 => 1,
            Isa::Avx2 => 2,
            Isa::Portable => 3,
        }
    }
}

impl std::str::FromStr for Isa {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Isa::ALL
            .into_iter()
            .find(|i| i.name() == s.trim())
            .ok_or_else(|| format!("unknown kernel path '{s}': use avx512, avx2 or portable"))
    }
}

/// 0: not decided yet; otherwise [`Isa::code`].
static ISA: AtomicU8 = AtomicU8::new(0);

/// The path the kernels take: [`set_isa`]'s, else `CONVZOO_KERNELS`' when the CPU has it (a
/// path it lacks, or an unknown name, gives the best it has), else the best it has.
pub fn isa() -> Isa {
    match ISA.load(Ordering::Relaxed) {
        1 => Isa::Avx512,
        2 => Isa::Avx2,
        3 => Isa::Portable,
        _ => {
            let best = Isa::supported_all()[0];
            let chosen = std::env::var(KERNELS_ENV)
                .ok()
                .and_then(|v| v.parse::<Isa>().ok())
                .filter(|i| i.supported())
                .unwrap_or(best);
            ISA.store(chosen.code(), Ordering::Relaxed);
            chosen
        }
    }
}

/// Makes every kernel take `isa` from now on, for the whole process. Refused (with the reason)
/// when the CPU lacks it.
pub fn set_isa(isa: Isa) -> Result<(), String> {
    if !isa.supported() {
        return Err(format!("this CPU cannot run the {} kernels", isa.name()));
    }
    ISA.store(isa.code(), Ordering::Relaxed);
    Ok(())
}

/// Defines `pub fn $name(args)` that runs the `#[inline(always)]` function `$body` compiled for
/// the path [`isa`] picks: the same source, vectorised by the compiler for AVX-512, AVX2 + FMA
/// or the baseline. A body written `= f::<FUSED>` is generic over `const FUSED: bool` and gets
/// `true` on the paths with FMA (where `f32::mul_add` is one instruction) and `false` on the
/// baseline (where it would be a call to libm).
#[macro_export]
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) = $body:ident::<FUSED>;) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                fn avx512($($arg: $ty),*) {
                    $body::<true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    $body::<true>($($arg),*)
                }
                match $crate::runtime::cpu::isa() {
                    // SAFETY: isa() only returns a path the CPU supports.
                    $crate::runtime::cpu::Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    $crate::runtime::cpu::Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::runtime::cpu::Isa::Portable => {}
                }
            }
            $body::<false>($($arg),*)
        }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) = $body:path;) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                fn avx512($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                match $crate::runtime::cpu::isa() {
                    // SAFETY: isa() only returns a path the CPU supports.
                    $crate::runtime::cpu::Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    $crate::runtime::cpu::Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::runtime::cpu::Isa::Portable => {}
                }
            }
            $body($($arg),*)
        }
    };
}

/// `a * b + c`: one fused multiply-add on the paths that have it (`FUSED`, see
/// [`multiversion!`]), a multiply and an add on the baseline.
#[inline(always)]
pub(crate) fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { a.mul_add(b, c) } else { a * b + c }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_the_portable_path_is_always_there() {
        for isa in Isa::ALL {
            assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
        }
        assert!(
            "sse9"
                .parse::<Isa>()
                .unwrap_err()
                .contains("avx512, avx2 or portable")
        );
        assert!(Isa::Portable.supported());
        assert_eq!(Isa::supported_all().last(), Some(&Isa::Portable));
        assert!(Isa::supported_all().contains(&isa()));
    }
}
