//! Bad data never trains in silence: each case is one line naming the file, exit status 1, no
//! run directory; `--skip-bad-images` skips undecodable images and lists them in the run.

use std::path::Path;

mod common;
use common::*;

/// `train --data SPEC` must fail with one line naming `names` and saying `what`, status 1.
fn refused(spec: &str, out: &Path, names: &Path, what: &str) {
    let o = words(&format!(
        "train --data {spec} --epochs 1 --out {}",
        out.display()
    ));
    assert_one_line_error(&o, 1, &names.display().to_string());
    assert!(stderr(&o).contains(what), "{}", stderr(&o));
    assert!(!out.exists(), "a run directory was made for bad data");
}

#[test]
fn every_bad_image_folder_is_named() {
    let dir = scratch("bad-folder");
    let root = dir.join("pets");
    image_folder(&root, "train", 2);
    image_folder(&root, "test", 1);
    let spec = format!("folder:{}", root.display());
    let out = dir.join("run");
    let cat = root.join("train/cat");

    let text = cat.join("notes.txt");
    std::fs::write(&text, "a note").unwrap();
    refused(&spec, &out, &text, "not an image");
    std::fs::remove_file(&text).unwrap();

    let cut = cat.join("cut.png");
    let whole = std::fs::read(cat.join("0.png")).unwrap();
    std::fs::write(&cut, &whole[..whole.len() / 3]).unwrap();
    refused(&spec, &out, &cut, "unreadable image");
    // --skip-bad-images trains without it, says so, and lists it in the run.
    let o = ok(&format!(
        "train --data {spec} --skip-bad-images --epochs 1 --out {}",
        out.display()
    ));
    assert!(
        stderr(&o).contains("skipped 1 image files"),
        "{}",
        stderr(&o)
    );
    let listed = std::fs::read_to_string(out.join("skipped.txt")).unwrap();
    assert!(listed.starts_with(&cut.display().to_string()), "{listed}");
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_file(&cut).unwrap();

    let gone = cat.join("gone.png");
    std::os::unix::fs::symlink(dir.join("nowhere.png"), &gone).unwrap();
    refused(&spec, &out, &gone, "cannot read");
    std::fs::remove_file(&gone).unwrap();

    let empty = root.join("train/eel");
    std::fs::create_dir_all(&empty).unwrap();
    refused(&spec, &out, &empty, "empty class folder");
    std::fs::write(empty.join("0.png"), whole).unwrap();
    let differ = "different classes (only in train: eel";
    refused(&spec, &out, &root.join("test"), differ);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_cifar_files_and_flags_are_named() {
    let dir = scratch("bad-cifar");
    let c10 = dir.join("c10");
    cifar(&c10, 3);
    let spec = format!("cifar10:{}", c10.display());
    let out = dir.join("run");
    let test = c10.join("test_batch.bin");
    let bytes = std::fs::read(&test).unwrap();
    std::fs::write(&test, &bytes[..bytes.len() - 10]).unwrap();
    refused(
        &spec,
        &out,
        &test,
        "not a whole number of 3073-byte records",
    );
    let mut bad_label = bytes.clone();
    bad_label[3073] = 11;
    std::fs::write(&test, bad_label).unwrap();
    refused(
        &spec,
        &out,
        &test,
        "label 11 at index 1 is outside the 10 classes",
    );

    assert_one_line_error(
        &run(&["train", "--data", "imagenet"]),
        2,
        "unknown dataset 'imagenet': use fashion-mnist, mnist, folder:PATH or cifar10:PATH",
    );
    assert_one_line_error(
        &run(&["train", "--val-split", "0.2"]),
        2,
        "--val-split holds out part of an image folder",
    );
    std::fs::remove_dir_all(dir).unwrap();
}
