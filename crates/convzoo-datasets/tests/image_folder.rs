//! The class-folder dataset reads a tree of PNGs and reports unreadable images by path.

use convzoo_datasets::{DataError, load_image_folder};

#[test]
fn loads_a_tree_of_pngs_and_reports_bad_images() {
    let root = std::env::temp_dir().join(format!("convzoo-folder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (class, shade) in [("cat", 10u8), ("dog", 200u8)] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..3u8 {
            let img = image::GrayImage::from_pixel(6, 4, image::Luma([shade + i]));
            img.save(root.join(class).join(format!("{i}.png"))).unwrap();
        }
    }
    std::fs::write(root.join("dog").join("notes.txt"), "ignored").unwrap();
    let set = load_image_folder(&root, 1, None).unwrap();
    assert_eq!(set.len(), 6);
    assert_eq!(set.classes(), ["cat", "dog"]);
    assert_eq!(set.shape(), [1, 4, 6]);
    assert_eq!(set.labels(), [0, 0, 0, 1, 1, 1]);
    assert_eq!(set.pixels(4)[0], 201);
    // RGB and resizing.
    let rgb = load_image_folder(&root, 3, Some([8, 8])).unwrap();
    assert_eq!(rgb.shape(), [3, 8, 8]);
    // A file that is not an image.
    let bad = root.join("cat").join("broken.png");
    std::fs::write(&bad, b"not a png").unwrap();
    let err = load_image_folder(&root, 1, None).unwrap_err();
    assert!(matches!(err, DataError::BadImage { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}: unreadable image", bad.display())),
        "{err}"
    );
    std::fs::remove_dir_all(root).unwrap();
}
