"""``compat-reg demo``: the correct port passes, the naive port is caught, reports and plots are written."""

import json

import pytest

from migration.cli import main


@pytest.mark.keras
def test_demo_shows_pass_caught_mistake_and_plots(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "correct port: EQUIVALENT" in out
    assert "naive port:   NOT EQUIVALENT at stage 'regularization'" in out
    assert "caught: [l2-twice] new/conv1/kernel: Keras L1L2(l1=1e-05, l2=0.0001) has 2.0x the L2 part of the TF1 " \
           "l1_l2_regularizer(1e-05, 0.0001); use L1L2(l1=1e-05, l2=5e-05) or compat_reg.to_keras" in out
    for key in ("correct", "naive"):
        assert f"{key:<8} plot:   {tmp_path}/{key}/loss_curves.png" in out
        assert (tmp_path / key / "loss_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "correct" / "report.json").read_text())["equivalent"] is True
    naive = json.loads((tmp_path / "naive" / "report.json").read_text())
    assert [d["code"] for d in naive["stages"][2]["diagnoses"]] == ["l2-twice"] * 4 + ["bias-one-side"]
