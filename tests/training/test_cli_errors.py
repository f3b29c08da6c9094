"""User mistakes on the command line give one-line errors and leave existing runs untouched."""

import hashlib
import os

from tests.training.commands import SMOKE, run_module


def main(*args, timeout=300):
    proc = run_module("experiments.main", *args, timeout=timeout)
    return proc.returncode, proc.stderr


def error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    return lines[0]


def test_missing_config_file(tmp_path):
    code, err = main("--config=configs/nope.py", f"--workdir={tmp_path}")
    assert code != 0
    assert "configs/nope.py" in error_line(err)


def test_typo_in_a_config_field(tmp_path):
    code, err = main(
        f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.train.num_step=3"
    )
    assert code != 0
    assert "num_step" in error_line(err)


def test_wrong_type_for_a_config_field(tmp_path):
    code, err = main(
        f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.train.num_steps=abc"
    )
    assert code != 0
    assert "num_steps" in error_line(err)


def test_scalar_for_a_tuple_field(tmp_path):
    code, err = main(
        f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.model.channel_mult=7"
    )
    assert code == 2
    line = error_line(err)
    assert "model.channel_mult" in line and "tuple" in line
    assert not (tmp_path / "config.json").exists()


def test_wrong_element_type_in_a_tuple_field(tmp_path):
    code, err = main(
        f"--config={SMOKE}",
        f"--workdir={tmp_path}",
        "--config.model.channel_mult=1,2.5",
    )
    assert code == 2
    line = error_line(err)
    assert "model.channel_mult" in line and "2.5 (float)" in line


def test_evaluate_a_file_that_is_not_an_npz(tmp_path):
    text = tmp_path / "samples.txt"
    text.write_text("hello\n")
    proc = run_module("experiments.evaluate", f"--samples={text}", timeout=120)
    assert proc.returncode == 2
    line = error_line(proc.stderr)
    assert str(text) in line and "uint8 [N, H, W, C]" in line


def test_unknown_algorithm(tmp_path):
    code, err = main(
        f"--config={SMOKE}", f"--workdir={tmp_path}", "--config.algorithm=dcgam"
    )
    assert code == 2
    line = error_line(err)
    assert "dcgam" in line and "diffusion" in line


def test_missing_dataset_names_the_install_command(tmp_path):
    code, err = main(
        f"--config={SMOKE}",
        f"--workdir={tmp_path}",
        "--config.data.fashion_mnist_dir=/nonexistent/fmnist",
    )
    assert code == 2
    line = error_line(err)
    assert (
        "/nonexistent/fmnist" in line
        and "apt-get install dataset-fashion-mnist" in line
    )


def test_unwritable_workdir(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    code, err = main(f"--config={SMOKE}", f"--workdir={blocker}/run")
    assert code == 2
    assert "not writable" in error_line(err)


def _digest(directory):
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(directory)):
        for name in sorted(files):
            path = os.path.join(root, name)
            h.update(path.encode())
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def test_smoke_run_writes_grid_checkpoint_and_config(trained_smoke_run):
    assert os.path.exists(trained_smoke_run / "samples" / "step_000002.png")
    assert os.listdir(trained_smoke_run / "checkpoints") == ["2"]
    assert (trained_smoke_run / "config.json").read_text().count('"algorithm"') == 1


def test_checkpoint_of_another_model_shape_is_refused_untouched(trained_smoke_run):
    before = _digest(trained_smoke_run)
    code, err = main(
        f"--config={SMOKE}",
        f"--workdir={trained_smoke_run}",
        "--config.model.channels=16",
        "--config.train.num_steps=4",
    )
    assert code == 2
    line = error_line(err)
    assert "does not match this config's model" in line
    assert (
        _digest(trained_smoke_run) == before
    )  # nothing overwritten, config.json included


def test_sample_command_exports_npz_and_grid(trained_smoke_run, tmp_path):
    import numpy as np

    out = tmp_path / "export.npz"
    proc = run_module(
        "experiments.sample",
        f"--workdir={trained_smoke_run}",
        "--num_samples=5",
        "--batch_size=3",
        "--sampler=ddpm",
        f"--out={out}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sampled 3/5" in proc.stderr and "sampled 5/5" in proc.stderr
    with np.load(out) as f:
        images = f["images"]
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.uint8
    assert len(np.unique(images)) > 10  # real samples, not a constant fill
    assert os.path.exists(tmp_path / "export.png")


def test_older_run_without_a_field_needs_defaults(trained_smoke_run, tmp_path):
    """A run saved before a config field existed: one-line error, then --defaults fills it."""
    import json
    import shutil

    old_run = tmp_path / "old_run"
    shutil.copytree(trained_smoke_run, old_run)
    config = json.loads((old_run / "config.json").read_text())
    del config["sample"]["timestep_spacing"]
    (old_run / "config.json").write_text(json.dumps(config))
    out = tmp_path / "export.npz"
    args = (f"--workdir={old_run}", "--num_samples=2", f"--out={out}")

    proc = run_module("experiments.sample", *args)
    assert proc.returncode == 2
    line = error_line(proc.stderr)
    assert "timestep_spacing" in line and "--defaults" in line
    assert not out.exists()

    proc = run_module("experiments.sample", *args, f"--defaults={SMOKE}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.exists()


def test_sample_command_without_checkpoints(tmp_path):
    proc = run_module("experiments.sample", f"--workdir={tmp_path}", timeout=120)
    assert proc.returncode == 2
    assert "config.json" in error_line(proc.stderr)


def test_a_sampler_flag_the_algorithm_does_not_read_is_a_one_line_error(tmp_path):
    """--steps on a GAN run: refused before any checkpoint is read, naming flag and algorithm
    (it used to die with a TypeError while tracing)."""
    import json

    from benchmarks.common import load_config

    config = load_config("configs/dcgan.py:smoke")
    (tmp_path / "config.json").write_text(config.to_json_best_effort())
    for command in ("experiments.sample", "experiments.evaluate"):
        proc = run_module(command, f"--workdir={tmp_path}", "--steps=10", timeout=120)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert error_line(proc.stderr) == (
            "error: --steps is not an option of algorithm 'gan' "
            "(its sampler takes no flags)"
        ), proc.stderr[-2000:]
    assert json.loads((tmp_path / "config.json").read_text())["algorithm"] == "gan"
