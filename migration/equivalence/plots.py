"""Loss curves of both sides (total, data, regularization) over the optimizer steps, as a PNG.

Uses matplotlib's object API with the Agg canvas directly, so it never touches
the global backend (safe in tests and headless CI).
"""

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

CURVES = ("total", "data", "regularization")


def plot_loss_curves(result, path, title=None):
    """Write ``path`` (PNG): one panel per curve, old (TF1) and new (Keras) over steps 0..N.

    Returns ``path``; raises ``ValueError`` naming the fix if the result has no trajectories.
    """
    traj = result.trajectories
    if not traj or not traj.get("old", {}).get("total"):
        raise ValueError(
            "this check recorded no loss trajectories (it stopped before the steps stage and was run "
            "with record_trajectories=False); rerun with steps >= 1 and record_trajectories=True"
        )
    fig = Figure(figsize=(11, 3.4), dpi=100)
    FigureCanvasAgg(fig)
    verdict = "EQUIVALENT" if result.equivalent else f"NOT EQUIVALENT (stage: {result.failed_stage})"
    fig.suptitle(title or f"{result.info.get('old', 'old')} vs {result.info.get('new', 'new')}: {verdict}", fontsize=10)
    for i, curve in enumerate(CURVES):
        ax = fig.add_subplot(1, 3, i + 1)
        old, new = traj["old"][curve], traj["new"][curve]
        ax.plot(range(len(old)), old, "o-", label="old (TF1 graph)", color="tab:blue")
        ax.plot(range(len(new)), new, "x--", label=f"new ({result.info.get('flavor', 'Keras')})", color="tab:orange")
        ax.set_title(f"{curve} loss", fontsize=9)
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
