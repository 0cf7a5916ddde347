"""Variable matching: explicit map, regex rules, creation order + shape + kind, ambiguities."""

import types

import pytest

from migration.equivalence import _matching


def side(*pairs):
    names = [n for n, _ in pairs]
    return types.SimpleNamespace(names=names, shapes=dict(pairs))


OLD = side(("bn/beta", (4,)), ("bn/gamma", (4,)), ("bn/moving_mean", (4,)), ("bn/moving_variance", (4,)))
# Keras creates gamma before beta: creation order alone would swap them.
NEW = side(("bn/gamma", (4,)), ("bn/beta", (4,)), ("bn/moving_mean", (4,)), ("bn/moving_variance", (4,)))


def test_kind_beats_creation_order_for_batch_norm():
    m = _matching.match(OLD, NEW)
    assert m.old_to_new() == {n: n for n in OLD.names}
    assert not m.ambiguities and not m.unmatched_old and not m.unmatched_new


def test_order_only_pick_of_another_kind_is_reported():
    old = side(("fc/weights", (4,)),)
    new = side(("bn/gamma", (4,)), ("bn/beta", (4,)))
    m = _matching.match(old, new)
    assert m.pairs == [("fc/weights", "bn/gamma", "order+shape")]
    assert m.ambiguities == [
        "old 'fc/weights' (kernel) matched by order and shape to new 'bn/gamma' (gamma); pass a weight map if that is wrong"
    ]
    assert m.unmatched_new == ["bn/beta"]


def test_same_kind_same_shape_candidates_are_ambiguous():
    old = side(("a/w", (2, 2)), ("b/w", (2, 2)))
    new = side(("x/w", (2, 2)), ("y/w", (2, 2)))
    m = _matching.match(old, new)
    assert m.old_to_new() == {"a/w": "x/w", "b/w": "y/w"}
    assert m.ambiguities == [
        "old 'a/w' matched by creation order to new 'x/w'; 'y/w' has the same shape and kind — pass a weight map "
        "if the order differs"
    ]


def test_explicit_map_and_rules_precedence_and_unmatched():
    old = side(("conv/weights", (3, 3)), ("conv/biases", (3,)), ("head/w", (3, 2)))
    new = side(("conv/kernel", (3, 3)), ("conv/bias", (3,)), ("dense/kernel", (3, 2)))
    wm = {"map": {"head/w": "dense/kernel"}, "rules": [[r"/weights$", "/kernel"], [r"/biases$", "/bias"]]}
    m = _matching.match(old, new, wm)
    assert [h for _, _, h in m.pairs] == ["rule '/weights$'", "rule '/biases$'", "map"]
    m2 = _matching.match(old, side(("conv/kernel", (3, 3))), {"conv/weights": "conv/kernel"})
    assert m2.unmatched_old == ["conv/biases", "head/w"]


@pytest.mark.parametrize("bad,message", [
    (42, "weight_map: expected a mapping old->new or {'rules': [[pattern, replacement], ...]}, received int."),
    ({"rules": [["a"]]}, "weight_map: rule 0 must be [pattern, replacement], received ['a']."),
    ({"map": [1, 2]}, "weight_map: 'map' must be a mapping old->new, received list."),
], ids=["not-a-mapping", "rule-arity", "map-not-mapping"])
def test_bad_weight_maps_name_the_problem(bad, message):
    with pytest.raises(ValueError) as e:
        _matching.normalize_weight_map(bad)
    assert str(e.value) == message


def test_weight_map_file_errors(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        _matching.load_weight_map(str(tmp_path / "missing.json"))
    f = tmp_path / "m.json"
    f.write_text("{not json")
    with pytest.raises(ValueError, match=r"m.json': cannot parse \(JSONDecodeError"):
        _matching.load_weight_map(str(f))
