"""Match old (TF1) variables to new (Keras) weights.

Three ways, in this order of precedence:

* an explicit dict ``{old_name: new_name}``;
* regex rules ``[(pattern, replacement), ...]`` applied with ``re.sub`` to each
  old name (first rule that matches wins); the result must be a new name;
* automatic: walk the old variables in creation order and take, for each, the
  first unmatched new weight of the same shape, preferring one whose last name
  component is the same kind (``weights``/``kernel``, ``biases``/``bias``,
  ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``). Where the pick had
  to fall back on order alone although a same-shape candidate of a different
  kind was available, the pair is reported as ambiguous.

A weight-map file (``--weight-map``) is JSON or YAML: either a mapping
``old: new`` or ``{"rules": [[pattern, replacement], ...], "map": {...}}``.
"""

import dataclasses
import json
import os
import re

_KINDS = {
    "weights": "kernel", "kernel": "kernel", "depthwise_weights": "depthwise", "depthwise_kernel": "depthwise",
    "pointwise_kernel": "kernel", "biases": "bias", "bias": "bias", "gamma": "gamma", "beta": "beta",
    "moving_mean": "mean", "moving_variance": "variance", "embeddings": "embeddings",
}


def leaf_kind(name):
    leaf = name.split("#")[0].rsplit("/", 1)[-1]
    leaf = re.sub(r"_\d+$", "", leaf)
    return _KINDS.get(leaf)


@dataclasses.dataclass
class Matching:
    pairs: list  # [(old_name, new_name, how)]
    unmatched_old: list
    unmatched_new: list
    ambiguities: list  # messages
    errors: list  # explicit-map problems

    def old_to_new(self):
        return {o: n for o, n, _ in self.pairs}


def load_weight_map(path):
    """Read a JSON or YAML weight map; ``ValueError`` with the fix on a bad file."""
    if not os.path.exists(path):
        raise ValueError(f"--weight-map {path!r}: no such file. Pass a JSON or YAML file mapping old to new names.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as e:  # noqa: BLE001 - report any parse error with the file name
        raise ValueError(f"--weight-map {path!r}: cannot parse ({type(e).__name__}: {e}).") from e
    return normalize_weight_map(data, where=f"--weight-map {path!r}")


def normalize_weight_map(data, where="weight_map"):
    """``{"map": {...}, "rules": [(pattern, replacement)]}`` from a dict, a list of rules, or a mapping."""
    if data is None:
        return None
    if isinstance(data, (list, tuple)):
        return {"map": {}, "rules": _rules(data, where)}
    if not isinstance(data, dict):
        raise ValueError(
            f"{where}: expected a mapping old->new or {{'rules': [[pattern, replacement], ...]}}, "
            f"received {type(data).__name__}."
        )
    if set(data) <= {"map", "rules"} and data:
        mapping = data.get("map") or {}
        if not isinstance(mapping, dict):
            raise ValueError(f"{where}: 'map' must be a mapping old->new, received {type(mapping).__name__}.")
        return {"map": {str(k): str(v) for k, v in mapping.items()}, "rules": _rules(data.get("rules") or [], where)}
    return {"map": {str(k): str(v) for k, v in data.items()}, "rules": []}


def _rules(rules, where):
    out = []
    for i, rule in enumerate(rules):
        if not (isinstance(rule, (list, tuple)) and len(rule) == 2):
            raise ValueError(f"{where}: rule {i} must be [pattern, replacement], received {rule!r}.")
        try:
            out.append((re.compile(rule[0]), rule[1]))
        except re.error as e:
            raise ValueError(f"{where}: rule {i} pattern {rule[0]!r} is not a regular expression ({e}).") from e
    return out


def match(old, new, weight_map=None):
    """Pair ``old`` and ``new`` variables (objects with ``names`` and ``shapes``)."""
    wm = normalize_weight_map(weight_map)  # idempotent: re.compile(compiled) is compiled
    pairs, errors, ambiguities = [], [], []
    used_new = set()
    pending = []
    for o in old.names:
        target = None
        how = None
        if wm and o in wm["map"]:
            target, how = wm["map"][o], "map"
        elif wm:
            for pattern, repl in wm["rules"]:
                if pattern.search(o):
                    target, how = pattern.sub(repl, o), f"rule {pattern.pattern!r}"
                    break
        if target is None:
            pending.append(o)
            continue
        if target not in new.shapes:
            errors.append(f"old {o!r} maps ({how}) to {target!r}, which is not a weight of the new model")
            continue
        if target in used_new:
            errors.append(f"old {o!r} maps ({how}) to {target!r}, which another old variable already maps to")
            continue
        if old.shapes[o] != new.shapes[target]:
            errors.append(
                f"old {o!r} {old.shapes[o]} maps ({how}) to new {target!r} of shape {new.shapes[target]}"
            )
            continue
        pairs.append((o, target, how))
        used_new.add(target)
    for o in pending:
        candidates = [n for n in new.names if n not in used_new and new.shapes[n] == old.shapes[o]]
        if not candidates:
            continue
        kind = leaf_kind(o)
        same_kind = [n for n in candidates if kind is not None and leaf_kind(n) == kind]
        pick = same_kind[0] if same_kind else candidates[0]
        how = "order+shape+name" if same_kind else "order+shape"
        if not same_kind and kind is not None and leaf_kind(pick) not in (None, kind):
            ambiguities.append(
                f"old {o!r} ({kind}) matched by order and shape to new {pick!r} ({leaf_kind(pick)}); "
                "pass a weight map if that is wrong"
            )
        elif not same_kind and len(candidates) > 1 and leaf_kind(candidates[1]) == leaf_kind(pick):
            ambiguities.append(
                f"old {o!r} matched by creation order to new {pick!r}; {candidates[1]!r} has the same "
                "shape and kind — pass a weight map if the order differs"
            )
        pairs.append((o, pick, how))
        used_new.add(pick)
    order = {n: i for i, n in enumerate(old.names)}
    pairs.sort(key=lambda p: order[p[0]])
    matched_old = {p[0] for p in pairs}
    return Matching(
        pairs=pairs,
        unmatched_old=[o for o in old.names if o not in matched_old],
        unmatched_new=[n for n in new.names if n not in used_new],
        ambiguities=ambiguities,
        errors=errors,
    )
