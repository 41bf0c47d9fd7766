"""Deterministic, varied patient profiles as JSON Lines (for the throughput and memory benchmarks)."""

from __future__ import annotations

import json
import random
import sys

CEAP = ["C0", "C1", "C2", "C2,s", "C2,a Ep As Pr", "C3", "C3,s Ep As Pr", "C4a", "C4b", "C4b,s", "C4c", "C5",
        "C5,s Es Ad Pr,o", "C6", "C6,s Es Ad Pr,o", "C6r", "C2,4a,5,s Ep As,p Pr"]
LESIONS = ["chronic-occlusion", "severe-stenosis", "post-thrombotic-obstruction", "nivl", "superficial-reflux",
           "perforator-reflux", "deep-reflux", "acute-iliofemoral-dvt", "acute-femoropopliteal-dvt",
           "isolated-distal-dvt", "pulmonary-embolism", "cteph", "superficial-vein-thrombosis", "infrainguinal-obstruction"]
FACTORS = ["first-episode", "ambulatory", "malignancy", "pregnancy", "arterial-disease", "phlegmasia",
           "anticoagulation-contraindicated", "endovascular-failed", "recalcitrant-ulcer", "unprovoked",
           "provoked-major-transient", "on-anticoagulation", "symptomatic"]


def profile(rng: random.Random, i: int) -> dict:
    p: dict = {"id": f"ep-{i}"}
    if rng.random() < 0.8:
        p["ceap"] = rng.choice(CEAP)
    if rng.random() < 0.85:
        p["lesion"] = rng.sample(LESIONS, rng.randint(1, 2))
    if rng.random() < 0.5:
        p["bleeding_risk"] = rng.choice(["low", "moderate", "high"])
    if rng.random() < 0.4:
        p["severity"] = rng.choice(["mild", "moderate", "severe"])
    if rng.random() < 0.5:
        p["symptom_days"] = rng.randint(0, 400)
    if rng.random() < 0.3:
        p["abi"] = round(rng.uniform(0.3, 1.3), 2)
    if rng.random() < 0.6:
        facts = rng.sample(FACTORS, rng.randint(1, 3))
        p["factors"] = [f if rng.random() < 0.7 else f + "=no" for f in facts]
    if "unprovoked" in p.get("factors", []) and "provoked-major-transient" in p.get("factors", []):
        p["factors"].remove("provoked-major-transient")  # mutually exclusive in the vocabulary
    if "symptomatic" in str(p.get("factors")) and "," in p.get("ceap", ""):
        p["factors"] = [f for f in p["factors"] if not f.startswith("symptomatic")]  # avoid CEAP s/a contradictions
    return p


def main(n: int, path: str, seed: int = 2026) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps(profile(rng, i), separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
