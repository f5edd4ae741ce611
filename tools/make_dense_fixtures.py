#!/usr/bin/env python3
"""Writes Tests/DenseTests/Fixtures/coco_reference.json: small random box and mask
detection cases and the numbers pycocotools' COCOeval gives for them. COCOEvalTests
reads the file and checks Dense's COCOEval against it (CI has no Python packages; only
this script needs them):

    python3 -m venv /tmp/cocoenv && /tmp/cocoenv/bin/pip install pycocotools numpy
    /tmp/cocoenv/bin/python tools/make_dense_fixtures.py

The box case covers what is easy to get subtly wrong: annotation areas that differ from
box areas (the size buckets use the annotation's), an area exactly on a bucket edge,
equal scores within and across images, wrong-class and duplicate predictions, an image
without ground truth, one without predictions, a category with predictions but no
ground truth, and one image with 105 predictions of one category (the cut to 100 drops
the only true positive). The mask case uses custom area ranges on 20x20 canvases.
"""
import json
import os

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "DenseTests", "Fixtures", "coco_reference.json")


def evaluate(images, categories, iou_type, area_ranges=None, height=None, width=None):
    """COCOeval on in-memory datasets; returns stats[0:6] and per-category AP (None for -1)."""
    gt = {"images": [], "annotations": [], "categories": [{"id": c + 1, "name": str(c)} for c in range(categories)]}
    results = []
    ann_id = 1
    for i, image in enumerate(images):
        gt["images"].append({"id": i + 1, "width": width or 320, "height": height or 320})
        for g in image["gt"]:
            ann = {"id": ann_id, "image_id": i + 1, "category_id": g["category"] + 1, "iscrowd": 0, "area": g["area"]}
            if iou_type == "bbox":
                ann["bbox"] = g["box"]
            else:
                rle = encode(g["rows"])
                ann["segmentation"] = rle
                ann["bbox"] = list(mask_utils.toBbox(rle))
            gt["annotations"].append(ann)
            ann_id += 1
        for d in image["dt"]:
            r = {"image_id": i + 1, "category_id": d["category"] + 1, "score": d["score"]}
            if iou_type == "bbox":
                r["bbox"] = d["box"]
            else:
                r["segmentation"] = encode(d["rows"])
            results.append(r)
    coco_gt = COCO()
    coco_gt.dataset = gt
    coco_gt.createIndex()
    coco_dt = coco_gt.loadRes(results)
    e = COCOeval(coco_gt, coco_dt, iou_type)
    if area_ranges is not None:
        s, m = area_ranges
        e.params.areaRng = [[0, 1e10], [0, s], [s, m], [m, 1e10]]
    e.evaluate()
    e.accumulate()
    e.summarize()
    stats = [None if v == -1 else float(v) for v in e.stats[:6]]
    per_category = []
    for k in range(categories):
        p = e.eval["precision"][:, :, k, 0, 2]
        per_category.append(float(np.mean(p[p > -1])) if (p > -1).any() else None)
    return stats, per_category


def encode(rows):
    m = np.array([[c == "1" for c in r] for r in rows], dtype=np.uint8)
    return mask_utils.encode(np.asfortranarray(m))


def box_case(rng):
    categories = 4  # category 3 never has ground truth
    images = []
    for i in range(8):
        gts, dts = [], []
        n = 0 if i == 6 else int(rng.integers(1, 6))
        for _ in range(n):
            w, h = (float(np.round(np.exp(rng.uniform(np.log(6), np.log(220))), 1)) for _ in range(2))
            x, y = (float(np.round(rng.uniform(0, 150), 1)) for _ in range(2))
            area = float(np.round(w * h * rng.uniform(0.4, 1.0), 2))
            gts.append({"category": int(rng.integers(0, 3)), "box": [x, y, w, h], "area": area})
        if i == 0:
            gts.append({"category": 0, "box": [10.0, 10.0, 32.0, 32.0], "area": 1024.0})  # on the small/medium edge
        for g in gts:
            if i == 7 or rng.uniform() < 0.15:
                continue  # image 7 has no predictions
            x, y, w, h = g["box"]
            jitter = lambda v, s: float(np.round(v + rng.uniform(-0.08, 0.08) * s, 1))
            box = [jitter(x, w), jitter(y, h), max(1.0, jitter(w, w)), max(1.0, jitter(h, h))]
            category = g["category"] if rng.uniform() < 0.85 else int(rng.integers(0, 4))
            dts.append({"category": category, "score": float(np.round(rng.uniform(0.3, 1.0), 1)), "box": box})
            if rng.uniform() < 0.25:  # a duplicate
                dts.append({"category": category, "score": float(np.round(rng.uniform(0.1, 0.9), 1)),
                            "box": [jitter(x, w), jitter(y, h), w, h]})
        if i != 7:
            for _ in range(int(rng.integers(0, 4))):  # background false positives
                w, h = (float(np.round(rng.uniform(5, 120), 1)) for _ in range(2))
                dts.append({"category": int(rng.integers(0, 4)), "score": float(np.round(rng.uniform(0, 0.8), 1)),
                            "box": [float(np.round(rng.uniform(0, 200), 1)), float(np.round(rng.uniform(0, 200), 1)), w, h]})
        if i == 0:
            dts.append({"category": 1, "score": 0.5, "box": [100.0, 100.0, 96.0, 96.0]})  # area on the medium/large edge
        images.append({"gt": gts, "dt": dts})
    # 105 predictions of category 2 on one object; the only hit has the lowest score.
    target = [40.0, 40.0, 50.0, 30.0]
    dts = [{"category": 2, "score": float(np.round(0.2 + 0.007 * j, 3)), "box": [200.0 + j, 200.0, 20.0, 20.0]}
           for j in range(104)]
    dts.append({"category": 2, "score": 0.1, "box": target})
    images.append({"gt": [{"category": 2, "box": target, "area": 1500.0}], "dt": dts})
    stats, per_category = evaluate(images, categories, "bbox")
    return {"categories": categories, "images": images, "stats": stats, "per_category_ap": per_category}


def random_mask(rng, side):
    m = np.zeros((side, side), dtype=bool)
    for _ in range(int(rng.integers(1, 3))):
        h, w = int(rng.integers(2, 12)), int(rng.integers(2, 12))
        y, x = int(rng.integers(0, side - h)), int(rng.integers(0, side - w))
        m[y:y + h, x:x + w] = True
    return m


def perturb(rng, m):
    side = m.shape[0]
    out = np.roll(m, (int(rng.integers(-1, 2)), 0), axis=(0, 1)) if rng.uniform() < 0.5 else m.copy()
    edge = out.copy()
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        edge |= np.roll(out, (dy, dx), axis=(0, 1))
    edge &= ~np.roll(np.roll(out, 1, 0) & np.roll(out, -1, 0) & np.roll(out, 1, 1) & np.roll(out, -1, 1), 0, 0)
    flips = edge & (rng.uniform(size=m.shape) < 0.06)  # ragged borders
    out = np.where(flips, ~out, out)
    return out if out.any() else m.copy()


def rows(m):
    return ["".join("1" if v else "0" for v in r) for r in m]


def mask_case(rng):
    side, categories = 20, 3
    images = []
    for i in range(5):
        gts, dts = [], []
        for _ in range(int(rng.integers(1, 4))):
            m = random_mask(rng, side)
            gts.append({"category": int(rng.integers(0, 3)), "rows": rows(m), "area": float(m.sum())})
            if rng.uniform() < 0.85:
                category = gts[-1]["category"] if rng.uniform() < 0.85 else int(rng.integers(0, 3))
                dts.append({"category": category, "score": float(np.round(rng.uniform(0.2, 1.0), 2)),
                            "rows": rows(perturb(rng, m))})
        for _ in range(int(rng.integers(0, 3))):
            dts.append({"category": int(rng.integers(0, 3)), "score": float(np.round(rng.uniform(0, 0.7), 2)),
                        "rows": rows(random_mask(rng, side))})
        images.append({"gt": gts, "dt": dts})
    area_ranges = [16.0, 64.0]
    stats, per_category = evaluate(images, categories, "segm", area_ranges, side, side)
    return {"categories": categories, "side": side, "area_ranges": area_ranges, "images": images,
            "stats": stats, "per_category_ap": per_category}


def main():
    rng = np.random.default_rng(20)
    fixture = {"generator": "tools/make_dense_fixtures.py (pycocotools COCOeval)",
               "box": box_case(rng), "mask": mask_case(rng)}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", OUT, os.path.getsize(OUT), "bytes")
    print("box", fixture["box"]["stats"], "\nmask", fixture["mask"]["stats"])


if __name__ == "__main__":
    main()
