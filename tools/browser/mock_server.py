"""A stand-in for convzoo-serve's JSON API, to try the page without the Rust server.

Serves crates/convzoo-serve/page/{index.html,app.js,style.css} (read from disk on every request,
so edits show on reload) and fake answers: two runs, a finished LeNet and an AlexNet that
"trains" one epoch every 5 s from start-up (unfinished, so it can't predict, until epoch 10);
/api/predict and /api/inspect give made-up top-5 classes and feature maps (PNGs written with
zlib + struct). Errors are {"error": "..."} with 4xx, as the real server's.

    python tools/browser/mock_server.py --port 8765      # --port 0: any free port
"""
import argparse
import base64
import hashlib
import json
import math
import pathlib
import random
import struct
import sys
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PAGE = pathlib.Path(__file__).resolve().parents[2] / "crates" / "convzoo-serve" / "page"
TYPES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
         "style.css": "text/css; charset=utf-8"}
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
START = time.time()
SECONDS_PER_EPOCH = 5


def png(w, h, gray):
    """8-bit grayscale PNG of w*h values 0..255, row-major."""
    rows = b"".join(b"\0" + bytes(gray[y * w:(y + 1) * w]) for y in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def trouser(u, v):
    """A trouser-like silhouette on [0,1)^2: 1 inside, 0 outside."""
    waist = 0.1 <= v < 0.25 and 0.3 <= u < 0.7
    legs = 0.25 <= v < 0.9 and (0.3 <= u < 0.48 or 0.52 <= u < 0.7)
    return 1.0 if waist or legs else 0.0


def feature_map(w, h, channel, scale=1):
    """An oriented edge response (even channels) or a ReLU'd blob (odd) of the silhouette."""
    a = channel * math.pi / 8
    du, dv = 0.04 * math.cos(a), 0.04 * math.sin(a)
    out = []
    for y in range(h * scale):
        for x in range(w * scale):
            u, v = (x // scale + 0.5) / w, (y // scale + 0.5) / h
            if channel % 2:
                val = trouser(u, v) * (0.4 + 0.6 * (u if channel % 4 == 1 else v))
            else:
                val = max(0.0, trouser(u + du, v + dv) - trouser(u - du, v - dv))
            out.append(int(255 * min(1.0, val)))
    return base64.b64encode(png(w * scale, h * scale, out)).decode()


def layers(rows):
    return [{"name": n, "layer": l, "shape": s, "params": p} for n, l, s, p in rows]


LENET = layers([
    ("net.0", "Conv2d", [1, 6, 28, 28], 156), ("net.1", "Sigmoid", [1, 6, 28, 28], 0),
    ("net.2", "AvgPool2d", [1, 6, 14, 14], 0), ("net.3", "Conv2d", [1, 16, 10, 10], 2416),
    ("net.4", "Sigmoid", [1, 16, 10, 10], 0), ("net.5", "AvgPool2d", [1, 16, 5, 5], 0),
    ("net.6", "Flatten", [1, 400], 0), ("net.7", "Linear", [1, 120], 48120),
    ("net.8", "Sigmoid", [1, 120], 0), ("net.9", "Linear", [1, 84], 10164),
    ("net.10", "Sigmoid", [1, 84], 0), ("net.11", "Linear", [1, 10], 850)])
ALEXNET = layers([
    ("net.0", "Conv2d", [1, 96, 54, 54], 11712), ("net.2", "MaxPool2d", [1, 96, 26, 26], 0),
    ("net.3", "Conv2d", [1, 256, 26, 26], 614656), ("net.5", "MaxPool2d", [1, 256, 12, 12], 0),
    ("net.6", "Conv2d", [1, 384, 12, 12], 885120), ("net.8", "Conv2d", [1, 384, 12, 12], 1327488),
    ("net.10", "Conv2d", [1, 256, 12, 12], 884992), ("net.12", "MaxPool2d", [1, 256, 5, 5], 0),
    ("net.13", "Flatten", [1, 6400], 0), ("net.14", "Linear", [1, 4096], 26218496),
    ("net.17", "Linear", [1, 4096], 16781312), ("net.20", "Linear", [1, 10], 40970)])


def curve(n, loss0, loss1, acc1, gap, ips):
    """n epochs of d2l-like curves: the loss falls, the accuracies rise and flatten."""
    out = []
    for e in range(1, n + 1):
        k = 1 - math.exp(-e / 2.2)
        out.append({"epoch": e, "train_loss": round(loss0 - (loss0 - loss1) * k, 4),
                    "train_acc": round(0.1 + (acc1 - 0.1) * k, 4),
                    "test_acc": round(0.1 + (acc1 - gap - 0.1) * k, 4),
                    "seconds": round(60000 / ips, 2), "train_images_per_sec": ips})
    return out


def runs():
    done = min(10, int((time.time() - START) // SECONDS_PER_EPOCH))
    alex = curve(done, 1.9, 0.3, 0.89, 0.02, 410.0)
    return [
        {"id": 0, "name": "lenet-20261201-120000", "model": "lenet", "data": "fashion-mnist",
         "classes": FASHION, "channels": 1, "size": 28, "finished": True,
         "metrics": {"epochs": curve(10, 2.31, 0.47, 0.82, 0.03, 18900.0)},
         "summary": LENET, "parameters": sum(r["params"] for r in LENET)},
        {"id": 1, "name": "alexnet-20261202-083000", "model": "alexnet", "data": "fashion-mnist",
         "classes": FASHION, "channels": 1, "size": 224, "finished": done >= 10,
         "metrics": {"epochs": alex} if alex else None,
         "summary": ALEXNET, "parameters": sum(r["params"] for r in ALEXNET)},
    ]


def top5(run, body):
    rng = random.Random(hashlib.sha256(body).digest())
    logits = [rng.gauss(0, 2.5) for _ in run["classes"]]
    z = sum(math.exp(x) for x in logits)
    probs = sorted(((math.exp(x) / z, c) for x, c in zip(logits, run["classes"])), reverse=True)
    return [{"name": c, "prob": round(p, 4)} for p, c in probs[:5]]


class Handler(BaseHTTPRequestHandler):
    def send(self, status, body, kind="application/json"):
        data = json.dumps(body).encode() if kind == "application/json" else body
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urlsplit(self.path).path
        name = "index.html" if path == "/" else path.lstrip("/")
        if name in TYPES:
            return self.send(200, (PAGE / name).read_bytes(), TYPES[name])
        if path == "/api/runs":
            return self.send(200, {"runs": runs()})
        self.send(404, {"error": f"no such page: {path}"})

    def do_POST(self):
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path not in ("/api/predict", "/api/inspect"):
            return self.send(404, {"error": f"no such endpoint: {url.path}"})
        arg = parse_qs(url.query).get("run", [""])[0]
        run = next((r for r in runs() if str(r["id"]) == arg), None)
        if run is None:
            return self.send(404, {"error": f"no run with id {arg!r}"})
        if not run["finished"]:
            return self.send(409, {"error": f"run {run['name']} is still training: no model.bpk yet"})
        if not body:
            return self.send(400, {"error": "empty body: send the image file's bytes"})
        if not body.startswith((b"\x89PNG", b"\xff\xd8", b"BM")) and body[8:12] != b"WEBP":
            return self.send(415, {"error": "not a PNG, JPEG, BMP or WebP image"})
        size = run["size"]
        answer = {"model": run["model"], "run": run["name"], "classes": top5(run, body), "ms": 3.2}
        if url.path == "/api/inspect":
            answer["ms"] = 5.1
            answer["input"] = {"shape": [run["channels"], size, size],
                               "png": feature_map(size, size, 1, max(1, 112 // size))}
            answer["layers"] = [{
                "name": r["name"], "layer": r["layer"], "shape": r["shape"], "ms": 0.21,
                "maps": [feature_map(r["shape"][3], r["shape"][2], c)
                         for c in range(min(8, r["shape"][1]))] if len(r["shape"]) == 4 else []}
                for r in run["summary"]]
        self.send(200, answer)

    def log_message(self, fmt, *args):
        sys.stderr.write(f"mock: {self.command} {self.path} {args[1] if len(args) > 1 else ''}"
                         f" ({self.headers.get('Content-Length') or 0} bytes in)\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"mock: serving http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
