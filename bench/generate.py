"""Deterministic patient profiles as JSON Lines (for the throughput and memory benchmarks), four data sets:

    project   the project's varied profiles (few distinct values per field: the memos' best case)
    numbers   the same, with distinct numbers (symptom days 0-36500, ABI/pressures with 3-4 decimals)
    factors   2-8 of all the vocabulary's factors per profile, yes or no
    distinct  everything distinct: a CEAP 2020 string built from its parts, 1-5 of all lesions, 2-8 factors,
              every number (a registry: each episode its own CEAP string, lesion list and factors)

    python bench/generate.py N FILE [KIND]
"""

from __future__ import annotations

import json
import random
import sys

CEAP = ["C0", "C1", "C2", "C2,s", "C2,a Ep As Pr", "C3", "C3,s Ep As Pr", "C4a", "C4b", "C4b,s", "C4c", "C5",
        "C5,s Es Ad Pr,o", "C6", "C6,s Es Ad Pr,o", "C6r", "C2,4a,5,s Ep As,p Pr"]
LESIONS = ["chronic-occlusion", "severe-stenosis", "post-thrombotic-obstruction", "nivl", "superficial-reflux",
           "perforator-reflux", "deep-reflux", "acute-iliofemoral-dvt", "acute-femoropopliteal-dvt",
           "isolated-distal-dvt", "pulmonary-embolism", "cteph", "superficial-vein-thrombosis",
           "infrainguinal-obstruction"]
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


def _vocab():
    import vascular_cli

    v = vascular_cli.load().vocabulary
    return sorted(v.terms["lesion"]), sorted(n for n in v.terms["factor"] if n != "symptomatic"), v


def _factors(rng: random.Random, names: list, vocab) -> list:
    """2-8 factors, yes or no, that do not contradict each other (the vocabulary's broader/excludes rules)."""
    chosen: dict = {}
    for name in rng.sample(names, rng.randint(2, 8)):
        trial = {**chosen, name: rng.random() < 0.6}
        try:
            vocab.implied_factors(trial)
        except ValueError:
            continue
        chosen = trial
    return [k if v else k + "=no" for k, v in chosen.items()]


CLASSES = ["0", "1", "2", "2r", "3", "4a", "4b", "4c", "5", "6", "6r"]
SEGMENTS = ["GSVa", "GSVb", "SSV", "AASV", "CFV", "FV", "POPV", "CIV", "EIV", "IVC", "PTV", "CPV", "TIBV"]


def _ceap(rng: random.Random) -> str:
    """A valid CEAP 2020 string from its parts (class list, s/a, E, A, P with segments)."""
    classes = sorted(rng.sample(CLASSES, rng.randint(1, 3)), key=CLASSES.index)
    text = "C" + ",".join(classes)
    if rng.random() < 0.5:
        text += "," + rng.choice("sa")
    if rng.random() < 0.8:
        text += " " + rng.choice(["Ep", "Es", "Esi", "Ese", "Ec", "En", "Ep,s"])
        text += " A" + ",".join(rng.sample(["s", "d", "p"], rng.randint(1, 3)))
        text += " P" + rng.choice(["r", "o", "r,o"])
        if rng.random() < 0.7:
            text += " " + ",".join(rng.sample(SEGMENTS, rng.randint(1, 4)))
    return text


def profile_numbers(rng: random.Random, i: int) -> dict:
    p = profile(rng, i)
    if "symptom_days" in p:
        p["symptom_days"] = rng.randint(0, 36500)
    if "abi" in p:
        p["abi"] = round(rng.uniform(0.2, 1.6), 3)
    if rng.random() < 0.3:
        p["ankle_pressure"] = round(rng.uniform(20, 250), 1)
    if rng.random() < 0.2:
        p["toe_pressure"] = round(rng.uniform(10, 150), 1)
    return p


def profile_factors(rng: random.Random, i: int, lesions: list, names: list, vocab) -> dict:
    p = profile(rng, i)
    p["factors"] = _factors(rng, names, vocab)
    return p


def profile_distinct(rng: random.Random, i: int, lesions: list, names: list, vocab) -> dict:
    p: dict = {"id": f"ep-{i}", "ceap": _ceap(rng), "lesion": rng.sample(lesions, rng.randint(1, 5)),
               "factors": _factors(rng, names, vocab), "symptom_days": rng.randint(0, 36500),
               "abi": round(rng.uniform(0.2, 1.6), 3)}
    if rng.random() < 0.5:
        p["bleeding_risk"] = rng.choice(["low", "moderate", "high"])
    if rng.random() < 0.5:
        p["severity"] = rng.choice(["mild", "moderate", "severe"])
    if rng.random() < 0.3:
        p["ankle_pressure"] = round(rng.uniform(20, 250), 1)
    if rng.random() < 0.2:
        p["toe_pressure"] = round(rng.uniform(10, 150), 1)
    return p


KINDS = ("project", "numbers", "factors", "distinct")


def main(n: int, path: str, seed: int = 2026, kind: str = "project") -> None:
    rng = random.Random(seed)
    extra = _vocab() if kind in ("factors", "distinct") else ()
    make = {"project": profile, "numbers": profile_numbers, "factors": profile_factors,
            "distinct": profile_distinct}[kind]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps(make(rng, i, *extra), separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], kind=sys.argv[3] if len(sys.argv) > 3 else "project")
