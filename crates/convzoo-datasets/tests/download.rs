//! The download fall-back, against a small HTTP server on the loopback interface that serves
//! the shipped files (a bounded number of requests; it stops by itself).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use convzoo_datasets::{DataError, FASHION_MNIST, Split, download_from, workspace_datasets};

/// Serves up to `requests` GETs: `/good/NAME` from the shipped directory, `/bad/NAME` with one
/// byte changed, anything else 404. Returns the base URL.
fn serve(requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let file = path.rsplit('/').next().unwrap();
            let served = path.starts_with("/good/") || path.starts_with("/bad/");
            let body = served
                .then(|| std::fs::read(workspace_datasets().join("fashion-mnist").join(file)).ok())
                .flatten()
                .map(|mut b| {
                    if path.starts_with("/bad/") {
                        let n = b.len();
                        b[n - 9] ^= 0xff;
                    }
                    b
                });
            let head = match &body {
                Some(b) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    b.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .into(),
            };
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_deref().unwrap_or_default());
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convzoo-dl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn downloads_checks_and_refuses_corrupt_or_missing_files() {
    let base = serve(6);
    let dest = scratch("good");
    let mut urls = Vec::new();
    download_from(&FASHION_MNIST, &format!("{base}/good/"), &dest, &mut |u| {
        urls.push(u.to_string())
    })
    .unwrap();
    assert_eq!(urls.len(), 4, "{urls:?}");
    assert!(
        urls[0].ends_with("/good/train-images-idx3-ubyte.gz"),
        "{urls:?}"
    );
    let test = FASHION_MNIST.load_from(&dest, Split::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    // Nothing but the four files is left behind.
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 4);

    // A corrupt download is refused and not written.
    let dest_bad = scratch("bad");
    let err = download_from(
        &FASHION_MNIST,
        &format!("{base}/bad/"),
        &dest_bad,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, DataError::Checksum { .. } | DataError::Gzip { .. }),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&dest_bad).unwrap().count(), 0);

    // A missing file names the URL.
    let dest_404 = scratch("missing");
    let err = download_from(
        &FASHION_MNIST,
        &format!("{base}/none/"),
        &dest_404,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, DataError::Download { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("/none/train-images-idx3-ubyte.gz: download failed"),
        "{err}"
    );
    for d in [dest, dest_bad, dest_404] {
        std::fs::remove_dir_all(d).unwrap();
    }
}
