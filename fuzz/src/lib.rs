//! What the fuzz targets share: seeding libFuzzer's corpus with the valid inputs the property
//! tests mutate, so that a short run starts deep inside each format instead of at its first byte.

/// Writes `seeds` as files `seed-<n>` into the directory named by `LVDIAN_FUZZ_SEEDS`, when that
/// is set (`.ci/fuzz.sh` sets it to the corpus directory it passes to libFuzzer). Called from a
/// target's `init`, which libFuzzer runs before it reads its corpus directories.
pub fn write_seeds(seeds: impl IntoIterator<Item = Vec<u8>>) {
    let Some(dir) = std::env::var_os("LVDIAN_FUZZ_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("the seed directory can be made");
    for (n, seed) in seeds.into_iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{n}")), seed).expect("a seed can be written");
    }
}
